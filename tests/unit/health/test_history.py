"""Pipeline health against its own history (warden.health.history): baselines without approval waits, a
sustained slowdown only after k runs over the bar (and over once one run is back under it), a stuck stage by
its history's maximum or the ceiling, flaky stages by retries and re-runs of the same revision."""

from __future__ import annotations

from datetime import timedelta

from warden.core import clock
from warden.health.history import WHOLE, HealthRules, flaky, runs, slowdowns, stuck, summary, weekly_flaky

RULES = HealthRules(window=20, min_samples=5, k=3, factor=1.5, stuck_factor=2.0, stuck_ceiling=timedelta(hours=6))
BASE = clock.parse_iso("2026-11-23T08:00:00Z")


def iso(minutes: float) -> str:
    return clock.iso(BASE + timedelta(minutes=minutes))


def execution(n: int, build_minutes: float, *, status: str = "SUCCEEDED", commit: str | None = None,
              approval_wait: float = 0, attempt: int = 1, pipeline: str = "payments-api") -> dict:
    """Execution n starts at n hours: Build for `build_minutes`, then Approve (waiting `approval_wait`)."""
    start = n * 60
    build_end = start + build_minutes
    approve_end = build_end + 1 + approval_wait
    stages = {"Build": {"status": status, "started_at": iso(start), "ended_at": iso(build_end)}}
    if attempt > 1:
        stages["Build"]["attempt"] = attempt
    approvals = []
    if status == "SUCCEEDED":
        stages["Approve"] = {"status": "SUCCEEDED", "started_at": iso(build_end), "ended_at": iso(approve_end)}
        if approval_wait:
            approvals.append({"stage": "Approve", "action": "Manual", "status": "Succeeded",
                              "waited_since": iso(build_end + 0.5), "at": iso(build_end + 0.5 + approval_wait)})
    return {"pipeline": pipeline, "execution_id": f"e{n:02d}", "status": status, "execution_type": "STANDARD",
            "started_at": iso(start), "ended_at": iso(approve_end if status == "SUCCEEDED" else build_end),
            "stages": stages, "approvals": approvals, "commit_id": commit}


def test_approval_waits_never_count_as_time():
    seconds = {r.stage: r.seconds for r in runs([execution(1, 10, approval_wait=240)])}
    # Approve: 4 h 1 min in the stage, 4 h of it waiting; the execution: 4 h 11 min, 4 h of it waiting.
    assert seconds == {"Build": 600, "Approve": 60, WHOLE: 660}


def test_the_baseline_is_p50_p95_and_max_of_the_rolling_window_with_its_count():
    records = [execution(n, 10 + n) for n in range(30)]  # Build: 10..39 minutes; the window: the newest 20
    build = next(r for r in summary(records, RULES) if r["stage"] == "Build")
    assert build == {"pipeline": "payments-api", "stage": "Build", "runs": 20, "p50_seconds": 29.5 * 60,
                     "p95_seconds": 38 * 60, "max_seconds": 39 * 60}


def test_one_slow_run_is_not_a_slowdown_k_in_a_row_are_and_one_back_under_the_bar_ends_it():
    usual = [execution(n, 10) for n in range(10)]  # p95 10 min: the bar is 15 min
    assert slowdowns([*usual, execution(10, 40)], RULES) == []
    assert slowdowns([*usual, execution(10, 40), execution(11, 16)], RULES) == []  # two are not three
    streak = [execution(10, 40), execution(11, 16), execution(12, 20)]
    [slow] = [s for s in slowdowns([*usual, *streak], RULES) if s.stage == "Build"]
    assert [r.execution_id for r in slow.streak] == ["e10", "e11", "e12"]
    assert (slow.bar_seconds, slow.baseline.p95, slow.baseline.count) == (900, 600, 10)
    assert "the last 3 runs took 40 min, 16 min, 20 min, each over 15 min" in slow.describe()
    # Recovered: the newest run is back under the bar (the streak never raised its own bar).
    assert [s for s in slowdowns([*usual, *streak, execution(13, 11)], RULES) if s.stage == "Build"] == []


def test_a_long_approval_wait_is_never_a_slowdown():
    records = [execution(n, 10) for n in range(10)] + [execution(n, 10, approval_wait=600) for n in range(10, 13)]
    assert slowdowns(records, RULES) == []


def test_too_little_history_calls_nothing_slow():
    assert slowdowns([execution(0, 10), execution(1, 50), execution(2, 50), execution(3, 50)], RULES) == []


def test_a_stage_running_past_its_historys_maximum_times_the_factor_is_stuck():
    history = [execution(n, 10 + n % 3) for n in range(10)]  # Build max 12 min: stuck after 24 min
    running = {"pipeline": "payments-api", "execution_id": "now", "stages": {
        "Build": {"status": "STARTED", "started_at": iso(20 * 60)}}, "approvals": []}
    assert stuck(running, history, BASE + timedelta(minutes=20 * 60 + 23), RULES) is None
    found = stuck(running, history, BASE + timedelta(minutes=20 * 60 + 25), RULES)
    assert found is not None and (found["stage"], found["limit_seconds"], found["history_max_seconds"]) == (
        "Build", 24 * 60, 12 * 60) and found["running_seconds"] == 25 * 60


def test_without_history_only_the_ceiling_calls_a_stage_stuck():
    running = {"pipeline": "new-api", "execution_id": "now", "stages": {
        "Deploy": {"status": "STARTED", "started_at": iso(0)}}, "approvals": []}
    assert stuck(running, [], BASE + timedelta(hours=5, minutes=59), RULES) is None
    assert stuck(running, [], BASE + timedelta(hours=6, minutes=1), RULES)["limit_seconds"] == 6 * 3600


def test_flaky_stages_failed_then_succeeded_for_the_same_revision_counted_per_week():
    records = [
        execution(1, 5, status="FAILED", commit="a" * 40), execution(2, 5, commit="a" * 40),  # re-run: flaky
        execution(3, 5, status="FAILED", commit="b" * 40), execution(4, 5, commit="c" * 40),  # new commit: not
        execution(5, 5, commit="d" * 40, attempt=2),  # retried inside the execution: flaky
    ]
    found = flaky(records)
    assert [(f["execution_id"], f["stage"], f["how"]) for f in found] == [
        ("e02", "Build", "failed in e01, succeeded when run again"), ("e05", "Build", "retried in the execution")]
    assert weekly_flaky(records) == {"2026-W48": {"payments-api Build": 2}}
