"""DORA and health reads at 10,000 and 100,000 ledger items: each view must read about what it returns.

The ledger is filled at a fixed rate (20 pipelines, 5 production executions a day each), so 100,000 items are
ten times the history of 10,000, not ten times as many executions a week. Access patterns:
- `ledger dora --week W` / `--explain REF --week W`: the time index (gsi3, a partition per month), the week and
  the 7 days before it (an execution may wait up to 7 days for an approval) and the days after it that
  evidence may come in: items read ~ executions of those weeks, whatever the table's size;
- `ledger health` / the schedule's health sweep: the current index (gsi1 CURRENT, one item per stage), then
  one history query per pipeline (gsi1 PIPE#<ref>, newest first, limit 2 x (window + k)): ~ pipelines x 46;
- what runs now: the sparse running index (gsi4): ~ executions running.
Each figure: items returned, items the queries read (ScannedCount), queries, and wall time.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from warden.aws.dynamodb import to_av
from warden.core import clock
from warden.ledger.dora import dora, parse_period
from warden.ledger.keys import month_pk
from warden.ledger.view import LedgerReader

PIPELINES = 20
PER_DAY = 5  # production executions a day per pipeline
SIZES = (10_000, 100_000)
END = clock.parse_iso("2026-11-30T00:00:00Z")
WEEK = "2026-W47"


def _seed(world: Any, first: int, last: int) -> None:
    """Items `first`..`last` counted back from END (0: the newest), at the fixed rate."""
    ddb, table = world.client("dynamodb"), world.physical["LedgerTable"]["TableName"]
    per_hour = PIPELINES * PER_DAY / 24
    batch: list[dict[str, Any]] = []
    for n in range(first, last):
        started = END - timedelta(hours=(n + 1) / per_hour)
        ended = started + timedelta(minutes=12)
        pipeline, eid = f"svc-{n % PIPELINES:02d}", f"b{n:06d}"
        s, e = clock.iso(started), clock.iso(ended)
        item = {"pk": f"EXEC#{pipeline}#{eid}", "sk": "EXECUTION", "kind": "execution", "pipeline": pipeline,
                "pipeline_ref": pipeline, "execution_id": eid, "execution_type": "STANDARD",
                "status": "FAILED" if n % 17 == 0 else "SUCCEEDED", "started_at": s, "ended_at": e,
                "prod_stage": "Deploy", "stage:Deploy:status": "FAILED" if n % 17 == 0 else "SUCCEEDED",
                "stage:Deploy:started_at": clock.iso(ended - timedelta(minutes=4)), "stage:Deploy:ended_at": e,
                "commit_id": f"{n:040x}", "author_date": clock.iso(started - timedelta(minutes=30)),
                "gsi1pk": f"PIPE#{pipeline}", "gsi1sk": f"{s}#{eid}", "gsi3pk": month_pk(started),
                "gsi3sk": f"{s}#{pipeline}#{eid}"}
        batch.append({"PutRequest": {"Item": {k: to_av(v) for k, v in item.items()}}})
        if len(batch) == 25:
            ddb.batch_write_item(RequestItems={table: batch})
            batch = []
    if batch:
        ddb.batch_write_item(RequestItems={table: batch})


def _timed(read: Any) -> tuple[Any, float]:
    begun = time.perf_counter()
    page = read()
    return page, round((time.perf_counter() - begun) * 1000, 1)


def measure_size(world: Any, size: int) -> dict[str, Any]:
    """The reads with `size` items in the ledger."""
    reader = LedgerReader(world.client("dynamodb"), world.physical["LedgerTable"]["TableName"])
    start, end, _ = parse_period(WEEK)
    week, week_ms = _timed(lambda: reader.for_dora(start, end + timedelta(days=1)))
    figures = dora(week.items, start=start, end=end)
    history, history_ms = _timed(lambda: reader.history("svc-00", limit=46))
    running, running_ms = _timed(reader.running)
    return {"items": size,
            "dora_week": {"returned": len(week.items), "scanned": week.scanned, "queries": week.queries,
                          "ms": week_ms, "deployments": figures["deployments"]},
            "history_46": {"returned": len(history.items), "scanned": history.scanned,
                           "queries": history.queries, "ms": history_ms},
            "running": {"returned": len(running.items), "scanned": running.scanned, "ms": running_ms}}


def measure(world: Any, warm: Any) -> dict[str, Any]:
    """The same ledger grown from 10,000 to 100,000 items (older history added), measured at each size."""
    found, seeded = {}, 0
    for size in SIZES:
        _seed(world, seeded, size)
        seeded = size
        found[f"items_{size}"] = measure_size(world, size)
    return {"dora": found}
