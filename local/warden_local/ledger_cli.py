"""`warden ledger`: what runs where, a pipeline's history, a commit's executions, DORA figures.

By default the ledger is the embedded world's after replaying the demo (or the `--replay` inputs);
`--stack NAME` reads a deployed stack's table (its `LedgerTableName` output) with standard credentials.
Pipelines are shown and named by their ref: `NAME` in the tools account, `ACCOUNT/NAME` in a workload account.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from warden.core import clock
from warden.ledger.changes import held_at_gate

EXIT_BAD_INPUT = 2


def positive(kind: type) -> Any:
    """An argparse type: a number above zero (`--days 0` is a mistake, not an empty report)."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a{'n integer' if kind is int else ' number'}: {text!r}") from None
        if not value > 0 or value != value or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be above 0: {text!r}")
        return value

    parse.__name__ = f"positive {kind.__name__}"
    return parse


def commit_sha(text: str) -> str:
    """An argparse type: a commit SHA or a prefix of it, at least 7 hexadecimal characters (git's short SHA)."""
    value = text.strip().lower()
    if not 7 <= len(value) <= 40 or any(c not in "0123456789abcdef" for c in value):
        raise argparse.ArgumentTypeError(f"a commit is 7 to 40 hexadecimal characters of its SHA: {text!r}")
    return value


def html_path(text: str) -> Path:
    """An argparse type: where to write the charts, an .html file in an existing directory."""
    path = Path(text)
    if path.suffix.lower() not in (".html", ".htm"):
        raise argparse.ArgumentTypeError(f"the charts are an HTML file (.html): {text!r}")
    if not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"no such directory: {str(path.parent)!r}")
    return path


def iso_period(by: str) -> Any:
    """An argparse type: a week (`2026-W48`), a day (`2026-11-27`) or a month (`2026-11`) -> (start, end)."""
    def parse(text: str) -> tuple[datetime, datetime]:
        from warden.ledger.dora import parse_period

        try:
            start, end, kind = parse_period(text)
        except ValueError:
            kind = None
        if kind != by:
            example = {"week": "2026-W48", "day": "2026-11-27", "month": "2026-11"}[by]
            raise argparse.ArgumentTypeError(f"not a {by} like {example}: {text!r}")
        return start, end

    parse.__name__ = by
    return parse


def add_parser(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    common.add_argument("--stack", metavar="NAME", help="a deployed stack (standard AWS credentials)")
    common.add_argument("--replay", metavar="INPUT", action="append",
                        help="embedded world: replay these inputs instead of the demo (repeatable)")
    ledger = subparsers.add_parser("ledger", help="query the deployment ledger")
    sub = ledger.add_subparsers(dest="ledger_command", required=True, parser_class=type(ledger))
    sub.add_parser("current", parents=[common], help="what each pipeline stage runs now")
    history = sub.add_parser("history", parents=[common], help="a pipeline's executions, newest first")
    history.add_argument("pipeline", metavar="REF",
                         help="NAME (a pipeline of the tools account) or ACCOUNT/NAME (a workload account's)")
    history.add_argument("--limit", type=positive(int), default=20)
    commit = sub.add_parser("commit", parents=[common], help="every execution of a commit")
    commit.add_argument("sha", type=commit_sha, metavar="SHA",
                        help="the commit's SHA, or its first 7 or more characters")
    health = sub.add_parser("health", parents=[common],
                            help="each pipeline and stage against its own history: p50/p95, slowdowns, stuck, flaky")
    health.add_argument("--until", help="the time to judge at, ISO 8601 (default: now; the replay's last step locally)")
    dora = sub.add_parser("dora", parents=[common], help="DORA figures over the last N days")
    dora.add_argument("--days", type=positive(float),
                      help="length of the period (default: 30 days; 12 weeks with --by week)")
    dora.add_argument("--until", help="end of the period, ISO 8601 (default: now; the replay's last step locally)")
    dora.add_argument("--window-hours", type=positive(float), help="change-failure window (default: the ledger config)")
    dora.add_argument("--by", choices=["day", "week", "month"],
                      help="the figures per day, ISO week (Monday to Sunday) or calendar month, UTC")
    dora.add_argument("--out", type=html_path, metavar="FILE.html",
                      help="also write the figures as a report: one self-contained HTML file (implies --by week "
                           "unless --by says otherwise)")
    dora.add_argument("--explain", metavar="REF", help="list the deployments behind a service's figures in one "
                                                       "period (with --week, --day or --month)")
    period = dora.add_mutually_exclusive_group()
    period.add_argument("--week", type=iso_period("week"), metavar="YYYY-Www", help="an ISO week, e.g. 2026-W48")
    period.add_argument("--day", type=iso_period("day"), metavar="YYYY-MM-DD", help="a day (UTC)")
    period.add_argument("--month", type=iso_period("month"), metavar="YYYY-MM", help="a calendar month (UTC)")


@dataclass
class Source:
    reader: Any
    now: datetime
    config: Any  # the `ledger` configuration document (warden.ledger.config.LedgerConfig)

    @property
    def window_hours(self) -> float:
        return self.config.change_failure_window_hours


@contextmanager
def _source(args: argparse.Namespace) -> Iterator[Source]:
    from warden.ledger.view import LedgerReader
    from warden.runtime.documents import ConfigStore

    if args.stack:
        import boto3

        stack = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        params = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
        if "LedgerTableName" not in outputs:
            raise LookupError(f"stack {args.stack} has no LedgerTableName output")
        config = ConfigStore(boto3.client("ssm"), params.get("ConfigPrefix") or "/pipeline-warden").get("ledger")
        own_account = stack["StackId"].split(":")[4]  # arn:<partition>:cloudformation:<region>:<account>:stack/...
        yield Source(LedgerReader(boto3.client("dynamodb"), outputs["LedgerTableName"], own_account), clock.now(),
                     config)
        return
    from warden_local.demo import STORY
    from warden_local.replay import load, replay, world_for

    inputs = args.replay or [str(STORY)]
    with world_for([load(p) for p in inputs]) as world:
        replay(inputs, world=world)
        prefix = world.parameter("ConfigPrefix")
        config = ConfigStore(world.client("ssm"), prefix, max_age=0).get("ledger")
        table = world.physical["LedgerTable"]["TableName"]
        yield Source(LedgerReader(world.client("dynamodb"), table, world.account), clock.now(), config)


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from warden_local.replay import InputError

    try:
        until = clock.parse_iso(args.until) if getattr(args, "until", None) else None
    except ValueError:
        print(f"warden: --until is not an ISO 8601 time: {args.until!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if getattr(args, "explain", None) and not (args.week or args.day or args.month):
        print("warden: --explain needs the period: --week YYYY-Www, --day YYYY-MM-DD or --month YYYY-MM",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    from warden.ledger.facts import printable

    try:
        with _source(args) as source:
            # Cleaned and clipped again as printed: a record written before, or by hand, is shown as data.
            result = printable(_query(args, source, until))
    except InputError as exc:
        print(f"warden: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ClientError, BotoCoreError, LookupError) as exc:  # credentials, a missing stack: one line
        print(f"warden: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if getattr(args, "out", None) and "periods" in result:
        from warden_local.dora_chart import page

        args.out.write_text(page(result["periods"], title=f"DORA figures per {result['by']}",
                                 subtitle=f"{result['from']} .. {result['until']}, production deployments of every "
                                          f"pipeline; change-failure window {result['window_hours']:g} h",
                                 by=result["by"]))
    print(json.dumps(result, indent=2, default=str) if args.json else _render(args.ledger_command, result))
    if getattr(args, "out", None) and not args.json:
        print(f"report: {args.out}")
    return 0


def _query(args: argparse.Namespace, source: Source, until: datetime | None) -> Any:
    reader = source.reader
    if args.ledger_command == "current":
        return reader.current().items
    if args.ledger_command == "history":
        return reader.history(args.pipeline, limit=args.limit).items
    if args.ledger_command == "commit":
        return reader.by_commit(args.sha).items
    if args.ledger_command == "health":
        return _health(reader, source, until)
    from warden.ledger.dora import dora, explain, period_start, periods

    end = until or source.now
    rules = source.config.rules(args.window_hours)
    window = rules.window.total_seconds() / 3600
    chosen = args.week or args.day or args.month
    # Evidence after the period (a revert, a rollback, a restore) still counts against its deployments:
    # read on until a week or the window after it, whichever is longer, and never past now.
    after = max(timedelta(hours=window), timedelta(days=7))

    def records(start: datetime, until_: datetime) -> list[dict[str, Any]]:
        return reader.for_dora(start, min(until_ + after, max(source.now, until_))).items

    if args.explain:
        start, end = chosen
        return {"explain": explain(records(start, end), service=reader.ref(args.explain), start=start, end=end,
                                   rules=rules), "window_hours": window}
    if chosen:
        start, end = chosen
        return dora(records(start, end), start=start, end=end, rules=rules)
    by = args.by or ("week" if args.out else None)
    if by:
        default = {"day": timedelta(days=14), "week": timedelta(weeks=11), "month": timedelta(days=150)}[by]
        start = end - timedelta(days=args.days) if args.days else period_start(end - default, by)
        rows = periods(records(start, end), start=start, end=end, by=by, rules=rules, detail=bool(args.out))
        return {"by": by, "from": clock.iso(start), "until": clock.iso(end), "window_hours": window,
                "periods": rows, **({"weeks": rows} if by == "week" else {})}
    start = end - timedelta(days=args.days or 30.0)
    return dora(records(start, end), start=start, end=end, rules=rules)


def _health(reader: Any, source: Source, until: datetime | None) -> dict[str, Any]:
    """One query for the pipelines, one per pipeline for its recent history, one for what runs now."""
    from warden.health.history import flaky, rules_from, slowdowns, stuck, summary, weekly_flaky

    rules = rules_from(source.config.health)
    now = until or source.now
    refs = sorted({c["pipeline"] for c in reader.current().items} | {r["pipeline"] for r in reader.running().items})
    history = {ref: [r for r in reader.history(ref, limit=2 * (rules.window + rules.k)).items
                     if r.get("ended_at") and clock.parse_iso(r["ended_at"]) <= now] for ref in refs}
    records = [r for rows in history.values() for r in rows]
    running = [r for r in reader.running().items if clock.parse_iso(r["started_at"]) <= now]
    return {
        "at": clock.iso(now), "rules": {"window_runs": rules.window, "consecutive": rules.k, "factor": rules.factor,
                                        "stuck_factor": rules.stuck_factor,
                                        "stuck_ceiling_hours": rules.stuck_ceiling.total_seconds() / 3600},
        "baselines": summary(records, rules),
        "slowdowns": [{"pipeline": s.pipeline, "stage": s.stage, "bar_seconds": s.bar_seconds,
                       "p95_seconds": s.baseline.p95, "baseline_runs": s.baseline.count,
                       "streak": [{"execution_id": r.execution_id, "seconds": r.seconds} for r in s.streak],
                       "says": s.describe()} for s in slowdowns(records, rules)],
        "stuck": [found for r in running
                  if (found := stuck(r, history.get(r["pipeline"], []), now, rules)) is not None],
        "flaky": flaky(records), "flaky_by_week": weekly_flaky(records),
    }


# -- human tables ------------------------------------------------------------------------------------
WIDTH = 100  # a table fits a 100-column terminal; --json has every value whole
# Columns that give way when a table is wider than WIDTH, and which end of a value they keep: an approver's
# session (its right end) says who; an author's name, a pipeline's and a note's start do.
# In the order they give way, each down to its minimum width.
SHRINK = {"WHY": "left", "NOTE": "left", "AUTHOR": "left", "PIPELINE": "left", "APPROVER": "right", "STAGE": "left"}
MIN_WIDTH = {"WHY": 20, "NOTE": 12, "AUTHOR": 10, "PIPELINE": 14, "STAGE": 10, "APPROVER": 16}


def _clip(text: str, width: int, keep: str) -> str:
    if len(text) <= width:
        return text
    return "…" + text[len(text) - width + 1:] if keep == "right" else text[:width - 1] + "…"


def _table(headers: list[str], rows: list[list[Any]], width: int = WIDTH) -> str:
    cells = [[("-" if v is None else str(v)) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    minimum = dict(MIN_WIDTH)
    if "APPROVER" in headers:  # an approver clipped keeps at least its whole session name (the person)
        i = headers.index("APPROVER")
        minimum["APPROVER"] = max(minimum["APPROVER"], *(len(r[i].rpartition("/")[2]) + 1 for r in cells))
    for rounds in (minimum, {**minimum, "APPROVER": MIN_WIDTH["APPROVER"]}):  # the session too, as a last resort
        for name in SHRINK:  # each in turn, as far as its minimum, until the table fits
            if name not in headers:
                continue
            i = headers.index(name)
            over = sum(widths) + 2 * (len(widths) - 1) - width
            if over <= 0:
                break
            widths[i] = max(widths[i] - over, min(widths[i], max(len(name), rounds[name])))
    cells = [[_clip(c, w, SHRINK.get(h, "left")) for c, w, h in zip(row, widths, headers, strict=True)]
             for row in cells]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    # Every column at its minimum and still too wide: the line's end gives way (--json has it all).
    return "\n".join(_clip(line.rstrip(), width, "left") for line in lines)


def _when(iso: str | None) -> str | None:
    """2026-11-27T19:32:40Z -> 2026-11-27 19:32 (UTC; --json keeps the second)."""
    return f"{iso[:10]} {iso[11:16]}" if iso and len(iso) >= 16 and iso[10] == "T" else iso


def _short(sha: str | None) -> str | None:
    return sha[:7] if sha else None


def _who(principal: str | None) -> str | None:
    """`arn:aws:sts::1:assumed-role/release-approver/maria.garcia` -> `release-approver/maria.garcia`."""
    from warden_local.story import short_principal

    return short_principal(principal) if principal else principal


def _current_note(row: dict[str, Any], ids: dict[str, str] | None = None) -> str:
    notes = []
    if row.get("execution_type") == "ROLLBACK":
        target = row.get("release_from")
        notes.append(f"rollback to {(ids or {}).get(target) or target[:8]}" if target else "rollback")
    if row.get("failed_since"):
        notes.append(f"failing since {row['failed_since']}")
    return ", ".join(notes)


def _duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _render(command: str, result: Any) -> str:
    if command == "health":
        return _render_health(result)
    if command == "dora" and "explain" in result:
        return _render_explain(result["explain"])
    if command == "dora" and result.get("by"):
        return _render_periods(result)
    if command == "dora":
        return _render_dora(result)
    if not result:
        return "(no records)"
    from warden_local.story import short_ids

    ids = short_ids([*(r.get("execution_id") for r in result), *(r.get("release_from") for r in result)])
    if command == "current":
        prod = any(r.get("production") for r in result)
        # Grouped by pipeline (its name on a line of its own), so the columns keep their room.
        table = _table(["STAGE", "COMMIT", "AUTHOR", "APPROVER", "DEPLOYED", "EXECUTION"], [
            [r["stage"] + (" *" if r.get("production") else ""),
             _short(r.get("commit_id")) or "unknown", r.get("author") or "unknown",
             _who(r.get("approver")) or "no approval", _when(r.get("deployed_at")),
             ids.get(r.get("execution_id") or "", "")] for r in result], WIDTH - 2).split("\n")
        lines, pipeline = ["  " + table[0]], None
        for row, r in zip(table[1:], result, strict=True):
            if r["pipeline"] != pipeline:
                pipeline = r["pipeline"]
                lines.append(_clip(str(pipeline), WIDTH, "left"))
            lines.append("  " + row)
            # A row's note (a rollback, a failure since) goes on a line of its own under it.
            if note := _current_note(r, ids):
                lines.append(_clip(f"    ↳ {note}", WIDTH, "left"))
        return "\n".join(lines) + ("\n* a production stage" if prod else "")
    # `history` is one pipeline's and `commit` one commit's: what every row shares is said once, above.
    pipelines = {r.get("pipeline") for r in result}
    commits = {(r.get("commit_id"), r.get("author")) for r in result}
    columns = {"STARTED": lambda r: _when(r.get("started_at")), "PIPELINE": lambda r: r.get("pipeline"),
               "STATUS": lambda r: ("HELD" if r.get("status") == "FAILED" and held_at_gate(r)
                                    else r.get("status") or "IN PROGRESS")
               + (" ↩" if r.get("execution_type") == "ROLLBACK" else ""),
               "DURATION": lambda r: _duration(r.get("duration_s")), "COMMIT": lambda r: _short(r.get("commit_id")),
               "AUTHOR": lambda r: r.get("author"), "APPROVER": lambda r: _who(r.get("approver")),
               "EXECUTION": lambda r: ids.get(r.get("execution_id") or "", "")
               + (" ~" if r.get("enrichment") == "partial" else "")
               + (" ⚑" if isinstance(r.get("freeze_override"), dict) else "")}
    heading = f"{len(result)} execution(s), newest first"
    if command == "history" and len(pipelines) == 1:
        heading = f"{next(iter(pipelines))}: {heading}"
        del columns["PIPELINE"]
    if command == "commit" and len(commits) == 1:
        sha, author = next(iter(commits))
        heading = f"commit {_short(sha)} by {author or 'unknown'}: {heading}"
        del columns["COMMIT"], columns["AUTHOR"]
    footer = "\n↩ a rollback execution" if any(r.get("execution_type") == "ROLLBACK" for r in result) else ""
    if any(r.get("enrichment") == "partial" for r in result):
        footer += "\n~ a partial record: CodePipeline could not be read for some of its facts (--json)"
    for r in result:  # who let an execution through a freeze, and why: a line of its own (the table stays narrow)
        if note := _override_note(r):
            footer += "\n" + _clip(f"⚑ {ids.get(r.get('execution_id') or '', '')}:{note}", WIDTH, "left")
    if any(r.get("status") == "FAILED" and held_at_gate(r) for r in result):
        footer += "\nHELD: the deployment gate denied its production stage (it deployed nothing; not in DORA)"

    return heading + "\n" + _table(list(columns), [[f(r) for f in columns.values()] for r in result]) + footer


def _override_note(row: dict[str, Any]) -> str:
    """` (freeze override by release-manager/maria: hotfix for INC-42)`: who let it through a freeze, and why."""
    override = row.get("freeze_override")
    if not isinstance(override, dict):
        return ""
    return f" (freeze override by {_who(override.get('by'))}: {override.get('reason', '?')})"


FIGURE_HEADERS = ["DEPLOYS", "PER DAY", "LEAD P50", "LEAD P90", "CHANGE FAIL", "TTR P50", "TTR P90", "OPEN",
                  "BANDS"]
# Bands by initial, so that a row fits 100 columns; the legend is printed under every table that has them.
BAND_INITIALS = {"elite": "E", "high": "H", "medium": "M", "low": "L"}
BANDS_LEGEND = ("BANDS: deployment frequency/lead time/change failure/time to restore,\n"
                "       each E elite, H high, M medium, L low, - not enough data")


def _wrapped(text: str) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, WIDTH, subsequent_indent="  ", break_on_hyphens=False))


def _figure_cells(f: dict[str, Any]) -> list[Any]:
    """One row's figures, each with the counts behind it."""
    lead, ttr, bands = f["lead_time_seconds"], f["time_to_restore_seconds"], f["bands"]
    rate = f["change_failure_rate"]
    cfr = None if rate is None else f"{rate:.0%} ({f['failed']}/{f['deployments']})"
    return [f["deployments"], f"{f['deployment_frequency_per_day']:g}", _duration(lead["p50"]), _duration(lead["p90"]),
            cfr, _duration(ttr["p50"]), _duration(ttr["p90"]), ttr["open"],
            "/".join(BAND_INITIALS.get(bands[k] or "", "-") for k in (
                "deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore"))]


def _render_dora(d: dict[str, Any]) -> str:
    rows = [[ref, *_figure_cells(p)] for ref, p in (d.get("pipelines") or {}).items()]
    rows.append(["(all services)", *_figure_cells(d)])
    causes = ", ".join(f"{n} {c}" for c, n in d["failures_by_cause"].items()) or "none"
    lines = [f"DORA, {d['from']} .. {d['until']} ({d['days']:g} days, change-failure window {d['window_hours']:g} h)",
             _table(["SERVICE", *FIGURE_HEADERS], rows),
             BANDS_LEGEND,
             _wrapped(f"failures by cause: {causes}"),
             _wrapped(f"bands: {d['bands_source']}")]
    for u in d.get("unattributed_rollbacks") or []:
        lines.append(_wrapped(f"rollback {u['rollback']} of {u['service']} not counted against a deployment: "
                              f"{u['why']}"))
    return "\n".join(lines)


def _render_periods(d: dict[str, Any]) -> str:
    by = d["by"]
    rows = []
    for p in d["periods"]:
        name = p[by] + (" *" if p["partial"] else "")
        rows += [[name, ref, *_figure_cells(f)] for ref, f in p["pipelines"].items()]
        rows.append([name, "(all services)", *_figure_cells(p)])
    return "\n".join([
        f"DORA per {by}, {d['from']} .. {d['until']} (change-failure window {d['window_hours']:g} h)",
        _table([by.upper(), "SERVICE", *FIGURE_HEADERS], rows),
        BANDS_LEGEND,
        f"* a {by} the period cuts short: not complete, never a headline"])


def _render_explain(e: dict[str, Any]) -> str:
    """One row per deployment (ids shortened, unambiguous); each failure's evidence on a line of its own below,
    so the table stays within 100 columns (--json has every field)."""
    from warden_local.story import short_ids

    f = e["figures"]
    ids = short_ids([x for d in e["deployments"] for x in (d["execution_id"], (d.get("failure") or {})
                                                          .get("restored_by"))])
    rows = []
    for d in e["deployments"]:
        failure = d.get("failure") or {}
        restored = failure.get("restored_by")
        rows.append([d["ended_at"], ids.get(d["execution_id"], d["execution_id"]), d["outcome"],
                     _short(d.get("commit_id")), _duration(d.get("lead_time_seconds")), failure.get("cause") or "ok",
                     ids.get(restored, restored) if restored else ("open" if failure else None),
                     _duration(failure.get("time_to_restore_seconds"))])
    lines = [f"{e['service']}, {e['from']} .. {e['until']}: the deployments behind its figures",
             _table(["PRODUCTION END", "EXECUTION", "OUTCOME", "COMMIT", "LEAD TIME", "FAILURE",
                     "RESTORED BY", "RESTORE"], rows) if rows else "(no production deployments)",
             f"deployments {f['deployments']} ({f['succeeded']} succeeded); change failure "
             f"{f['failed']}/{f['deployments']}; lead time over {f['lead_time_seconds']['count']} "
             f"({f['lead_time_seconds']['missing']} without a commit date); restored "
             f"{f['time_to_restore_seconds']['count']}, open {f['time_to_restore_seconds']['open']}"]
    for d in e["deployments"]:
        failure = d.get("failure")
        if failure:
            lines.append(f"  {d['execution_id']}: {failure['detail']}"
                         + (f" (evidence: {failure['evidence']})" if failure.get("evidence") else "")
                         + "".join(f"; also {a}" for a in failure["also"]))
    if e["rollbacks"]:
        lines.append("rollback executions (restores, not deployments): "
                     + ", ".join(r["execution_id"] for r in e["rollbacks"]))
    return "\n".join(lines)


def _render_health(h: dict[str, Any]) -> str:
    rules = h["rules"]
    lines = [f"Pipeline health at {h['at']} against each pipeline's own last {rules['window_runs']} runs "
             f"(approval waits excluded)",
             _table(["PIPELINE", "STAGE", "RUNS", "P50", "P95", "MAX"], [
                 [b["pipeline"], b["stage"], b["runs"], _duration(b["p50_seconds"]), _duration(b["p95_seconds"]),
                  _duration(b["max_seconds"])] for b in h["baselines"]]),
             f"sustained slowdowns ({rules['consecutive']} runs in a row over p95 x {rules['factor']:g}):"]
    lines += [f"  {s['says']}" for s in h["slowdowns"]] or ["  none"]
    lines.append(f"stuck (longer than the history's maximum x {rules['stuck_factor']:g}, or "
                 f"{rules['stuck_ceiling_hours']:g} h):")
    lines += [f"  {s['pipeline']} {s['stage']} in {s['execution_id']}: running {_duration(s['running_seconds'])}, "
              f"limit {_duration(s['limit_seconds'])}" for s in h["stuck"]] or ["  none"]
    lines.append("flaky stages (failed, then succeeded for the same revision), per week:")
    lines += [f"  {week}: " + ", ".join(f"{row} x{n}" for row, n in rows.items())
              for week, rows in sorted(h["flaky_by_week"].items())] or ["  none"]
    return "\n".join(lines)
