"""Pipeline health against its own history: pure functions of ledger execution records (execution_view).

Each pipeline (ref) and each of its stages is compared with its own recent past, never with a fixed number:
- *baseline*: p50 / p95 / max of the last `window` completed runs (a stage's SUCCEEDED runs; an execution's
  SUCCEEDED ones), each run's time *excluding the time it waited for a manual approval* (each approval's wait,
  from its action's start to its decision, clipped to the run): a wait for a person is the escalation tiers'
  business, never slowness. Fewer than `min_samples` runs: no baseline, so nothing is called slow or stuck.
- *sustained slowdown*: the newest `k` runs were each longer than p95 x `factor` of the baseline of the runs
  before that streak (so the streak never raises its own bar); it lasts until a run is back under the bar.
  One slow run is not a slowdown.
- *stuck*: a stage still running longer than its history's maximum x `factor`, or than `ceiling`, whichever
  comes first (the ceiling alone without history); time waiting for an approval never counts.
- *flaky*: a stage that failed and then succeeded for the same source revision: retried within the execution
  (the stage's attempt above 1 ended SUCCEEDED) or run again by a later execution of the same commit.
The same records give the same answer in any order of delivery (the ledger's items converge): these are
functions of the records only.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from warden.core import clock

WHOLE = "(execution)"  # the row of the whole execution, beside its stages


@dataclass(frozen=True)
class HealthRules:
    window: int = 20  # runs in the rolling baseline
    min_samples: int = 5
    k: int = 3  # consecutive runs over the bar make a sustained slowdown
    factor: float = 1.5  # the bar: p95 x factor
    stuck_factor: float = 2.0  # stuck: longer than the history's maximum x this
    stuck_ceiling: timedelta = timedelta(hours=6)  # stuck, whatever the history says


@dataclass(frozen=True)
class Run:
    pipeline: str
    stage: str  # WHOLE for the execution
    execution_id: str
    ended: datetime
    seconds: float  # approval waits excluded


@dataclass
class Baseline:
    count: int
    p50: float | None
    p95: float | None
    max: float | None


@dataclass
class Slowdown:
    pipeline: str
    stage: str
    bar_seconds: float  # p95 x factor
    baseline: Baseline
    streak: list[Run] = field(default_factory=list)  # oldest first

    def describe(self) -> str:
        times = ", ".join(f"{r.seconds / 60:.0f} min" for r in self.streak)
        return (f"{self.pipeline} {self.stage}: the last {len(self.streak)} runs took {times}, each over "
                f"{self.bar_seconds / 60:.0f} min (p95 {self.baseline.p95 / 60:.0f} min x factor, over "
                f"{self.baseline.count} runs before them; p50 {self.baseline.p50 / 60:.0f} min)")


def _at(value: Any) -> datetime | None:
    try:
        return clock.parse_iso(value) if value else None
    except (TypeError, ValueError):
        return None


def approval_wait(record: dict[str, Any], start: datetime, end: datetime, stage: str | None = None) -> float:
    """Seconds of [start, end] the record spent waiting for its manual approvals (of `stage`, when given)."""
    total = 0.0
    for approval in record.get("approvals") or []:
        if stage is not None and approval.get("stage") != stage:
            continue
        since, decided = _at(approval.get("waited_since")), _at(approval.get("at"))
        if since and decided:
            total += max(0.0, (min(decided, end) - max(since, start)).total_seconds())
    return total


def runs(records: list[dict[str, Any]]) -> list[Run]:
    """Every completed SUCCEEDED run of an execution and of its stages, oldest first, approval waits excluded."""
    found: list[Run] = []
    for record in records:
        if record.get("execution_type") == "ROLLBACK":
            continue  # a rollback runs one stage from another execution's artifacts: not comparable
        pipeline, eid = record.get("pipeline") or "", record.get("execution_id") or ""
        for stage, info in (record.get("stages") or {}).items():
            start, end = _at(info.get("started_at")), _at(info.get("ended_at"))
            if info.get("status") == "SUCCEEDED" and start and end and end >= start:
                seconds = (end - start).total_seconds() - approval_wait(record, start, end, stage)
                found.append(Run(pipeline, stage, eid, end, max(0.0, seconds)))
        start, end = _at(record.get("started_at")), _at(record.get("ended_at"))
        if record.get("status") == "SUCCEEDED" and start and end and end >= start:
            seconds = (end - start).total_seconds() - approval_wait(record, start, end)
            found.append(Run(pipeline, WHOLE, eid, end, max(0.0, seconds)))
    return sorted(found, key=lambda r: (r.ended, r.execution_id))


def _p(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def baseline(history: list[Run], rules: HealthRules) -> Baseline:
    """p50 (median), p95 (nearest rank) and max of the newest `window` runs of `history` (oldest first)."""
    recent = [r.seconds for r in history[-rules.window:]]
    if len(recent) < rules.min_samples:
        return Baseline(len(recent), None, None, None)
    return Baseline(len(recent), statistics.median(recent), _p(recent, 95), max(recent))


def by_row(all_runs: list[Run]) -> dict[tuple[str, str], list[Run]]:
    rows: dict[tuple[str, str], list[Run]] = {}
    for run in all_runs:
        rows.setdefault((run.pipeline, run.stage), []).append(run)
    return rows


def slowdowns(records: list[dict[str, Any]], rules: HealthRules | None = None) -> list[Slowdown]:
    """The pipelines and stages in a sustained slowdown now (their newest k runs all over the bar)."""
    rules = rules or HealthRules()
    found = []
    for (pipeline, stage), history in sorted(by_row(runs(records)).items()):
        if len(history) < rules.k:
            continue
        streak, before = history[-rules.k:], history[:-rules.k]
        base = baseline(before, rules)
        if base.p95 is None:
            continue
        bar = base.p95 * rules.factor
        if all(r.seconds > bar for r in streak):
            found.append(Slowdown(pipeline, stage, bar, base, streak))
    return found


def summary(records: list[dict[str, Any]], rules: HealthRules | None = None) -> list[dict[str, Any]]:
    """Per pipeline and stage: the rolling baseline (counts included) of its newest runs."""
    rules = rules or HealthRules()
    rows = []
    for (pipeline, stage), history in sorted(by_row(runs(records)).items()):
        base = baseline(history, rules)
        rows.append({"pipeline": pipeline, "stage": stage, "runs": base.count, "p50_seconds": base.p50,
                     "p95_seconds": base.p95, "max_seconds": base.max})
    return rows


def stuck(running: dict[str, Any], records: list[dict[str, Any]], now: datetime,
          rules: HealthRules | None = None) -> dict[str, Any] | None:
    """The stage of the `running` execution that runs longer than its history allows, with the numbers,
    or None. `records`: the pipeline's recent executions (the baseline)."""
    rules = rules or HealthRules()
    history = by_row(runs(records))
    for stage, info in (running.get("stages") or {}).items():
        start = _at(info.get("started_at"))
        if info.get("ended_at") or not start or info.get("status") not in (None, "STARTED", "InProgress"):
            continue
        elapsed = (now - start).total_seconds() - approval_wait(running, start, now, stage)
        base = baseline(history.get((running.get("pipeline") or "", stage), []), rules)
        limit = rules.stuck_ceiling.total_seconds()
        if base.max is not None:
            limit = min(limit, base.max * rules.stuck_factor)
        if elapsed > limit:
            return {"pipeline": running.get("pipeline"), "stage": stage, "execution_id": running.get("execution_id"),
                    "running_seconds": elapsed, "limit_seconds": limit, "history_max_seconds": base.max,
                    "history_runs": base.count}
    return None


def flaky(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Stages that failed, then succeeded for the same source revision, each occurrence once, oldest first:
    a retry inside the execution (attempt > 1 ended SUCCEEDED), or a later execution of the same commit."""
    found: list[dict[str, Any]] = []
    last_failed: dict[tuple[str, str, str], str] = {}
    ordered = sorted(records, key=lambda r: (r.get("started_at") or "", r.get("execution_id") or ""))
    for record in ordered:
        if record.get("execution_type") == "ROLLBACK":
            continue
        pipeline, commit = record.get("pipeline") or "", record.get("commit_id")
        for stage, info in (record.get("stages") or {}).items():
            status, at = info.get("status"), info.get("ended_at")
            if status == "SUCCEEDED" and (info.get("attempt") or 1) > 1:
                found.append({"pipeline": pipeline, "stage": stage, "commit_id": commit, "at": at,
                              "how": "retried in the execution", "execution_id": record.get("execution_id")})
                continue
            if not commit:
                continue
            key = (pipeline, stage, commit)
            if status == "FAILED":
                last_failed[key] = record.get("execution_id") or ""
            elif status == "SUCCEEDED" and key in last_failed:
                found.append({"pipeline": pipeline, "stage": stage, "commit_id": commit, "at": at,
                              "how": f"failed in {last_failed.pop(key)}, succeeded when run again",
                              "execution_id": record.get("execution_id")})
    return found


def weekly_flaky(records: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The digest: per ISO week (of the success), `pipeline stage` -> how many flaky occurrences."""
    digest: dict[str, dict[str, int]] = {}
    for f in flaky(records):
        at = _at(f["at"])
        if at is None:
            continue
        iso = at.isocalendar()
        week = digest.setdefault(f"{iso.year}-W{iso.week:02d}", {})
        week[f"{f['pipeline']} {f['stage']}"] = week.get(f"{f['pipeline']} {f['stage']}", 0) + 1
    return digest


def rules_from(settings: Any) -> HealthRules:
    """HealthRules from the `ledger` document's `health` settings (warden.ledger.config.HealthSettings)."""
    return HealthRules(window=settings.window_runs, min_samples=settings.min_samples, k=settings.consecutive,
                       factor=settings.factor, stuck_factor=settings.stuck_factor,
                       stuck_ceiling=timedelta(hours=settings.stuck_ceiling_hours))
