"""`warden ledger dora --by week --out FILE.html`: the DORA figures as a report a team lead can steer by.

One self-contained HTML file: inline SVG charts and CSS, no script, nothing fetched from the network, so it
opens anywhere and can be attached to a mail or a ticket. It holds:
- the headline: the latest *complete* period, a row per service and one for all, each figure with the counts
  behind it and its DORA band (the thresholds' source is named), each figure a link to its deployments;
- a chart per figure over the periods, for all services (a partial period faded and starred);
- every period's rows per service, and the deployments behind each row (outcome, lead time, failure cause,
  evidence, what restored it), which the figures link to.
Axis ticks are chosen to read well: counts in whole steps, rates at 0/25/50/75/100 %, durations in one unit
(seconds, minutes, hours or days, by the largest value) at round steps, so no two ticks carry the same label.
Imported only by the CLI's `--out` (the CLI stays light without it).
"""

from __future__ import annotations

import math
import re
from html import escape
from typing import Any

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 560, 220, 56, 34, 22
UNITS = (("s", 1), ("min", 60), ("h", 3600), ("d", 86400))


# -- ticks ---------------------------------------------------------------------------------------------
def _nice_step(raw: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above `raw`."""
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(f * magnitude for f in (1, 2, 2.5, 5, 10) if f * magnitude >= raw - 1e-12)


def duration_unit(largest_seconds: float) -> tuple[str, float]:
    """The unit a duration axis reads in: seconds under 2 minutes, minutes under 2 hours, hours under 2 days."""
    for (name, size), (_, following) in zip(UNITS, UNITS[1:], strict=False):
        if largest_seconds < 2 * following:
            return name, size
    return UNITS[-1]


def ticks(kind: str, largest: float | None) -> list[tuple[float, str]]:
    """(value, label) of each axis tick from 0 up to at least `largest`; labels are all different.
    kind: "count", "percent" (a share 0..1) or "duration" (seconds)."""
    largest = max(largest or 0.0, 0.0)
    if kind == "percent":
        return [(v / 100, f"{v}%") for v in (0, 25, 50, 75, 100)]
    if kind == "count":
        step = max(1, math.ceil(_nice_step(max(largest, 1) / 4)))
        top = step * max(1, math.ceil(largest / step))
        return [(float(v), str(v)) for v in range(0, top + 1, step)]
    unit, size = duration_unit(largest)
    in_unit = largest / size
    step = _nice_step(max(in_unit, 1e-9) / 4) if in_unit > 0 else 1.0
    count = max(1, math.ceil(in_unit / step - 1e-9))
    return [(i * step * size, f"{_number(i * step)} {unit}") for i in range(count + 1)]


def _number(value: float) -> str:
    return f"{round(value, 2):g}"


def duration(seconds: float | None) -> str:
    """A duration in the unit that reads best: `45 s`, `12 min`, `3.5 h`, `2.1 d`."""
    if seconds is None:
        return "–"
    unit, size = duration_unit(seconds)
    return f"{_number(seconds / size if unit in ('s', 'min') else round(seconds / size, 1))} {unit}"


# -- figures -------------------------------------------------------------------------------------------
# (title, what it measures, kind of axis, value of a row, how a value reads, bar colour, better when, band key)
PANELS = (
    ("Deployment frequency", "production deployments per period", "count", lambda r: r["deployments"],
     lambda v: f"{v:g}", "#2f6fb5", "higher", "deployment_frequency"),
    ("Lead time for changes", "p50 from commit to production", "duration",
     lambda r: r["lead_time_seconds"]["p50"], duration, "#7a5cb8", "lower", "lead_time"),
    ("Change failure rate", "failed production deployments / production deployments", "percent",
     lambda r: r["change_failure_rate"], lambda v: f"{100 * v:.0f}%", "#c2453d", "lower", "change_failure_rate"),
    ("Time to restore", "p50 from the failure (the alarm, or the deployment's end) to the next healthy deployment",
     "duration", lambda r: r["time_to_restore_seconds"]["p50"], duration, "#d08a1e", "lower", "time_to_restore"),
)


def _labels(rows: list[dict[str, Any]], by: str) -> list[str]:
    """Short period labels on the axis (`W48`, `11-27`), the full names when short ones would repeat."""
    names = [r[by] for r in rows]
    short = [n.split("-", 1)[1] if by in ("week", "day") else n for n in names]
    return short if len(set(short)) == len(short) else names


def _anchor(period: str, service: str | None) -> str:
    return "d-" + re.sub(r"[^A-Za-z0-9_-]", "_", f"{period}-{service or 'all'}")


def bar_chart(panel: tuple, rows: list[dict[str, Any]], by: str) -> str:
    """One inline SVG: a bar per period (all services), its value above it; a period without data says so."""
    title, unit, kind, value_of, label_of, colour, better, _ = panel
    values = [value_of(r) for r in rows]
    axis = ticks(kind, max([v for v in values if v is not None] or [0]))
    top = axis[-1][0] or 1.0
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(rows), 1)
    bar = min(slot * 0.7, 60)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" aria-label="{escape(title)} per {by}" data-kind="{kind}">',
             f'<title>{escape(title)} per {by} ({escape(unit)}; {better} is better)</title>']
    for value, label in axis:
        y = TOP + plot_h - plot_h * value / top
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - 10}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="axis tick" text-anchor="end">{escape(label)}</text>')
    for i, (row, value, name) in enumerate(zip(rows, values, _labels(rows, by), strict=True)):
        x = LEFT + slot * i + (slot - bar) / 2
        centre = x + bar / 2
        star = "*" if row["partial"] else ""
        if value is None:
            parts.append(f'<text x="{centre:.1f}" y="{TOP + plot_h - 6:.1f}" class="none" text-anchor="middle">'
                         'no data</text>')
        else:
            height = plot_h * value / top
            faded = ' opacity="0.45"' if row["partial"] else ""
            parts.append(f'<a href="#{_anchor(row[by], None)}"><rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" '
                         f'width="{bar:.1f}" height="{height:.1f}" rx="2" fill="{colour}"{faded}>'
                         f'<title>{escape(row[by])}{" (partial)" if star else ""}: {escape(label_of(value))}</title>'
                         '</rect></a>')
            parts.append(f'<text x="{centre:.1f}" y="{TOP + plot_h - height - 5:.1f}" class="value" '
                         f'text-anchor="middle">{escape(label_of(value))}</text>')
        parts.append(f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + 16:.1f}" class="axis period" '
                     f'text-anchor="middle">{escape(name)}{star}</text>')
    parts.append("</svg>")
    return "".join(parts)


STYLE = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; } p.sub { color: #666; margin: 0 0 14px; }
h2 { font-size: 16px; margin: 22px 0 6px; } h3 { font-size: 15px; margin: 0; }
.grid-panels { display: grid; grid-template-columns: repeat(auto-fill, minmax(580px, 1fr)); gap: 18px; }
section.panel { border: 1px solid #ddd; border-radius: 6px; padding: 12px 14px; }
p.unit { color: #666; margin: 2px 0 6px; font-size: 12px; }
svg .grid { stroke: #eee; } svg .axis { font-size: 11px; fill: #777; } svg .value { font-size: 11px; fill: #333; }
svg .none { font-size: 10px; fill: #aaa; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 10px; }
th, td { border-bottom: 1px solid #eee; padding: 4px 10px; text-align: right; vertical-align: top; }
th:first-child, td:first-child, td.text { text-align: left; }
tr.all td { font-weight: 600; border-top: 1px solid #ccc; }
.band { display: inline-block; border-radius: 3px; padding: 0 5px; margin-left: 4px; font-size: 11px; color: #fff; }
.band.elite { background: #1b7f3b; } .band.high { background: #4f9a3a; } .band.medium { background: #c98a12; }
.band.low { background: #b8402f; }
.counts { color: #666; font-size: 12px; } a { color: inherit; }
"""


def _band(name: str | None) -> str:
    return f'<span class="band {name}">{name}</span>' if name else ""


def _figure_cells(row: dict[str, Any], link: str) -> str:
    """One row's four figures, each linked to its deployments, with its counts and band."""
    lead, ttr, bands = row["lead_time_seconds"], row["time_to_restore_seconds"], row["bands"]
    rate = row["change_failure_rate"]
    cells = [
        (f'{row["deployments"]} <span class="counts">({row["deployment_frequency_per_day"]:g}/day)</span>',
         "deployment_frequency"),
        (f'{duration(lead["p50"])} <span class="counts">p90 {duration(lead["p90"])}, n={lead["count"]}'
         + (f', {lead["missing"]} without a commit date' if lead["missing"] else "") + "</span>", "lead_time"),
        (("–" if rate is None else f"{100 * rate:.0f}%")
         + f' <span class="counts">({row["failed"]} of {row["deployments"]})</span>', "change_failure_rate"),
        (f'{duration(ttr["p50"])} <span class="counts">p90 {duration(ttr["p90"])}, '
         f'{ttr["count"]} restored, {ttr["open"]} open</span>', "time_to_restore"),
    ]
    return "".join(f'<td class="figure" data-figure="{key}"><a href="#{link}">{text}</a>{_band(bands[key])}</td>'
                   for text, key in cells)


HEADERS = ("<tr><th>service</th><th>deployments</th><th>lead time (p50)</th><th>change failure rate</th>"
           "<th>time to restore (p50)</th></tr>")


def _rows_table(row: dict[str, Any], by: str) -> str:
    """A period's rows: one per service, then all services."""
    period = row[by]
    body = "".join(
        f'<tr class="service" data-service="{escape(ref)}"><td>{escape(ref)}</td>'
        f'{_figure_cells(figures, _anchor(period, ref))}</tr>' for ref, figures in row["pipelines"].items())
    everything = _figure_cells(row, _anchor(period, None))
    body += f'<tr class="all" data-service="(all)"><td>all services</td>{everything}</tr>'
    return f"<table><thead>{HEADERS}</thead><tbody>{body}</tbody></table>"


def _deployment_line(d: dict[str, Any]) -> str:
    failure = d.get("failure") or {}
    lead = d.get("lead_time_seconds")
    cells = [("text", d["ended_at"]), ("text", d["execution_id"]), ("text", d["outcome"]),
             ("text", (d.get("commit_id") or "")[:10]), ("", duration(lead) if lead is not None else "–"),
             ("text", failure.get("detail") or "ok"),
             ("text", failure.get("restored_by") or ("open" if failure else "")),
             ("", duration(failure.get("time_to_restore_seconds")) if failure else "")]
    return (f'<tr data-execution="{escape(d["execution_id"])}">'
            + "".join(f'<td class="{kind}">{escape(text)}</td>' for kind, text in cells) + "</tr>")


def _behind(row: dict[str, Any], by: str) -> str:
    """The deployments behind a period's figures, per service (the figures link here)."""
    period, parts = row[by], []
    services = row["pipelines"]
    parts.append(f'<div id="{_anchor(period, None)}"></div>')
    for ref, figures in services.items():
        lines = "".join(_deployment_line(d) for d in figures.get("behind", []))
        parts.append(
            f'<h3 id="{_anchor(period, ref)}">{escape(period)}{" (partial)" if row["partial"] else ""}: '
            f'{escape(ref)}</h3><table><thead><tr><th>production end</th><th>execution</th><th>outcome</th>'
            "<th>commit</th><th>lead time</th><th>failure</th><th>restored by</th><th>restore</th></tr></thead>"
            f"<tbody>{lines}</tbody></table>")
    return "".join(parts)


def page(rows: list[dict[str, Any]], *, title: str, subtitle: str, by: str = "week",
         bands_source: str = "") -> str:
    """The whole HTML document from `warden.ledger.dora.periods` rows (with `detail`)."""
    from warden.ledger.dora import BANDS_SOURCE, headline

    latest = headline(rows)
    head = (f"<h2>{escape(latest[by])}: the latest complete {by}</h2>{_rows_table(latest, by)}" if latest else
            f"<h2>No complete {by} in the range yet</h2>")
    panels = "".join(
        f'<section class="panel"><h3>{escape(p[0])}</h3><p class="unit">{escape(p[1])}; {p[6]} is better</p>'
        f"{bar_chart(p, rows, by)}</section>" for p in PANELS)
    every = "".join(f'<h2>{escape(r[by])}{" (partial)" if r["partial"] else ""}</h2>{_rows_table(r, by)}'
                    for r in reversed(rows))
    behind = "".join(_behind(r, by) for r in reversed(rows))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p class=\"sub\">{escape(subtitle)}</p>"
        f"<p class=\"sub\">Bands: {escape(bands_source or BANDS_SOURCE)}. * a {by} the range cuts short "
        f"(partial: never the headline). Periods in UTC{'; weeks run Monday to Sunday' if by == 'week' else ''}.</p>"
        f"{head}<h2>All services per {by}</h2><div class=\"grid-panels\">{panels}</div>"
        f"<h2>Per service, every {by}</h2>{every}<h2>The deployments behind the figures</h2>{behind}"
        "</body></html>\n")
