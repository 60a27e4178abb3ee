"""Ledger benchmark: DeploymentTracker per event, AWS calls over the test story, and a history query
over 10,000 executions (it must read only the items it returns)."""

from __future__ import annotations

from typing import Any

from tests.benchmarks.bench import CallMeter
from tests.helpers import pipeline_world
from tests.integration.test_ledger import ACTION_EVENT, play
from warden.aws.dynamodb import to_av
from warden.ledger.view import LedgerReader

HISTORY_SIZE = 10_000
PAGE = 20


def _story_calls(world: Any, shuffle: int | None, tag: str) -> dict[str, Any]:
    """Calls per delivered event while the story is delivered (API calls by people are not metered)."""
    deliveries, meter = [], CallMeter()
    original = world.invoke

    def metered(function: str, event: Any) -> Any:
        deliveries.append(event)
        with meter:
            return original(function, event)

    world.invoke = metered
    try:
        play(world, shuffle=shuffle, setup=False, tag=tag)
    finally:
        world.invoke = original
    return {"events": len(deliveries), "calls": sum(meter.calls.values()),
            "calls_per_event": round(sum(meter.calls.values()) / len(deliveries), 2),
            "by_api": dict(sorted(meter.calls.items()))}


def _seed_history(world: Any, pipeline: str) -> None:
    ddb, table = world.client("dynamodb"), world.physical["LedgerTable"]["TableName"]
    items = []
    for n in range(HISTORY_SIZE):
        started = f"2026-{1 + n // 1000 % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:{n % 60:02d}:00Z"
        eid = f"bench-{n:05d}"
        items.append({"pk": f"EXEC#{pipeline}#{eid}", "sk": "EXECUTION", "kind": "execution", "pipeline": pipeline,
                      "execution_id": eid, "status": "SUCCEEDED", "started_at": started, "commit_id": f"{n:040x}",
                      "author": "Bench Author", "gsi1pk": f"PIPE#{pipeline}", "gsi1sk": f"{started}#{eid}"})
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": {k: to_av(v) for k, v in item.items()}}} for item in items[start:start + 25]]
        ddb.batch_write_item(RequestItems={table: batch})


def measure(world: Any, warm: Any) -> dict[str, Any]:
    from warden_local.replay import Replayer, Scenario

    Replayer(world).run(Scenario("ledger-bench", world=pipeline_world()))
    in_order = _story_calls(world, None, "bench1-")
    shuffled = _story_calls(world, 7, "bench2-")
    story_events = [e for e in _events_of_story(world)]
    handler = warm(world, "DeploymentTracker", story_events)

    pipeline = "bench-history"
    _seed_history(world, pipeline)
    reader = LedgerReader(world.client("dynamodb"), world.physical["LedgerTable"]["TableName"])
    page = reader.history(pipeline, limit=PAGE)
    return {
        "handlers": {"DeploymentTracker": handler},
        "ledger": {
            "calls_per_event_story": in_order["calls_per_event"],
            "story_in_order": in_order,
            "story_shuffled_duplicated": shuffled,
            "history_query": {"executions_in_table": HISTORY_SIZE, "items": len(page.items),
                              "scanned_count": page.scanned, "queries": page.queries,
                              "consumed_capacity": page.consumed_capacity,
                              "newest_first": [i["started_at"] for i in page.items[:2]]},
        },
    }


def _events_of_story(world: Any) -> list[dict[str, Any]]:
    """The story's events as DeploymentTracker receives them (for warm-time sampling)."""
    from tests.integration.test_ledger import story

    return [e for e in story("exec-r") if isinstance(e, dict)
            and (e["detail-type"] != ACTION_EVENT or e["detail"]["type"]["category"] == "Approval")]
