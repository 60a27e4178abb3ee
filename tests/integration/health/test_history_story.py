"""`warden ledger health` on a story with known truth: each pipeline and stage against its own history.

payments-api, execution hNN starts at 2026-11-23 00:00 + NN x 6 h; Build, then Deploy-Prod (5 min each run):
  h00-h06  Build 10 min                                     the usual (executions 15 min)
  h07      Build 10 min; Deploy-Prod fails, retried in the execution (attempt 2) and succeeds: flaky
  h08      Build 10 min; Deploy-Prod fails for commit X
  h09      commit X again: Deploy-Prod succeeds: flaky (failed in h08, succeeded when run again)
  h10-h12  Build 40 min: three in a row over p95 (10 min) x 1.5 = 15 min: a sustained slowdown of Build, and
           of the whole execution (45 min against a bar of p95 25 min x 1.5 = 37.5 min, h07's retry included)
  h13      Build started at 06:00 on the 26th, still running at 09:00: 3 h against its history's maximum
           (40 min) x 2 = 80 min: stuck
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.helpers import write_scenario
from tests.integration.ledger.test_dora_story import PIPELINE_EVENT, STAGE_EVENT, _event
from warden.core import clock
from warden_local.replay import replay

PIPELINE = "payments-api"
T0 = clock.parse_iso("2026-11-23T00:00:00Z")


def _t(n: int, minutes: float) -> str:
    return clock.iso(T0 + timedelta(hours=6 * n, minutes=minutes))


def execution(n: int, build: float = 10, *, fail_prod: bool = False, retry_prod: bool = False,
              commit: str | None = None, running: bool = False) -> list[dict]:
    eid, sha = f"h{n:02d}", commit or f"{n:02d}" * 20
    trigger = {"execution-trigger": {"trigger-type": "WebhookV2", "commit-id": sha, "author-date": _t(n, -5),
                                     "author-display-name": "Dev", "branch-name": "main"}}
    events = [_event(PIPELINE_EVENT, PIPELINE, eid, "STARTED", _t(n, 0), **trigger),
              _event(STAGE_EVENT, PIPELINE, eid, "STARTED", _t(n, 0), stage="Build")]
    if running:
        return events
    events += [_event(STAGE_EVENT, PIPELINE, eid, "SUCCEEDED", _t(n, build), stage="Build"),
               _event(STAGE_EVENT, PIPELINE, eid, "STARTED", _t(n, build), stage="Deploy-Prod")]
    if fail_prod or retry_prod:
        events += [_event(STAGE_EVENT, PIPELINE, eid, "FAILED", _t(n, build + 5), stage="Deploy-Prod"),
                   _event(PIPELINE_EVENT, PIPELINE, eid, "FAILED", _t(n, build + 5), **trigger)]
    if retry_prod:
        again = {"pipeline-execution-attempt": 2}
        events += [_event(STAGE_EVENT, PIPELINE, eid, "STARTED", _t(n, build + 10), stage="Deploy-Prod"),
                   _event(STAGE_EVENT, PIPELINE, eid, "SUCCEEDED", _t(n, build + 15), stage="Deploy-Prod"),
                   _event(PIPELINE_EVENT, PIPELINE, eid, "SUCCEEDED", _t(n, build + 15), **trigger)]
        for event in events[-3:]:
            event["detail"] |= again
    elif not fail_prod:
        events += [_event(STAGE_EVENT, PIPELINE, eid, "SUCCEEDED", _t(n, build + 5), stage="Deploy-Prod"),
                   _event(PIPELINE_EVENT, PIPELINE, eid, "SUCCEEDED", _t(n, build + 5), **trigger)]
    return events


def story() -> list[dict]:
    x = "ab" * 20
    events = [e for n in range(7) for e in execution(n)]
    events += execution(7, retry_prod=True) + execution(8, fail_prod=True, commit=x) + execution(9, commit=x)
    events += [e for n in (10, 11, 12) for e in execution(n, build=40)]
    events += execution(13, running=True)
    return [{"at": e["time"], "event": e} for e in events]


def test_health_finds_the_slowdown_the_stuck_stage_and_the_flaky_ones_and_nothing_else(warden_cli, tmp_path):
    scenario = write_scenario(tmp_path, story())
    now = _t(13, 180)
    run = warden_cli("ledger", "health", "--json", "--until", now, "--replay", scenario)
    assert run.returncode == 0, run.stderr
    health = json.loads(run.stdout)
    build = next(b for b in health["baselines"] if b["stage"] == "Build")
    assert (build["runs"], build["p50_seconds"], build["max_seconds"]) == (13, 600, 2400)
    slow = {(s["pipeline"], s["stage"]): s for s in health["slowdowns"]}
    assert sorted(slow) == [(PIPELINE, "(execution)"), (PIPELINE, "Build")]
    assert [r["execution_id"] for r in slow[(PIPELINE, "Build")]["streak"]] == ["h10", "h11", "h12"]
    assert (slow[(PIPELINE, "Build")]["bar_seconds"], slow[(PIPELINE, "Build")]["baseline_runs"]) == (900, 10)
    assert slow[(PIPELINE, "(execution)")]["bar_seconds"] == 1500 * 1.5
    assert [(s["execution_id"], s["stage"], s["running_seconds"], s["limit_seconds"]) for s in health["stuck"]] == [
        ("h13", "Build", 3 * 3600, 4800)]
    assert [(f["execution_id"], f["stage"]) for f in health["flaky"]] == [
        ("h07", "Deploy-Prod"), ("h09", "Deploy-Prod")]
    assert health["flaky_by_week"] == {"2026-W48": {"payments-api Deploy-Prod": 2}}
    table = warden_cli("ledger", "health", "--until", now, "--replay", scenario).stdout
    assert "payments-api Build: the last 3 runs took 40 min, 40 min, 40 min, each over 15 min" in table
    assert "payments-api Build in h13: running 3h00m, limit 1h20m" in table
    assert "2026-W48: payments-api Deploy-Prod x2" in table


def history_messages(step: dict) -> list[tuple[str, str]]:
    return [(e["topic"], e["subject"]) for e in step["effects"] if e["kind"] == "message"
            and e["event"] == "pipeline.slow" and "still running" not in e["subject"]]


def test_the_schedule_tells_a_slowdown_once_pages_a_stuck_stage_by_policy_and_tells_the_recovery(tmp_path):
    # Given the story, and sweeps of the ApprovalEscalator schedule: at 09:00 (h13's Build 3 h in), 09:05 (past
    # twice its 80 min limit, still) and after h14, a usual run, has ended
    sweeps = [{"at": at, "schedule": "ApprovalEscalator"} for at in (_t(13, 180), _t(13, 185))]
    after = [{"at": e["time"], "event": e} for e in execution(14)]
    after.append({"at": _t(14, 30), "schedule": "ApprovalEscalator"})
    doc = replay([write_scenario(tmp_path, [*story(), *sweeps, *after])])
    first, second, last = (s for s in doc["steps"] if s.get("routed_to") == ["ApprovalEscalator"])
    # Then the first sweep tells the team of both slowdowns and of the stuck stage, once each
    assert sorted(history_messages(first)) == [
        ("TeamTopic", "[WARNING] payments-api: (execution) is slower than its own history"),
        ("TeamTopic", "[WARNING] payments-api: Build is slower than its own history"),
        ("TeamTopic", "[WARNING] payments-api: Build looks stuck (1313131)")]
    body = next(e["body"] for e in first["effects"] if e["kind"] == "message" and "Build is slower" in e["subject"])
    assert "the last 3 runs took 40 min, 40 min, 40 min, each over 15 min" in body
    # the second pages on-call for the stage still stuck past twice its limit, and repeats nothing else
    assert history_messages(second) == [("OnCallTopic", "[HIGH] payments-api: Build looks stuck (1313131)"),
                                        ("TeamTopic", "[HIGH] payments-api: Build looks stuck (1313131)")]
    assert [e["action"] for e in second["effects"] if e["kind"] == "page"] == ["trigger"]
    # and once a usual run ends, the recovery of both is told, once
    assert sorted(history_messages(last)) == [
        ("TeamTopic", "[WARNING] payments-api: (execution) is back within its usual time"),
        ("TeamTopic", "[WARNING] payments-api: Build is back within its usual time")]


@pytest.mark.parametrize("times", [("2026-11-30T00:05:00Z", "2026-11-30T00:10:00Z"),
                                   # Monday's early sweeps all failed (before: that week's digest was lost)
                                   ("2026-11-30T09:00:00Z", "2026-12-02T15:00:00Z")])
def test_the_first_sweep_of_a_week_tells_the_previous_weeks_flaky_stages_once(tmp_path, times):
    # Given the story (two flaky runs of Deploy-Prod in week 48), and sweeps in week 49
    sweeps = [{"at": at, "schedule": "ApprovalEscalator"} for at in times]
    doc = replay([write_scenario(tmp_path, [*story(), *sweeps])])
    first, second = (s for s in doc["steps"] if s.get("routed_to") == ["ApprovalEscalator"])
    digest = [e for e in first["effects"] if e["kind"] == "message" and "Weekly digest" in e["subject"]]
    # Then the first tells the team the week's flaky stages with their counts, and the second nothing more
    assert [(e["topic"], e["subject"]) for e in digest] == [
        ("TeamTopic", "[WARNING] Weekly digest: flaky stages in 2026-W48")]
    assert "in 2026-W48: payments-api Deploy-Prod x2" in digest[0]["body"]
    assert not [e for e in second["effects"] if e["kind"] == "message" and "Weekly digest" in e["subject"]]


def test_a_stuck_executions_page_is_resolved_once_when_it_ends(tmp_path):
    # Given h13's Build paged as stuck (the sweeps at 09:00 and 09:05)
    sweeps = [{"at": at, "schedule": "ApprovalEscalator"} for at in (_t(13, 180), _t(13, 185))]
    # When h13 ends (its Build finally fails, and the execution with it), and the next sweeps run
    trigger = {"execution-trigger": {"trigger-type": "WebhookV2", "commit-id": "13" * 20, "author-date": _t(13, -5),
                                     "author-display-name": "Dev", "branch-name": "main"}}
    ended = [_event(STAGE_EVENT, PIPELINE, "h13", "FAILED", _t(13, 190), stage="Build"),
             _event(PIPELINE_EVENT, PIPELINE, "h13", "FAILED", _t(13, 190), **trigger)]
    after = [*({"at": e["time"], "event": e} for e in ended),
             *({"at": at, "schedule": "ApprovalEscalator"} for at in (_t(13, 195), _t(13, 200)))]
    doc = replay([write_scenario(tmp_path, [*story(), *sweeps, *after])])
    _, paged, resolved, later = [[(e["action"], e["dedup_key"]) for e in s["effects"] if e["kind"] == "page"]
                                 for s in doc["steps"] if s.get("routed_to") == ["ApprovalEscalator"]]
    # Then the sweep after its end resolves the page it opened, and the next one resolves nothing again
    assert paged == [("trigger", f"pipeline-warden/stuck/{PIPELINE}/h13")]
    assert resolved == [("resolve", f"pipeline-warden/stuck/{PIPELINE}/h13")]
    assert later == []
