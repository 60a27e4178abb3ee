"""`warden freeze`: what is frozen now and next, and why (`status`); a break-glass override with a name and a
reason (`override`).

By default they run in the embedded world after replaying the `--replay` inputs (the freeze story when none
is given); `--stack NAME` works on a deployed stack (its StateTableName, LedgerTableName, OnCallTopicArn and
TeamTopicArn outputs) with standard credentials. Who overrides is the caller's IAM identity, as STS
GetCallerIdentity says: not a name typed on the command line.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from warden.core import clock

EXIT_BAD_INPUT = 2
STORY = Path(__file__).resolve().parents[2] / "events" / "scenarios" / "freeze.json"


def duration_hours(text: str) -> float:
    """An argparse type: `2h`, `90m`, `1d` or `1h30m` -> hours."""
    found = re.fullmatch(r"\s*(?:(\d+(?:\.\d+)?)d)?\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+)m)?\s*", text or "")
    if not found or not any(found.groups()):
        raise argparse.ArgumentTypeError(f"a duration is like 2h, 90m, 1d or 1h30m: {text!r}")
    days, hours, minutes = (float(g) if g else 0.0 for g in found.groups())
    total = days * 24 + hours + minutes / 60
    if total <= 0:
        raise argparse.ArgumentTypeError(f"a duration is more than nothing: {text!r}")
    return total


def moment(text: str) -> datetime:
    try:
        return clock.parse_iso(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}") from None


def add_parser(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of a table")
    common.add_argument("--stack", metavar="NAME", help="a deployed stack (standard AWS credentials)")
    common.add_argument("--replay", metavar="INPUT", action="append",
                        help="embedded world: replay these inputs first (default: the freeze story)")
    freeze = subparsers.add_parser("freeze", help="deployment freezes: status and break-glass overrides")
    sub = freeze.add_subparsers(dest="freeze_command", required=True, parser_class=type(freeze))
    status = sub.add_parser("status", parents=[common], help="what is frozen now and next, and why")
    status.add_argument("--pipeline", help="one pipeline (default: every pipeline)")
    status.add_argument("--at", type=moment, help="ISO 8601 time (default: now; the replay's last step locally)")
    override = sub.add_parser("override", parents=[common],
                              help="let one execution through a frozen stage, with your name and a reason")
    override.add_argument("--pipeline", required=True)
    override.add_argument("--stage", required=True)
    override.add_argument("--reason", required=True)
    override.add_argument("--for", dest="hours", type=duration_hours, default=2.0, metavar="DURATION",
                          help="how long the override lasts (default 2h; at most the document's override_max_hours)")
    override.add_argument("--execution", metavar="ID",
                          help="the execution to let through now (also OverrideStageCondition of its entry)")


@contextmanager
def _gate(args: argparse.Namespace) -> Iterator[tuple[Any, Any]]:
    """(the DeploymentGate, a codepipeline client) of the stack or of the embedded world."""
    from warden.runtime.container import Container
    from warden.runtime.settings import Settings

    if args.stack:
        import boto3

        stack = boto3.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        params = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
        missing = [k for k in ("StateTableName", "LedgerTableName", "OnCallTopicArn", "TeamTopicArn")
                   if k not in outputs]
        if missing:
            raise LookupError(f"stack {args.stack} has no {', '.join(missing)} output")
        settings = Settings.of("DeploymentGate", {
            "STATE_TABLE": outputs["StateTableName"], "LEDGER_TABLE": outputs["LedgerTableName"],
            "ONCALL_TOPIC_ARN": outputs["OnCallTopicArn"], "TEAM_TOPIC_ARN": outputs["TeamTopicArn"],
            "WARDEN_CONFIG_PREFIX": params.get("ConfigPrefix") or "/pipeline-warden",
            "WARDEN_ACCOUNT_ID": stack["StackId"].split(":")[4],
            "AWS_REGION": boto3.session.Session().region_name or "us-east-1"})
        container = Container(settings=settings)
        yield container.deployment_gate, container.clients.client("codepipeline")
        return
    from warden_local.replay import load, replay, world_for

    inputs = args.replay or [str(STORY)]
    with world_for([load(p) for p in inputs]) as world:
        replay(inputs, world=world)
        env = world.environment(world.functions["DeploymentGate"])
        container = Container(settings=Settings.of("DeploymentGate", env))
        yield container.deployment_gate, world.client("codepipeline")


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from warden_local.replay import InputError

    try:
        with _gate(args) as (gate, codepipeline):
            at = getattr(args, "at", None) or clock.now()
            if args.freeze_command == "status":
                result: Any = _status(gate, codepipeline, args.pipeline, at)
            else:
                stages = [s["name"] for s in codepipeline.get_pipeline(name=args.pipeline)["pipeline"]["stages"]]
                if args.stage not in stages:
                    raise LookupError(f"pipeline {args.pipeline} has no stage {args.stage!r} (it has: "
                                      f"{', '.join(stages)})")
                caller = _caller(args)
                result = gate.grant(args.pipeline, args.stage, by=caller, reason=args.reason, hours=args.hours,
                                    at=clock.now(), execution_id=args.execution)
                result = {"pipeline": args.pipeline, "stage": args.stage, **result}
    except (InputError, ValueError, LookupError) as exc:
        print(f"warden: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (ClientError, BotoCoreError) as exc:  # credentials, a missing stack, a refused call: one line
        print(f"warden: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(json.dumps(result, indent=2, default=str) if args.json else _render(args.freeze_command, result))
    return 0


def _caller(args: argparse.Namespace) -> str:
    import boto3

    return boto3.client("sts").get_caller_identity()["Arn"]


def _status(gate: Any, codepipeline: Any, pipeline: str | None, at: datetime) -> list[dict[str, Any]]:
    names = [pipeline] if pipeline else sorted(
        p["name"] for page in codepipeline.get_paginator("list_pipelines").paginate() for p in page["pipelines"])
    rows = []
    for name in names:
        stages = [s["name"] for s in codepipeline.get_pipeline(name=name)["pipeline"]["stages"]]
        rows += [gate.status(name, stage, at) for stage in stages[1:]]  # a source stage is never entered
    return rows


def _render(command: str, result: Any) -> str:
    from warden_local.ledger_cli import _table
    from warden_local.story import short_principal

    if command == "override":
        return (f"override of {result['pipeline']}/{result['stage']} by {result['by']} until {result['until']}: "
                f"{result['reason']}" + (f" (let through: {result['used_by']})" if result.get("used_by") else
                                         " (the next execution to reach the stage passes)"))
    if not result:
        return "(no pipelines)"
    return _table(["PIPELINE", "STAGE", "STATE", "UNTIL / NEXT", "WHY"], [
        [r["pipeline"], r["stage"], "FROZEN" if r["frozen"] else "open",
         r["until"] if r["frozen"] else (r["next"] or "-"),
         "; ".join(r["why"]) if r["frozen"] else "; ".join(filter(None, [r["next_why"], *r.get("notes", [])]))]
        for r in result]) + "".join(
        f"\noverride {r['pipeline']}/{r['stage']}: {short_principal(r['override']['by'])} "
        f"until {r['override']['until']}: {r['override']['reason']}" for r in result if r.get("override"))
