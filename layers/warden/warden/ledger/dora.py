"""DORA figures from ledger execution records (warden.ledger.view.execution_view), per service and overall.

Which production deployments exist, which failed (one cause each, once) and what restored them is
warden.ledger.changes; this module counts them over a period, always with the counts behind each figure:
- *deployments*: production deployments (rollback executions apart) whose production stage ended in the
  period; *deployment frequency* is their number per day of the period;
- *change failure rate*: failed / deployments, of the same deployments (so never above 100 %); a failure is
  counted in the period of the deployment that failed, whenever the evidence came;
- *lead time for changes*: commit author date -> production end, of the deployments that succeeded (those
  without an author date are counted as `missing`, never dropped silently);
- *time to restore*: of the period's failures, from the alarm (or the failed deployment's end) to the next
  healthy production deployment of the same service; those not restored yet are `open`. So restored + open
  = failed, in every row: the figures count the same failures.
p50 is the median (the middle two averaged), p90 the nearest rank. A period is [from, until); a day, week
(ISO, Monday) or month that the report's range cuts short is `partial`, and headline figures use complete
periods only. "Service" is the pipeline ref (its name, or `<account>/<name>` for a workload account's).

Bands (elite / high / medium / low) follow the software delivery performance clusters of the 2023 Accelerate
State of DevOps Report (DORA, Google Cloud). The report gives ranges; where two clusters share a range, the
lower one starts where the higher one ends. BANDS holds the edges used.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from warden.core import clock
from warden.ledger.changes import CAUSES, Changes, Deployment, Rules, classify

BANDS_SOURCE = "Accelerate State of DevOps Report 2023 (DORA, Google Cloud), software delivery performance clusters"
DAY = 86400.0
# (figure, better when, [(band, edge)]): a value at or better than an edge is in that band; else "low".
BANDS: dict[str, tuple[str, list[tuple[str, float]]]] = {
    # elite: on demand (several a day); high: daily to weekly; medium: weekly to monthly.
    "deployment_frequency_per_day": ("higher", [("elite", 1.0), ("high", 1 / 7), ("medium", 1 / 30)]),
    # elite: under a day; high: a day to a week; medium: a week to a month.
    "lead_time_p50_seconds": ("lower", [("elite", DAY), ("high", 7 * DAY), ("medium", 30 * DAY)]),
    # the clusters' rates: 5 %, 10 %, 15 % (low: 64 %).
    "change_failure_rate": ("lower", [("elite", 0.05), ("high", 0.10), ("medium", 0.15)]),
    # failed deployment recovery time: under an hour; under a day; a day to a week.
    "time_to_restore_p50_seconds": ("lower", [("elite", 3600.0), ("high", DAY), ("medium", 7 * DAY)]),
}


def band(figure: str, value: float | None) -> str | None:
    if value is None:
        return None
    better, edges = BANDS[figure]
    for name, edge in edges:
        # A time under its edge, a rate at or under, a frequency at or over.
        if (better == "higher" and value >= edge) or (better == "lower" and (
                value <= edge if figure == "change_failure_rate" else value < edge)):
            return name
    return "low"


def nearest_rank(values: list[float], percent: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def _summary(values: list[float], **counts: int) -> dict[str, Any]:
    return {"count": len(values), **counts, "p50": statistics.median(values) if values else None,
            "p90": nearest_rank(values, 90)}


def _days(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds() / DAY, 1e-9)


def figures(deployments: list[Deployment], *, start: datetime, end: datetime, detail: bool = False) -> dict[str, Any]:
    """The figures of `deployments` (already those of the period and the row) over [start, end); with
    `detail`, also the deployments themselves (`behind`), as `explain` lists them."""
    failed = [d for d in deployments if d.failure is not None]
    succeeded = [d for d in deployments if d.succeeded]
    leads = [d.lead_seconds for d in succeeded if d.lead_seconds is not None]
    restores = [d.failure.restore_seconds for d in failed if d.failure and d.failure.restore_seconds is not None]
    rate = round(len(failed) / len(deployments), 4) if deployments else None
    per_day = round(len(deployments) / _days(start, end), 4)
    lead = _summary(leads, missing=len(succeeded) - len(leads))
    restore = _summary(restores, open=len(failed) - len(restores))
    causes = Counter(d.failure.cause for d in failed if d.failure)
    return {
        "deployments": len(deployments), "succeeded": len(succeeded), "failed": len(failed),
        "deployment_frequency_per_day": per_day, "lead_time_seconds": lead, "change_failure_rate": rate,
        "failed_deployments": [d.execution_id for d in failed],
        "failures_by_cause": {c: causes[c] for c in CAUSES if causes[c]},
        "time_to_restore_seconds": restore,
        "bands": {"deployment_frequency": band("deployment_frequency_per_day", per_day if deployments else None),
                  "lead_time": band("lead_time_p50_seconds", lead["p50"]),
                  "change_failure_rate": band("change_failure_rate", rate),
                  "time_to_restore": band("time_to_restore_p50_seconds", restore["p50"])},
    } | ({"behind": [deployment_row(d) for d in deployments]} if detail else {})


def _rows(changes: Changes, start: datetime, end: datetime, detail: bool = False) -> dict[str, Any]:
    """Overall figures at the top level, and one row per service that deployed in [start, end)."""
    inside = [d for d in changes.deployments if start <= d.ended < end]
    result = figures(inside, start=start, end=end)
    result["pipelines"] = {ref: figures([d for d in inside if d.service == ref], start=start, end=end,
                                        detail=detail)
                           for ref in sorted({d.service for d in inside})}
    return result


def _rules(rules: Rules | None, window_hours: float | None) -> Rules:
    rules = rules or Rules()
    return Rules(timedelta(hours=window_hours), rules.hotfix_branches, rules.hotfix_messages) if window_hours else rules


def dora(executions: list[dict[str, Any]], *, start: datetime, end: datetime, window_hours: float | None = None,
         rules: Rules | None = None) -> dict[str, Any]:
    """The figures over [start, end): overall, and under `pipelines` per service."""
    rules = _rules(rules, window_hours)
    changes = classify(executions, rules)
    return {"from": clock.iso(start), "until": clock.iso(end), "days": round(_days(start, end), 3),
            "window_hours": rules.window.total_seconds() / 3600, "bands_source": BANDS_SOURCE,
            **_rows(changes, start, end), "unattributed_rollbacks": _unattributed(changes, start, end)}


def _unattributed(changes: Changes, start: datetime, end: datetime) -> list[dict[str, Any]]:
    ended = {r.execution_id: r.ended for r in changes.rollbacks}
    return [u for u in changes.unattributed if start <= ended.get(u["rollback"], start) < end]


# -- periods -------------------------------------------------------------------------------------------
def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week that holds `moment`."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def period_start(moment: datetime, by: str) -> datetime:
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if by == "week":
        return week_start(day)
    if by == "month":
        return day.replace(day=1)
    return day


def next_period(moment: datetime, by: str) -> datetime:
    if by == "week":
        return moment + timedelta(days=7)
    if by == "month":
        return (moment + timedelta(days=32)).replace(day=1)
    return moment + timedelta(days=1)


def period_name(moment: datetime, by: str) -> str:
    if by == "week":
        iso = moment.isocalendar()
        return f"{iso.year}-W{iso.week:02d}"
    return f"{moment:%Y-%m}" if by == "month" else f"{moment:%Y-%m-%d}"


def parse_period(text: str) -> tuple[datetime, datetime, str]:
    """`2026-W48`, `2026-11` or `2026-11-27` -> (start, end, by). ValueError otherwise."""
    text = text.strip()
    if "-W" in text:
        start = datetime.fromisocalendar(int(text[:4]), int(text.split("-W", 1)[1]), 1).replace(tzinfo=UTC)
        by = "week"
    elif len(text) == 7:
        start, by = datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC), "month"
    else:
        start, by = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC), "day"
    return start, next_period(start, by), by


def periods(executions: list[dict[str, Any]], *, start: datetime, end: datetime, by: str = "week",
            window_hours: float | None = None, rules: Rules | None = None,
            detail: bool = False) -> list[dict[str, Any]]:
    """The figures per day, ISO week (Monday 00:00 UTC to the next) or calendar month, for every period that
    overlaps [start, end), oldest first. A period the range cuts short is computed over its part in the range
    and marked `partial`; a deployment's failure may come in a later period and still counts in its own."""
    changes = classify(executions, _rules(rules, window_hours))
    rows, at = [], period_start(start, by)
    while at < end:
        following = next_period(at, by)
        since, until = max(at, start), min(following, end)
        rows.append({by: period_name(at, by), "from": clock.iso(since), "until": clock.iso(until),
                     "partial": since > at or until < following} | _rows(changes, since, until, detail))
        at = following
    return rows


def weekly(executions: list[dict[str, Any]], *, start: datetime, end: datetime, window_hours: float | None = None,
           rules: Rules | None = None) -> list[dict[str, Any]]:
    return periods(executions, start=start, end=end, by="week", window_hours=window_hours, rules=rules)


def headline(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The latest complete period (a partial one never heads a report), or None."""
    return next((r for r in reversed(rows) if not r["partial"]), None)


# -- explain -------------------------------------------------------------------------------------------
def deployment_row(d: Deployment) -> dict[str, Any]:
    """A deployment as the figures use it: outcome, lead time, and its failure (cause, evidence, restore)."""
    row: dict[str, Any] = {"execution_id": d.execution_id, "ended_at": clock.iso(d.ended),
                           "outcome": "SUCCEEDED" if d.succeeded else "FAILED", "commit_id": d.commit_id,
                           "lead_time_seconds": d.lead_seconds}
    if d.failure:
        f = d.failure
        row["failure"] = {"cause": f.cause, "detail": f.detail, "since": clock.iso(f.since),
                          "evidence": f.evidence, "also": f.also,
                          "restored_by": f.restored_by, "restored_at": f.restored_at and clock.iso(f.restored_at),
                          "time_to_restore_seconds": f.restore_seconds}
    return row


def explain(executions: list[dict[str, Any]], *, service: str, start: datetime, end: datetime,
            window_hours: float | None = None, rules: Rules | None = None) -> dict[str, Any]:
    """The deployments behind a service's figures over [start, end): each with its outcome, lead time and
    failure (cause, evidence, restore); the rollbacks that restored; the figures they make."""
    changes = classify(executions, _rules(rules, window_hours))
    mine = [d for d in changes.deployments if d.service == service and start <= d.ended < end]
    return {"service": service, "from": clock.iso(start), "until": clock.iso(end),
            "figures": figures(mine, start=start, end=end), "deployments": [deployment_row(d) for d in mine],
            "rollbacks": [{"execution_id": r.execution_id, "ended_at": clock.iso(r.ended)}
                          for r in changes.rollbacks if r.service == service and start <= r.ended < end]}
