"""`make bench`: cold import, cold first event, warm per-event time, AWS calls per event and memory,
per handler.

Cold import is a ratio to `import boto3` measured in the same run (fresh interpreters, medians),
so the figure means the same on any machine; the cold first event likewise, over a baseline that
imports boto3 and makes the same AWS calls with plain clients (tests/benchmarks/first_event.py).
Warm time is the handler's own time: the time spent
inside AWS calls (moto here, the network in Lambda) is subtracted.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import botocore.client

ROOT = Path(__file__).resolve().parents[2]
RUNS = 5
WARM_EVENTS = 200

COLD_SNIPPET = """
import importlib.util, sys, time
t = time.perf_counter()
{body}
print(time.perf_counter() - t)
"""


def _cold(body: str, env: dict[str, str]) -> float:
    out = subprocess.run([sys.executable, "-c", COLD_SNIPPET.format(body=body)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def cold_import_ratios(world: Any) -> dict[str, float]:
    """Median over RUNS of (handler module import) / (import boto3), interleaved run by run."""
    ratios: dict[str, list[float]] = {fid: [] for fid, fn in world.functions.items() if world.exists(fn)}
    for _ in range(RUNS):
        base = _cold("import boto3", dict(os.environ))
        for fid, fn in world.functions.items():
            if fid not in ratios:  # a function the stack does not have (ApprovalGateway without Slack: its section)
                continue
            env = {**os.environ, **world.environment(fn)}
            body = (f"spec = importlib.util.spec_from_file_location('app', {str(fn.module_path)!r})\n"
                    "spec.loader.exec_module(importlib.util.module_from_spec(spec))")
            ratios[fid].append(_cold(body, env) / base)
    return {fid: round(statistics.median(r), 2) for fid, r in ratios.items()}


class CallMeter:
    """Counts AWS calls and the time spent in them (and in PagerDuty's HTTP API), by wrapping botocore's
    one entry point and urllib's."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seconds = 0.0
        self._original = botocore.client.BaseClient._make_api_call

    def __enter__(self) -> CallMeter:
        meter, original = self, self._original

        def metered(client: Any, operation: str, params: dict[str, Any]) -> Any:
            start = time.perf_counter()
            try:
                return original(client, operation, params)
            finally:
                meter.seconds += time.perf_counter() - start
                meter.calls[f"{client.meta.service_model.service_name}:{operation}"] += 1

        def opened(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return urlopen(*args, **kwargs)
            finally:
                meter.seconds += time.perf_counter() - start
                meter.calls["pagerduty:enqueue"] += 1

        urlopen = urllib.request.urlopen
        botocore.client.BaseClient._make_api_call = metered
        urllib.request.urlopen = opened
        self._urlopen = urlopen
        return self

    def __exit__(self, *exc: Any) -> None:
        botocore.client.BaseClient._make_api_call = self._original
        urllib.request.urlopen = self._urlopen


def _fresh(event: dict[str, Any]) -> dict[str, Any]:
    """The same event with a new id, so idempotency lets it through."""
    event = copy.deepcopy(event)
    event["id"] = str(uuid.uuid4())
    return event


def warm(world: Any, function: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    for event in events:  # warm-up: imports, clients, configuration cache
        world.invoke(function, _fresh(event))
    samples, audiences = [], 0
    with CallMeter() as meter:
        for n in range(WARM_EVENTS):
            before = meter.seconds
            outcome = world.invoke(function, _fresh(events[n % len(events)]))
            samples.append(outcome.seconds - (meter.seconds - before))
            if isinstance(outcome.result, dict):
                audiences += len(outcome.result.get("audiences", []))
            if outcome.error:
                raise RuntimeError(f"{function} failed during the benchmark: {outcome.error}")
    # Memory in a separate pass: tracemalloc slows every allocation down.
    tracemalloc.start()
    for n in range(len(events) * 5):
        world.invoke(function, _fresh(events[n % len(events)]))
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {"warm_ms": round(statistics.median(samples) * 1000, 3),
            "calls_per_event": round(sum(meter.calls.values()) / WARM_EVENTS, 2),
            "calls": {k: round(v / WARM_EVENTS, 2) for k, v in sorted(meter.calls.items())},
            **({"sns_publishes_per_audience": round(meter.calls["sns:Publish"] / audiences, 2)} if audiences else {}),
            "peak_mb": round(peak, 2)}


def router_events() -> list[dict[str, Any]]:
    """A failure page, a success (which resolves it), an approval request."""
    story = json.loads((ROOT / "events" / "scenarios" / "demo.json").read_text())
    events = [s["event"] for s in story["steps"] if isinstance(s.get("event"), dict) and "detail" in s["event"]]
    return [e for e in events if e["detail"].get("state") in ("FAILED", "SUCCEEDED")
            and e["detail"].get("pipeline") == "payments-api"]  # the demo's rollback and artifact parts aside


# Feature benchmarks: tests/benchmarks/<name>.py with `measure(world, warm) -> dict`, returning
# {"handlers": {logical id: {...}}, "<section>": {...}} merged into the report.
FEATURES = ["ledger", "approvals", "slow", "artifacts", "rollback", "gateway", "gate", "dora", "incidents"]


def _router(world: Any, warm: Any) -> dict[str, Any]:
    return {"handlers": {"NotificationRouter": warm(world, "NotificationRouter", router_events())}}


def _cold_imports(world: Any, warm: Any) -> dict[str, Any]:
    return {"handlers": {fid: {"cold_import_ratio": ratio} for fid, ratio in cold_import_ratios(world).items()}}


def _first_events(world: Any, warm: Any) -> dict[str, Any]:
    from tests.benchmarks import first_event

    return first_event.measure(world)


def sections() -> list[tuple[str, Any]]:
    """(name, measure(world, warm)) in the order they run. Each runs in a world of its own, so no section's
    data (10,000 pipelines, pending approvals) slows another down or shows in its figures."""
    found: list[tuple[str, Any]] = [("cold imports", _cold_imports), ("NotificationRouter", _router)]
    for feature in FEATURES:
        if importlib.util.find_spec(f"tests.benchmarks.{feature}") is not None:
            found.append((feature, importlib.import_module(f"tests.benchmarks.{feature}").measure))
    return [*found, ("first events", _first_events)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print bench.json's content instead of a table")
    parser.add_argument("--only", action="append", metavar="SECTION", help="run only this section (repeatable)")
    args = parser.parse_args()
    from warden_local.world import World

    report: dict[str, Any] = {"handlers": {}, "seconds": {}}
    todo = [(name, measure) for name, measure in sections() if not args.only or name in args.only]
    started = time.perf_counter()
    for n, (name, measure) in enumerate(todo, 1):
        print(f"bench [{n}/{len(todo)}] {name} ...", file=sys.stderr, flush=True)
        begun = time.perf_counter()
        with World() as world:
            found = measure(world, warm)
        for fid, row in found.pop("handlers", {}).items():
            report["handlers"].setdefault(fid, {}).update(row)
        report.update(found)
        report["seconds"][name] = round(time.perf_counter() - begun, 1)
        print(f"bench [{n}/{len(todo)}] {name}: {report['seconds'][name]} s", file=sys.stderr, flush=True)
    report["seconds"]["total"] = round(time.perf_counter() - started, 1)
    (ROOT / "bench.json").write_text(json.dumps(report, indent=2))
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{'handler':<26}{'cold/boto3':>11}{'1st event':>10}{'floor':>7}{'warm ms':>9}{'calls/ev':>10}{'peak MB':>9}")
    for fid, row in report["handlers"].items():
        print(f"{fid:<26}{row.get('cold_import_ratio', '-'):>11}{row.get('cold_first_event_ratio', '-'):>10}"
              f"{row.get('stack_floor_ratio', '-'):>7}"
              f"{row.get('warm_ms', '-'):>9}{row.get('calls_per_event', '-'):>10}{row.get('peak_mb', '-'):>9}")
    for section, values in report.items():
        if section != "handlers":
            print(f"{section}: {json.dumps(values)}")


if __name__ == "__main__":
    main()
