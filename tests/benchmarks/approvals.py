"""Approvals in `make bench`: the two handlers, and the sweep's AWS calls with 10 and 10,000 pipelines.

The sweep reads pending approvals through the index, so the account's size must not show in its
calls: both runs have 5 pending approvals past their 4 h tier, and the figures must be equal.

`scale`: the 8 h (on-call) tier reached by 5, 50 and 500 pending approvals, ten to a pipeline execution
(one execution waiting at ten approval actions of its pipeline: 500 over 50 pipelines). Per size: the
sweep's AWS calls and pages, its time in the embedded world, and its time at AWS latencies (calls times
AWS_CALL_SECONDS, against the function's 120 s timeout: it must stay within half). The embedded time at
500 is moto's more than Warden's: moto copies the whole table for every item of a TransactWriteItems.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import timedelta
from typing import Any

from tests.benchmarks.bench import ROOT, CallMeter
from warden.core.clock import iso, parse_iso
from warden_local import fakes
from warden_local.fakes import moto_model
from warden_local.world import ACCOUNT, REGION

T0 = parse_iso("2026-11-27T09:00:00Z")
PENDING = 5
SCALES = (5, 50, 500)
GATES = 10  # approval actions of one execution, at scale
AWS_CALL_SECONDS = 0.025  # one in-region AWS call (and one PagerDuty enqueue), for the time estimate
SWEEP_TIMEOUT = 120  # the ApprovalEscalator's Timeout in template.yaml


def _scenario() -> dict[str, Any]:
    return json.loads((ROOT / "events" / "scenarios" / "approval-escalation.json").read_text())


def _sample(name: str, pipeline: str, execution: str, at: str, **detail: Any) -> dict[str, Any]:
    event = json.loads((ROOT / "events" / "codepipeline" / name).read_text())
    event.update(id=str(uuid.uuid4()), time=at, resources=[f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{pipeline}"])
    event["detail"].update(pipeline=pipeline, **{"execution-id": execution}, **detail)
    return event


def _create_pipelines(world: Any, prefix: str, count: int) -> list[str]:
    """`count` pipelines straight into moto's backend (the API would take minutes for 10,000)."""
    scenario = _scenario()
    role, definition = scenario["world"][0], scenario["world"][1]["params"]["pipeline"]
    try:
        world.client("iam").create_role(**role["params"])
    except world.client("iam").exceptions.EntityAlreadyExistsException:
        pass
    names = [f"{prefix}-{n:05d}" for n in range(count)]
    moto_model.create_pipelines(ACCOUNT, REGION, [copy.deepcopy(definition) | {"name": name} for name in names])
    return names


def _feed(world: Any, event: dict[str, Any]) -> None:
    world.set_time(parse_iso(event["time"]))
    fakes.apply_event(event)
    world.invoke("ApprovalTracker", event)


def _scheduled(at: str) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": ACCOUNT, "time": at, "region": REGION, "resources": [], "detail": {}}


def sweep_calls(world: Any, prefix: str, pipelines: int) -> tuple[int, int, dict[str, int]]:
    names = _create_pipelines(world, prefix, pipelines)
    waiting = [(name, str(uuid.uuid4())) for name in names[:PENDING]]
    for name, execution in waiting:
        _feed(world, _sample("action-started-approval.json", name, execution, iso(T0)))
    at = iso(T0 + timedelta(hours=4, minutes=5))
    world.set_time(parse_iso(at))
    with CallMeter() as meter:
        outcome = world.invoke("ApprovalEscalator", _scheduled(at))
    assert outcome.error is None and len(outcome.result["escalated"]) == PENDING, outcome
    for name, execution in waiting:  # leave nothing pending for the next run
        _feed(world, _sample("action-succeeded-approval.json", name, execution, at))
    return sum(meter.calls.values()), outcome.result["pending"], dict(meter.calls)


def _gated(gates: int) -> dict[str, Any]:
    definition = copy.deepcopy(_scenario()["world"][1]["params"]["pipeline"])
    stage = next(s for s in definition["stages"] if s["name"] == "Approve")
    stage["actions"] = [dict(stage["actions"][0], name=f"Gate{n:02d}") for n in range(gates)]
    return definition


def sweep_at_scale(world: Any, pending: int) -> dict[str, Any]:
    """`pending` approvals, GATES to an execution, reach the 8 h tier in one sweep; then they leave the
    pending index (bench housekeeping, not measured), so that the next size starts from nothing pending."""
    gates = min(pending, GATES)
    names = [f"scale-{pending}-{n:03d}" for n in range(pending // gates)]
    moto_model.create_pipelines(ACCOUNT, REGION, [_gated(gates) | {"name": name} for name in names])
    registered = CallMeter()
    with registered:
        for name in names:
            execution = str(uuid.uuid4())
            for gate in range(gates):
                _feed(world, _sample("action-started-approval.json", name, execution, iso(T0),
                                     action=f"Gate{gate:02d}", **{"action-execution-id": str(uuid.uuid4())}))
    at = iso(T0 + timedelta(hours=8, minutes=5))
    world.set_time(parse_iso(at))
    pages = len(world.pagerduty.events)
    with CallMeter() as meter:
        outcome = world.invoke("ApprovalEscalator", _scheduled(at))
    assert outcome.error is None and len(outcome.result["escalated"]) == pending, outcome
    _clear_pending(world)
    calls = sum(meter.calls.values())
    return {"pending": pending, "executions": len(names), "calls": calls,
            "pages": len(world.pagerduty.events) - pages, "seconds": round(outcome.seconds, 2),
            "aws_seconds": round(calls * AWS_CALL_SECONDS, 1),
            "within_half_timeout": calls * AWS_CALL_SECONDS <= SWEEP_TIMEOUT / 2,
            "calls_per_registration": round(sum(registered.calls.values()) / pending, 2),
            "by_api": dict(sorted(meter.calls.items()))}


def _clear_pending(world: Any) -> None:
    ddb, table = world.client("dynamodb"), world.physical["StateTable"]["TableName"]
    for item in world.table_items("StateTable"):
        if item.get("gsi1pk") == "approvals#pending":
            ddb.update_item(TableName=table, Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}},
                            UpdateExpression="REMOVE gsi1pk, gsi1sk")


def measure(world: Any, warm: Any) -> dict[str, Any]:
    [name] = _create_pipelines(world, "bench-approvals", 1)
    execution = str(uuid.uuid4())
    tracker_events = [
        _sample("pipeline-started.json", name, execution, iso(T0)),
        _sample("action-started-approval.json", name, execution, iso(T0)),
        _sample("action-succeeded-approval.json", name, execution, iso(T0 + timedelta(hours=1))),
    ]
    fakes.apply_event(tracker_events[1])
    handlers = {"ApprovalTracker": warm(world, "ApprovalTracker", tracker_events)}
    # Nothing pending: a sweep is one index query.
    handlers["ApprovalEscalator"] = warm(world, "ApprovalEscalator", [_scheduled(iso(T0))])
    sweep_calls(world, "warmup", PENDING)  # configuration documents cached, as in a warm container
    sweep_10, pending_10, calls = sweep_calls(world, "small", 10)
    sweep_10000, pending_10000, _ = sweep_calls(world, "large", 10_000)
    assert pending_10 == pending_10000 == PENDING
    return {"handlers": handlers,
            "sweep": {"calls_10": sweep_10, "calls_10000": sweep_10000, "pending": PENDING, "calls": calls},
            "scale": {str(n): sweep_at_scale(world, n) for n in SCALES}}
