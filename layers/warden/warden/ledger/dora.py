"""DORA figures computed from ledger execution records (warden.ledger_view.execution_view).

Definitions (the README repeats them; DeploymentTracker's EMF metrics follow the same ones):
- a *production deployment* is a STANDARD execution whose production stage SUCCEEDED, at that time;
- *deployment frequency*: production deployments in the period / days in the period;
- *lead time for changes*: production success - commit author date (median, p90 by nearest rank);
- *change failure rate*: share of production deployments followed, on the same pipeline, within the
  window and before the next deployment, by a production-stage failure or a rollback reaching production;
- *time to restore*: from the first such failure or rollback to the next production success of any
  execution (a rollback's included); incidents that start in the period, those still open counted apart.
"The same pipeline" is the same pipeline ref (a record's `pipeline`: its name, or `<account>/<name>` for a
workload account's), so same-named pipelines of two accounts never count against each other. The figures
come overall and per pipeline ref (`pipelines`).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from warden.core import clock


@dataclass(frozen=True)
class _Point:
    pipeline: str
    at: datetime
    execution_id: str
    lead_seconds: float | None = None


def _points(executions: list[dict[str, Any]]) -> tuple[list[_Point], list[_Point], list[_Point]]:
    """(deployments, failures, restores) at the production stage, oldest first."""
    deployments, failures, restores = [], [], []
    for execution in executions:
        stage = execution.get("stages", {}).get(execution.get("prod_stage") or "", {})
        if not stage.get("status") and execution.get("prod_stage") and execution.get("status") == "SUCCEEDED":
            # No stage event recorded: a succeeded execution ran its production stage by its end.
            stage = {"status": "SUCCEEDED", "ended_at": execution.get("ended_at")}
        status, pipeline, eid = stage.get("status"), execution.get("pipeline"), execution.get("execution_id")
        rollback = execution.get("execution_type") == "ROLLBACK"
        if status == "SUCCEEDED" and stage.get("ended_at"):
            at = clock.parse_iso(stage["ended_at"])
            restores.append(_Point(pipeline, at, eid))
            if not rollback:
                author = execution.get("author_date")
                lead = (at - clock.parse_iso(author)).total_seconds() if author else None
                deployments.append(_Point(pipeline, at, eid, lead))
        if status == "FAILED" and stage.get("ended_at"):
            failures.append(_Point(pipeline, clock.parse_iso(stage["ended_at"]), eid))
        if rollback and stage.get("started_at"):
            failures.append(_Point(pipeline, clock.parse_iso(stage["started_at"]), eid))
    return (sorted(deployments, key=lambda p: p.at), sorted(failures, key=lambda p: p.at),
            sorted(restores, key=lambda p: p.at))


def nearest_rank(values: list[float], percent: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def _summary(values: list[float]) -> dict[str, Any]:
    return {"count": len(values), "median": statistics.median(values) if values else None,
            "p90": nearest_rank(values, 90)}


def dora(executions: list[dict[str, Any]], *, start: datetime, end: datetime,
         window_hours: float = 24.0) -> dict[str, Any]:
    """The figures over every pipeline, and under `pipelines` those of each pipeline ref that deployed,
    failed or was restored in the period."""
    deployments, failures, restores = _points(executions)
    figures = {"from": clock.iso(start), "until": clock.iso(end), "days": round(_days(start, end), 3),
               "window_hours": window_hours}
    figures |= _figures(deployments, failures, restores, start=start, end=end, window_hours=window_hours)
    active = sorted({p.pipeline for p in (*deployments, *failures, *restores) if start <= p.at <= end})
    figures["pipelines"] = {
        ref: _figures(*([p for p in points if p.pipeline == ref] for points in (deployments, failures, restores)),
                      start=start, end=end, window_hours=window_hours)
        for ref in active}
    return figures


def _days(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds() / 86400, 1e-9)


def _figures(deployments: list[_Point], failures: list[_Point], restores: list[_Point], *, start: datetime,
             end: datetime, window_hours: float) -> dict[str, Any]:
    """The four figures from production points; each pipeline ref is its own timeline."""
    in_range = [d for d in deployments if start <= d.at <= end]
    window = timedelta(hours=window_hours)

    failed = []
    for deployment in in_range:
        later = [d.at for d in deployments if d.pipeline == deployment.pipeline and d.at > deployment.at]
        until = min([deployment.at + window, *later])
        if any(f.pipeline == deployment.pipeline and deployment.at < f.at <= until for f in failures):
            failed.append(deployment.execution_id)

    restore_times, still_open = [], 0
    for pipeline in sorted({p.pipeline for p in failures}):
        # Failures before restores at the same instant: a rollback starting is not its own restore.
        events = sorted([(f.at, 0) for f in failures if f.pipeline == pipeline]
                        + [(r.at, 1) for r in restores if r.pipeline == pipeline])
        since = None
        for at, is_restore in events:
            if not is_restore and since is None:
                since = at
            elif is_restore and since is not None:
                if start <= since <= end:
                    restore_times.append((at - since).total_seconds())
                since = None
        if since is not None and start <= since <= end:
            still_open += 1

    days = _days(start, end)
    return {
        "deployments": len(in_range),
        "deployment_frequency_per_day": round(len(in_range) / days, 4),
        "lead_time_seconds": _summary([d.lead_seconds for d in in_range if d.lead_seconds is not None]),
        "change_failure_rate": round(len(failed) / len(in_range), 4) if in_range else None,
        "failed_deployments": failed,
        "time_to_restore_seconds": _summary(restore_times) | {"open": still_open},
    }


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week that holds `moment`."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def weekly(executions: list[dict[str, Any]], *, start: datetime, end: datetime,
           window_hours: float = 24.0) -> list[dict[str, Any]]:
    """The four figures per ISO week (Monday 00:00 UTC to the next), for every week that overlaps
    [start, end], oldest first, with the same definitions as `dora`. A week that `end` cuts short is
    computed up to `end` (`partial`); a deployment's failure may fall in the next week and still counts
    against the week it was deployed in."""
    deployments, failures, restores = _points(executions)
    weeks, week = [], week_start(start)
    while week <= end:
        until = min(week + timedelta(days=7) - timedelta(microseconds=1), end)
        since = max(week, start)
        figures = _figures(deployments, failures, restores, start=since, end=until, window_hours=window_hours)
        iso = week.isocalendar()
        weeks.append({"week": f"{iso.year}-W{iso.week:02d}", "from": clock.iso(since), "until": clock.iso(until),
                      "partial": since > week or until < week + timedelta(days=7) - timedelta(microseconds=1)}
                     | figures)
        week += timedelta(days=7)
    return weeks
