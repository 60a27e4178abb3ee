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
    dora = sub.add_parser("dora", parents=[common], help="DORA figures over the last N days")
    dora.add_argument("--days", type=positive(float),
                      help="length of the period (default: 30 days; 12 weeks with --by week)")
    dora.add_argument("--until", help="end of the period, ISO 8601 (default: now; the replay's last step locally)")
    dora.add_argument("--window-hours", type=positive(float), help="change-failure window (default: the ledger config)")
    dora.add_argument("--by", choices=["week"], help="the figures per ISO week (Monday to Sunday, UTC)")
    dora.add_argument("--out", type=html_path, metavar="FILE.html",
                      help="also write the weekly figures as charts: one self-contained HTML file (implies --by week)")


@dataclass
class Source:
    reader: Any
    now: datetime
    window_hours: float


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
                     config.change_failure_window_hours)
        return
    from warden_local.demo import STORY
    from warden_local.replay import load, replay, world_of
    from warden_local.world import World

    inputs = args.replay or [str(STORY)]
    account, region = world_of([load(p) for p in inputs])
    with World(account=account, region=region) as world:
        replay(inputs, world=world)
        prefix = world.parameter("ConfigPrefix")
        config = ConfigStore(world.client("ssm"), prefix, max_age=0).get("ledger")
        table = world.physical["LedgerTable"]["TableName"]
        yield Source(LedgerReader(world.client("dynamodb"), table, world.account), clock.now(),
                     config.change_failure_window_hours)


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from warden_local.replay import InputError

    try:
        until = clock.parse_iso(args.until) if getattr(args, "until", None) else None
    except ValueError:
        print(f"warden: --until is not an ISO 8601 time: {args.until!r}", file=sys.stderr)
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
    if getattr(args, "out", None):
        from warden_local.dora_chart import page

        args.out.write_text(page(result["weeks"], title="DORA figures per week",
                                 subtitle=f"{result['from']} .. {result['until']}, production deployments of every "
                                          f"pipeline; change-failure window {result['window_hours']:g} h"))
    print(json.dumps(result, indent=2, default=str) if args.json else _render(args.ledger_command, result))
    if getattr(args, "out", None) and not args.json:
        print(f"charts: {args.out}")
    return 0


def _query(args: argparse.Namespace, source: Source, until: datetime | None) -> Any:
    reader = source.reader
    if args.ledger_command == "current":
        return reader.current().items
    if args.ledger_command == "history":
        return reader.history(args.pipeline, limit=args.limit).items
    if args.ledger_command == "commit":
        return reader.by_commit(args.sha).items
    from warden.ledger.dora import dora, week_start, weekly

    end = until or source.now
    window = args.window_hours or source.window_hours
    if args.by or args.out:
        start = end - timedelta(days=args.days) if args.days else week_start(end) - timedelta(weeks=11)
        weeks = weekly(reader.for_dora(start, end).items, start=start, end=end, window_hours=window)
        return {"by": "week", "from": clock.iso(start), "until": clock.iso(end), "window_hours": window,
                "weeks": weeks}
    start = end - timedelta(days=args.days or 30.0)
    return dora(reader.for_dora(start, end).items, start=start, end=end, window_hours=window)


# -- human tables ------------------------------------------------------------------------------------
def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[("-" if v is None else str(v)) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def _short(sha: str | None) -> str | None:
    return sha[:10] if sha else None


def _who(principal: str | None) -> str | None:
    """`arn:aws:sts::1:assumed-role/release-approver/maria.garcia` -> `release-approver/maria.garcia`."""
    if not principal or not principal.startswith("arn:"):
        return principal
    resource = principal.split(":", 5)[-1]
    return resource.split("/", 1)[1] if "/" in resource else resource


def _current_note(row: dict[str, Any]) -> str:
    notes = []
    if row.get("execution_type") == "ROLLBACK":
        notes.append(f"rollback to {row['release_from'][:8]}" if row.get("release_from") else "rollback")
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
    if command == "dora" and result.get("by") == "week":
        return _render_weeks(result)
    if command == "dora":
        return _render_dora(result)
    if not result:
        return "(no records)"
    if command == "current":
        return _table(["PIPELINE", "STAGE", "COMMIT", "AUTHOR", "APPROVER", "DEPLOYED", "EXECUTION", "NOTE"], [
            [r["pipeline"], r["stage"] + (" (prod)" if r.get("production") else ""),
             _short(r.get("commit_id")) or "unknown", r.get("author") or "unknown",
             _who(r.get("approver")) or "no approval", r.get("deployed_at"), r.get("execution_id", "")[:8],
             _current_note(r)] for r in result])
    return _table(["STARTED", "PIPELINE", "STATUS", "TYPE", "DURATION", "COMMIT", "AUTHOR", "APPROVER",
                   "EXECUTION"], [
        [r.get("started_at"), r.get("pipeline"), r.get("status") or "IN PROGRESS", r.get("execution_type"),
         _duration(r.get("duration_s")), _short(r.get("commit_id")), r.get("author"), r.get("approver"),
         r.get("execution_id", "")[:8] + (" (partial)" if r.get("enrichment") == "partial" else "")]
        for r in result])


def _render_dora(d: dict[str, Any]) -> str:
    lead, ttr = d["lead_time_seconds"], d["time_to_restore_seconds"]
    cfr = "-" if d["change_failure_rate"] is None else f"{d['change_failure_rate']:.0%}"
    per_pipeline = d.get("pipelines") or {}
    table = _table(["PIPELINE", "DEPLOYMENTS", "PER DAY", "LEAD TIME (MEDIAN)", "CHANGE FAILURE", "RESTORED (MEDIAN)",
                    "OPEN"], [
        [ref, p["deployments"], f"{p['deployment_frequency_per_day']:g}", _duration(p["lead_time_seconds"]["p50"]),
         None if p["change_failure_rate"] is None else
         f"{p['change_failure_rate']:.0%} ({len(p['failed_deployments'])} of {p['deployments']})",
         _duration(p["time_to_restore_seconds"]["p50"]), p["time_to_restore_seconds"]["open"]]
        for ref, p in per_pipeline.items()])
    return "\n".join([
        f"DORA, {d['from']} .. {d['until']} ({d['days']:g} days, change-failure window {d['window_hours']:g} h)",
        f"  deployment frequency  {d['deployments']} production deployments, "
        f"{d['deployment_frequency_per_day']:g}/day",
        f"  lead time for changes median {_duration(lead['median']) or '-'}, p90 {_duration(lead['p90']) or '-'} "
        f"({lead['count']} changes)",
        f"  change failure rate   {cfr} ({len(d['failed_deployments'])} of {d['deployments']})",
        f"  time to restore       median {_duration(ttr['median']) or '-'} ({ttr['count']} restored, "
        f"{ttr['open']} open)",
        *(["", table] if per_pipeline else []),
    ])


def _render_weeks(d: dict[str, Any]) -> str:
    rows = [[w["week"] + (" *" if w["partial"] else ""), w["deployments"],
             _duration(w["lead_time_seconds"]["p50"]),
             None if w["change_failure_rate"] is None else f"{w['change_failure_rate']:.0%}",
             _duration(w["time_to_restore_seconds"]["p50"]), w["time_to_restore_seconds"]["open"]]
            for w in d["weeks"]]
    return "\n".join([
        f"DORA per week, {d['from']} .. {d['until']} (change-failure window {d['window_hours']:g} h)",
        _table(["WEEK", "DEPLOYMENTS", "LEAD TIME (MEDIAN)", "CHANGE FAILURE", "RESTORED (MEDIAN)", "OPEN"], rows),
        "* a week the period cuts short"])
