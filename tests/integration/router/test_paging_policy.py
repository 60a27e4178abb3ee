"""One paging policy: the routing document's `paging` rules decide who is paged for every page Warden
sends (failures, rollbacks, approval tiers), an approval tier pages with low urgency outside business
hours, and the seed's execution-duration alarm leaves approval waits out and names the pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.helpers import EVENTS, SCHEMA, effects, sample
from warden_local.replay import Replayer, load, replay
from warden_local.world import SLACK_APP, World

SCENARIOS = EVENTS / "scenarios"
ESCALATION = json.loads((SCENARIOS / "approval-escalation.json").read_text())
ONLY_PROD = {"paging": [{"name": "page only for prod pipelines", "match": {"pipelines": ["*-staging"]},
                         "page": False}]}


def _inline(step: dict) -> dict:
    """A step of approval-escalation.json with its event file read in (so the scenario can move elsewhere)."""
    if isinstance(step.get("event"), str):
        return step | {"event": json.loads((SCENARIOS / step["event"]).read_text())}
    return step


def _story(tmp_path: Path, steps: list[dict], *, config: dict | None = None, rename: str | None = None) -> dict:
    doc = {"world": ESCALATION["world"], "config": config or {}, "steps": steps}
    text = json.dumps(doc)
    if rename:
        text = text.replace("payments-api", rename)
    path = tmp_path / "story.json"
    path.write_text(text)
    doc = replay([str(path)])
    jsonschema.validate(doc, SCHEMA)
    return doc


def _escalation_steps(sweep_at: str) -> list[dict]:
    """The pipeline starts, its approval waits from 09:06 (Friday 27 November); one sweep at `sweep_at`."""
    return [_inline(s) for s in ESCALATION["steps"][:3]] + [{"at": sweep_at, "schedule": "ApprovalEscalator"}]


def _failure_steps() -> list[dict]:
    failed = sample("codepipeline/action-failed-build.json")
    return [{"at": failed["time"], "event": failed}]


# -- approval tiers and business hours ----------------------------------------------------------------
def test_an_approval_tier_pages_with_low_urgency_at_3_am(tmp_path):
    # Given an approval waiting since Friday 09:06 UTC, when the 8 h tier is first due at Saturday 03:10
    doc = _story(tmp_path, _escalation_steps("2026-11-28T03:10:00Z"))
    [page] = effects(doc, "page")
    # Then on-call is paged, at a severity PagerDuty treats as low urgency, and the page says why
    assert page["action"] == "trigger" and page["severity"] == "warning"
    assert page["custom_details"]["urgency"].startswith("low (outside business hours: sat 03:10 UTC")
    # the tier's messages keep the tier's own severity
    assert {e["severity"] for e in effects(doc, "message") if e["event"] == "approval.escalated"} == {"high"}


def test_an_approval_tier_pages_with_high_urgency_within_business_hours(tmp_path):
    doc = _story(tmp_path, _escalation_steps("2026-11-27T17:10:00Z"))
    [page] = effects(doc, "page")
    assert page["severity"] == "high" and "urgency" not in page.get("custom_details", {})


def test_the_escalation_document_can_keep_off_hours_pages_urgent(tmp_path):
    config = {"escalation": {"off_hours_urgency": "high"}}
    doc = _story(tmp_path, _escalation_steps("2026-11-28T03:10:00Z"), config=config)
    [page] = effects(doc, "page")
    assert page["severity"] == "high"


def test_business_hours_are_the_documents_own(tmp_path):
    # A team in Sydney: Saturday 03:10 UTC is Saturday 14:10 there, a working day for this team
    config = {"escalation": {"business_hours": {"timezone": "Australia/Sydney",
                                                "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                                                "start": "08:00", "end": "20:00"}}}
    doc = _story(tmp_path, _escalation_steps("2026-11-28T03:10:00Z"), config=config)
    [page] = effects(doc, "page")
    assert page["severity"] == "high"


# -- one rule for every page ----------------------------------------------------------------------------
def test_page_only_for_prod_pipelines_is_one_rule_for_failures_and_approval_tiers(tmp_path):
    # Given a staging pipeline whose build fails and whose approval sits past the 8 h tier, and a routing
    # document with one paging rule
    steps = _failure_steps() + _escalation_steps("2026-11-27T17:10:00Z")
    doc = _story(tmp_path, steps, config={"routing": ONLY_PROD}, rename="payments-api-staging")
    # Then nobody is paged: not for the failure, not for the approval tier
    assert effects(doc, "page") == []
    assert not [e for e in effects(doc, "message") if e["topic"] == "OnCallTopic"]
    # and the other audiences still hear of both
    topics = {(e["event"], e["topic"]) for e in effects(doc, "message")}
    assert ("action.failed", "ChatTopic") in topics and ("approval.escalated", "TeamTopic") in topics


def test_the_same_rule_leaves_prod_pipelines_paged(tmp_path):
    steps = _failure_steps() + _escalation_steps("2026-11-27T17:10:00Z")
    doc = _story(tmp_path, steps, config={"routing": ONLY_PROD})
    assert [p["action"] for p in effects(doc, "page")] == ["trigger", "trigger"]
    assert {e["event"] for e in effects(doc, "message") if e["topic"] == "OnCallTopic"} == {
        "action.failed", "approval.escalated"}


def test_a_paging_rule_can_lower_the_urgency_of_failures(tmp_path):
    config = {"routing": {"paging": [{"name": "staging pages softly", "match": {"pipelines": ["*-staging"]},
                                      "urgency": "low"}]}}
    doc = _story(tmp_path, _failure_steps(), config=config, rename="payments-api-staging")
    [page] = effects(doc, "page")
    assert page["severity"] == "warning"
    assert page["custom_details"]["urgency"] == "low (paging rule staging pages softly)"


# -- the execution-duration alarm -----------------------------------------------------------------------
def test_the_execution_duration_alarm_leaves_approval_waits_out_and_names_the_pipeline():
    # Given the demo: payments-api ran 09:30-17:52, 8 h of which its approval waited (decided in Slack: the
    # demo's stack has a Slack app)
    with World(parameters={"SlackSecretArn": SLACK_APP}) as world:
        replayer = Replayer(world)
        scenario = load(SCENARIOS / "demo.json")
        replayer.check(scenario)
        replayer.run(scenario)
        emitted = [json.loads(line) for line in world.logs.getvalue().splitlines()
                   if line.startswith("{") and "ExecutionDurationExcludingApprovals" in line]
        alarm = world.resolve(world.template.resources["ExecutionDurationAlarm"]["Properties"])
    [approved] = [m for m in emitted if m["pipeline"] == "payments-api" and m["ExecutionDuration"] == [30120.0]]
    # Then the metric the alarm watches is its run without the wait (13 minutes), not 8 h 22 min
    assert approved["ExecutionDurationExcludingApprovals"] == [780.0]
    # and the alarm watches it per pipeline: each pipeline is a contributor the alarm names
    [query] = alarm["Metrics"]
    assert "MAX(ExecutionDurationExcludingApprovals)" in query["Expression"]
    assert "GROUP BY pipeline" in query["Expression"] and alarm["Threshold"] == 1800
