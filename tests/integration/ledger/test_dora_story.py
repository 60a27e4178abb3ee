"""DORA on a story with known truth: every figure of week 2026-W48 equals the one computed by hand.

The story is the demo (events/scenarios/demo.json) and, around it, more of the week's production deployments,
each fed in as CodePipeline's events through the routes template.yaml declares:

payments-api (production stage Deploy-Prod)
  P1   Tue 24 10:00  commit p1, authored 08:00                           ok                      lead 7200
  P2   Tue 24 14:00  commit p2: Deploy-Prod FAILED                        production_stage_failed
  P3   Tue 24 15:00  commit p2 again (a retry on the same revision)       ok, restores P2 (3600)  lead 10800
  P4   Wed 25 10:00  commit p4, authored 09:00                            reverted by P5          lead 3600
  P5   Wed 25 12:00  'Revert "..."' / 'This reverts commit <p4>'          ok, restores P4 (7200)  lead 1800
  P6   Thu 26 10:00  commit p6, authored 09:00                            hotfixed by P7          lead 3600
  P7   Thu 26 11:00  branch hotfix/refund-timeout, authored 10:30         ok, restores P6 (3600)  lead 1800
  D    Fri 27 17:52  the demo's release (no stage events: its success)    ok                      lead 30260
  P8   Sat 28 10:00  commit p8, authored 09:00                            rolled back by CodePipeline  lead 3600
  R1   Sat 28 11:00-11:10  ManualRollback to D: a restore (4200 after P8's end), not a deployment
checkout-api (production stage Deploy)
  A01  Fri 27 18:12  the demo's first release                            ok                      lead 900
  A02  Fri 27 19:12  the demo's second release                           rolled back by Warden: the alarm at
                     19:32, its rollback execution succeeded 19:39 (420)                         lead 900
  C3   Sat 28 09:00  commit c3: Deploy FAILED (CodeDeploy rolled its deployment back, so CodePipeline's
                     deploy action and the stage failed)                 production_stage_failed
  C4   Sat 28 09:30  commit c3 again (a retry)                            ok, restores C3 (1800)  lead 3600

By hand, week 2026-W48:
  payments-api  9 deployments, 4 failed (4/9), lead p50 3600 p90 30260, restore p50 3900 p90 7200, 0 open
  checkout-api  4 deployments, 2 failed (2/4), lead p50 900 p90 3600, restore p50 1110 p90 1800, 0 open
  all          13 deployments, 6 failed (6/13), 13/7 per day, lead p50 3600 p90 10800, restore p50 3600 p90 7200
(p50: the median, the middle two averaged; p90: nearest rank.)
"""

from __future__ import annotations

import copy
import uuid

import pytest

from tests.helpers import DEMO, EVENTS
from warden.ledger.dora import dora, explain, parse_period
from warden.ledger.view import LedgerReader
from warden_local.replay import replay

ACCOUNT = "111122223333"
PIPELINE_EVENT = "CodePipeline Pipeline Execution State Change"
STAGE_EVENT = "CodePipeline Stage Execution State Change"
DEMO_RELEASE, A02 = "2a9d7b63-8e2f-4d66-8b22-4d9e3c8f1b02", "3c59dc04-8c6e-4b5a-9d1f-000000000a02"
A01, WARDEN_ROLLBACK = "3c59dc04-8c6e-4b5a-9d1f-000000000a01", "7ef29902-5744-597c-9968-daa7f9e549c5"
SHA = {name: (name * 20)[:40] for name in ("p1", "p2", "p4", "p5", "p6", "p7", "p8", "c3")}
WEEK = "2026-W48"


def t(day: int, hhmm: str) -> str:
    return f"2026-11-{day:02d}T{hhmm}:00Z"


def _event(kind: str, pipeline: str, execution: str, state: str, when: str, **detail) -> dict:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": kind, "source": "aws.codepipeline",
            "account": ACCOUNT, "time": when, "region": "us-east-1",
            "resources": [f"arn:aws:codepipeline:us-east-1:{ACCOUNT}:{pipeline}"],
            "detail": {"pipeline": pipeline, "execution-id": execution, "state": state, "version": 1,
                       "pipeline-execution-attempt": 1, **detail}}


def release(pipeline: str, stage: str, execution: str, day: int, start: str, end: str, *, sha: str = "",
            authored: str = "", outcome: str = "SUCCEEDED", message: str = "Change", branch: str = "main",
            rollback_to: str | None = None) -> list[dict]:
    """A production deployment's events: started, its production stage, its end."""
    if rollback_to:
        facts = {"execution-type": "ROLLBACK", "execution-trigger": {"trigger-type": "ManualRollback"},
                 "rollback-metadata": {"rollback-target-pipeline-execution-id": rollback_to}}
    else:
        facts = {"execution-trigger": {
            "trigger-type": "WebhookV2", "commit-id": sha, "commit-message": message, "branch-name": branch,
            "author-display-name": "Dev", "author-date": t(day, authored), "provider-type": "GitHub",
            "full-repository-name": f"example-org/{pipeline}"}}
    return [_event(PIPELINE_EVENT, pipeline, execution, "STARTED", t(day, start), **facts),
            _event(STAGE_EVENT, pipeline, execution, "STARTED", t(day, start), stage=stage),
            _event(STAGE_EVENT, pipeline, execution, outcome, t(day, end), stage=stage),
            _event(PIPELINE_EVENT, pipeline, execution, outcome, t(day, end)[:-3] + "05Z", **facts)]


def story_events() -> list[dict]:
    pay, prod = "payments-api", "Deploy-Prod"
    return [
        *release(pay, prod, "p1", 24, "09:50", "10:00", sha=SHA["p1"], authored="08:00"),
        *release(pay, prod, "p2", 24, "13:50", "14:00", sha=SHA["p2"], authored="12:00", outcome="FAILED"),
        *release(pay, prod, "p3", 24, "14:50", "15:00", sha=SHA["p2"], authored="12:00"),
        *release(pay, prod, "p4", 25, "09:50", "10:00", sha=SHA["p4"], authored="09:00"),
        *release(pay, prod, "p5", 25, "11:50", "12:00", sha=SHA["p5"], authored="11:30",
                 message=f'Revert "Cache refunds"\n\nThis reverts commit {SHA["p4"]}.'),
        *release(pay, prod, "p6", 26, "09:50", "10:00", sha=SHA["p6"], authored="09:00"),
        *release(pay, prod, "p7", 26, "10:50", "11:00", sha=SHA["p7"], authored="10:30",
                 branch="hotfix/refund-timeout", message="Raise the refund timeout"),
        *release("checkout-api", "Deploy", "c3", 28, "08:50", "09:00", sha=SHA["c3"], authored="08:30",
                 outcome="FAILED"),
        *release("checkout-api", "Deploy", "c4", 28, "09:20", "09:30", sha=SHA["c3"], authored="08:30"),
        *release(pay, prod, "p8", 28, "09:50", "10:00", sha=SHA["p8"], authored="09:00"),
        *release(pay, prod, "r1", 28, "11:00", "11:10", rollback_to=DEMO_RELEASE),
    ]


def story() -> dict:
    doc = copy.deepcopy(DEMO)
    for step in doc["steps"]:  # the demo names event files relative to itself
        if isinstance(step.get("event"), str):
            step["event"] = str((EVENTS / "scenarios" / step["event"]).resolve())
    doc["steps"] += [{"at": e["time"], "event": e} for e in story_events()]
    doc["steps"].sort(key=lambda s: s["at"])
    return doc


@pytest.fixture(scope="module")
def records(story_path):
    from warden_local.world import SLACK_APP, World

    with World(parameters={"SlackSecretArn": SLACK_APP}) as world:  # the demo's approval is decided in Slack
        replay([story_path], world=world)
        reader = LedgerReader(world.client("dynamodb"), world.physical["LedgerTable"]["TableName"], ACCOUNT)
        start, end, _ = parse_period(WEEK)
        yield reader.for_dora(start, end).items


def test_every_figure_of_the_week_equals_the_hand_computed_truth(records):
    # Given the story's week, When its figures are computed
    start, end, _ = parse_period(WEEK)
    week = dora(records, start=start, end=end, window_hours=24)
    pay, checkout = week["pipelines"]["payments-api"], week["pipelines"]["checkout-api"]
    # Then each service's and the overall figures are the hand-computed ones, counts included
    assert (pay["deployments"], pay["succeeded"], pay["failed"], pay["change_failure_rate"]) == (9, 8, 4, 0.4444)
    assert sorted(pay["failed_deployments"]) == ["p2", "p4", "p6", "p8"]
    assert pay["failures_by_cause"] == {"rolled_back:codepipeline": 1, "production_stage_failed": 1,
                                        "reverted": 1, "hotfixed": 1}
    assert pay["lead_time_seconds"] == {"count": 8, "missing": 0, "p50": 3600, "p90": 30260}
    assert pay["time_to_restore_seconds"] == {"count": 4, "open": 0, "p50": 3900, "p90": 7200}
    assert (checkout["deployments"], checkout["failed"], checkout["change_failure_rate"]) == (4, 2, 0.5)
    assert sorted(checkout["failed_deployments"]) == sorted([A02, "c3"])
    assert checkout["failures_by_cause"] == {"rolled_back:warden": 1, "production_stage_failed": 1}
    assert checkout["lead_time_seconds"] == {"count": 3, "missing": 0, "p50": 900, "p90": 3600}
    assert checkout["time_to_restore_seconds"] == {"count": 2, "open": 0, "p50": 1110, "p90": 1800}
    assert (week["deployments"], week["failed"], week["change_failure_rate"]) == (13, 6, 0.4615)
    assert week["deployment_frequency_per_day"] == round(13 / 7, 4)
    assert week["lead_time_seconds"] == {"count": 11, "missing": 0, "p50": 3600, "p90": 10800}
    assert week["time_to_restore_seconds"] == {"count": 6, "open": 0, "p50": 3600, "p90": 7200}
    assert week["bands"] == {"deployment_frequency": "elite", "lead_time": "elite", "change_failure_rate": "low",
                             "time_to_restore": "high"}
    assert week["unattributed_rollbacks"] == []


def test_explain_lists_the_deployments_behind_each_figure(records):
    start, end, _ = parse_period(WEEK)
    shown = explain(records, service="payments-api", start=start, end=end, window_hours=24)
    rows = {d["execution_id"]: d for d in shown["deployments"]}
    assert list(rows) == ["p1", "p2", "p3", "p4", "p5", "p6", "p7", DEMO_RELEASE, "p8"]
    failures = {eid: (d["failure"]["cause"], d["failure"]["evidence"], d["failure"]["restored_by"],
                      d["failure"]["time_to_restore_seconds"]) for eid, d in rows.items() if "failure" in d}
    assert failures == {"p2": ("production_stage_failed", None, "p3", 3600),
                        "p4": ("reverted", "p5", "p5", 7200),
                        "p6": ("hotfixed", "p7", "p7", 3600),
                        "p8": ("rolled_back:codepipeline", "r1", "r1", 4200)}
    assert [r["execution_id"] for r in shown["rollbacks"]] == ["r1"]
    checkout = explain(records, service="checkout-api", start=start, end=end, window_hours=24)
    a02 = next(d for d in checkout["deployments"] if d["execution_id"] == A02)
    assert (a02["failure"]["cause"], a02["failure"]["since"], a02["failure"]["restored_by"],
            a02["failure"]["time_to_restore_seconds"]) == ("rolled_back:warden", "2026-11-27T19:32:00Z",
                                                           WARDEN_ROLLBACK, 420)


def test_cli_shows_per_service_rows_and_explains_a_week(warden_cli, story_path):
    run = warden_cli("ledger", "dora", "--explain", "payments-api", "--week", WEEK, "--replay", story_path)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("payments-api, 2026-11-23T00:00:00Z .. 2026-11-30T00:00:00Z")
    p4 = next(line for line in lines if line.startswith("2026-11-25T10:00:00Z"))
    assert p4.split()[1:3] == ["p4", "SUCCEEDED"] and "reverted" in p4 and "p5" in p4
    assert "deployments 9 (8 succeeded); change failure 4/9" in run.stdout
    table = warden_cli("ledger", "dora", "--week", WEEK, "--replay", story_path).stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in table[2:5]}
    assert rows["payments-api"][1] == "9" and "44% (4/9)" in " ".join(rows["payments-api"])
    assert rows["checkout-api"][1] == "4" and "50% (2/4)" in " ".join(rows["checkout-api"])
    assert table[4].startswith("(all services)") and "46% (6/13)" in table[4] and table[4].endswith("E/E/L/H")
    assert max(len(line) for line in table) <= 100 and any(line.startswith("BANDS: ") for line in table)
    bad = warden_cli("ledger", "dora", "--explain", "payments-api", "--week", "2026-48")
    assert bad.returncode == 2 and "not a week like 2026-W48" in bad.stderr
