"""`warden ledger dora --by week --out FILE.html`: the weekly DORA figures as a page a person would rather
look at than read. One self-contained HTML file: inline SVG bar charts, inline CSS, no script, nothing
fetched from the network, so it opens anywhere and can be attached to a mail or a ticket."""

from __future__ import annotations

import math
from html import escape
from typing import Any

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 560, 220, 48, 34, 22

# (title, unit, value of a week, how a value reads, bar colour, better when)
PANELS = (
    ("Deployment frequency", "production deployments per week", lambda w: w["deployments"],
     lambda v: f"{v:g}", "#2f6fb5", "higher"),
    ("Lead time for changes", "median hours from commit to production",
     lambda w: _hours(w["lead_time_seconds"]["p50"]), lambda v: f"{v:.1f} h", "#7a5cb8", "lower"),
    ("Change failure rate", "share of production deployments that failed",
     lambda w: None if w["change_failure_rate"] is None else 100 * w["change_failure_rate"],
     lambda v: f"{v:.0f}%", "#c2453d", "lower"),
    ("Time to restore", "median hours from a production failure to the next success",
     lambda w: _hours(w["time_to_restore_seconds"]["p50"]), lambda v: f"{v:.1f} h", "#d08a1e", "lower"),
)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600


def _nice_top(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(f * magnitude for f in (1, 2, 2.5, 5, 10) if f * magnitude >= value)


def bar_chart(title: str, unit: str, weeks: list[dict[str, Any]], value_of: Any, label_of: Any, colour: str,
              better: str) -> str:
    """One inline SVG: a bar per week, its value above it, the week below; a week without data says so."""
    values = [value_of(w) for w in weeks]
    highest = max([v for v in values if v is not None] or [0])
    # Counts get whole-number gridlines (four of them); other figures a round maximum.
    top = 4 * max(1, math.ceil(highest / 4)) if title == PANELS[0][0] else _nice_top(highest)
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(weeks), 1)
    bar = min(slot * 0.7, 60)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="{WIDTH}" height="{HEIGHT}" aria-label="{escape(title)} per week">',
             f'<title>{escape(title)} per week ({escape(unit)}; {better} is better)</title>']
    for i in range(5):  # horizontal grid and axis labels
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - 10}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
                     f'{escape(label_of(top * i / 4))}</text>')
    for i, (week, value) in enumerate(zip(weeks, values, strict=True)):
        x = LEFT + slot * i + (slot - bar) / 2
        centre = x + bar / 2
        if value is None:
            parts.append(f'<text x="{centre:.1f}" y="{TOP + plot_h - 6:.1f}" class="none" text-anchor="middle">'
                         'no data</text>')
        else:
            height = plot_h * value / top
            faded = ' opacity="0.55"' if week["partial"] else ""
            parts.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - height:.1f}" width="{bar:.1f}" '
                         f'height="{height:.1f}" rx="2" fill="{colour}"{faded}>'
                         f'<title>{escape(week["week"])}: {escape(label_of(value))}</title></rect>')
            parts.append(f'<text x="{centre:.1f}" y="{TOP + plot_h - height - 5:.1f}" class="value" '
                         f'text-anchor="middle">{escape(label_of(value))}</text>')
        parts.append(f'<text x="{centre:.1f}" y="{HEIGHT - BOTTOM + 16:.1f}" class="axis" text-anchor="middle">'
                     f'{escape(week["week"][5:])}{"*" if week["partial"] else ""}</text>')
    parts.append("</svg>")
    return "".join(parts)


STYLE = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; } p.sub { color: #666; margin: 0 0 18px; }
.grid-panels { display: grid; grid-template-columns: repeat(auto-fill, minmax(580px, 1fr)); gap: 18px; }
section { border: 1px solid #ddd; border-radius: 6px; padding: 12px 14px; }
h2 { font-size: 15px; margin: 0; } p.unit { color: #666; margin: 2px 0 6px; font-size: 12px; }
.latest { font-size: 22px; font-weight: 600; }
svg .grid { stroke: #eee; } svg .axis { font-size: 11px; fill: #777; } svg .value { font-size: 11px; fill: #333; }
svg .none { font-size: 10px; fill: #aaa; }
table { border-collapse: collapse; margin-top: 18px; font-size: 13px; }
th, td { border-bottom: 1px solid #eee; padding: 4px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
"""


def page(weeks: list[dict[str, Any]], *, title: str, subtitle: str, by: str = "week") -> str:
    """The whole HTML document."""
    weeks = [w | {"week": w[by]} for w in weeks]
    panels = []
    for name, unit, value_of, label_of, colour, better in PANELS:
        latest = next((value_of(w) for w in reversed(weeks) if value_of(w) is not None), None)
        panels.append(
            f'<section><h2>{escape(name)}</h2><p class="unit">{escape(unit)}; {better} is better</p>'
            f'<div class="latest">{escape(label_of(latest)) if latest is not None else "no data"}'
            f' <span class="unit">latest week with data</span></div>'
            f'{bar_chart(name, unit, weeks, value_of, label_of, colour, better)}</section>')
    rows = "".join(
        f"<tr><td>{escape(w['week'])}{' (partial)' if w['partial'] else ''}</td><td>{w['deployments']}</td>"
        + "".join(f"<td>{escape(label_of(value_of(w))) if value_of(w) is not None else '–'}</td>"
                  for _, _, value_of, label_of, _, _ in PANELS[1:])
        + "</tr>" for w in weeks)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p class=\"sub\">{escape(subtitle)}</p>"
        f"<div class=\"grid-panels\">{''.join(panels)}</div>"
        "<table><thead><tr><th>week</th><th>deployments</th><th>lead time (median)</th>"
        "<th>change failure rate</th><th>time to restore (median)</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        "<p class=\"sub\">* a week the period cuts short. Weeks run Monday to Sunday, UTC.</p>"
        "</body></html>\n")
