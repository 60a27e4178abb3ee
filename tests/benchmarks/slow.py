"""The slow-execution sweep in `make bench`: its AWS calls with 10 and 10,000 finished executions in
the ledger, and the same 5 executions running past their threshold each time.

The sweep reads the sparse running index only, so the ledger's size must not show: the figures must
be equal.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from tests.benchmarks.approvals import _sample, _scheduled
from tests.benchmarks.bench import CallMeter
from warden.core.clock import iso, parse_iso
from warden.ledger.keys import execution_key, history_pk

T0 = parse_iso("2026-11-27T09:00:00Z")
RUNNING = 5


def _finished(world: Any, count: int) -> None:
    """`count` finished executions straight into the ledger (the handler would take minutes for 10,000)."""
    ddb, table = world.client("dynamodb"), world.physical["LedgerTable"]["TableName"]
    for start in range(0, count, 25):
        items = []
        for n in range(start, min(count, start + 25)):
            execution = str(uuid.uuid4())
            key = execution_key("bench-history", execution)
            items.append({"PutRequest": {"Item": {
                "pk": {"S": key["pk"]}, "sk": {"S": key["sk"]}, "kind": {"S": "execution"},
                "pipeline": {"S": "bench-history"}, "execution_id": {"S": execution}, "status": {"S": "SUCCEEDED"},
                "gsi1pk": {"S": history_pk("bench-history")}, "gsi1sk": {"S": f"{iso(T0)}#{n:05d}"}}}})
        ddb.batch_write_item(RequestItems={table: items})


def sweep_calls(world: Any, finished: int, day: int) -> tuple[int, int, dict[str, int]]:
    _finished(world, finished)
    start = T0 + timedelta(days=day)
    runs = [str(uuid.uuid4()) for _ in range(RUNNING)]
    for execution in runs:
        world.set_time(start)
        world.invoke("DeploymentTracker", _sample("pipeline-started.json", "bench-slow", execution, iso(start),
                                                  **{"start-time": iso(start)}))
    at = iso(start + timedelta(minutes=35))
    world.set_time(parse_iso(at))
    with CallMeter() as meter:
        outcome = world.invoke("ApprovalEscalator", _scheduled(at))
    assert outcome.error is None and len(outcome.result["executions"]["slow"]) == RUNNING, outcome
    for execution in runs:  # leave nothing running for the next run
        world.invoke("DeploymentTracker", _sample("pipeline-succeeded.json", "bench-slow", execution, at,
                                                  **{"start-time": iso(start)}))
    return sum(meter.calls.values()), len(outcome.result["executions"]["slow"]), dict(meter.calls)


def measure(world: Any, warm: Any) -> dict[str, Any]:
    sweep_calls(world, 0, 0)  # configuration documents cached, as in a warm container
    calls_10, slow_10, calls = sweep_calls(world, 10, 1)
    calls_10000, slow_10000, _ = sweep_calls(world, 9_990, 2)
    assert slow_10 == slow_10000 == RUNNING
    return {"slow_sweep": {"calls_10": calls_10, "calls_10000": calls_10000, "running_past_threshold": RUNNING,
                           "calls": calls}}
