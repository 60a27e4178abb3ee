"""Approvals of a pipeline in another region than Warden's: reconciled only on CodePipeline's evidence.

Warden runs in us-east-1; payments-api lives in us-east-2 of the same account and its events are
forwarded across regions. The sweep must ask us-east-2: asking its own region (where the pipeline
does not exist) and taking "not found" for "not pending" silently dropped the approval. When
CodePipeline cannot answer, the tiers still fire and say why; only a positive answer (a final
status, another token) resolves an approval silently.
"""

import json
from pathlib import Path

import pytest

from tests.helpers import EVENTS, effects
from warden_local.replay import replay
from warden_local.world import ACCOUNT

SCENARIOS = EVENTS / "scenarios"
ELSEWHERE = "us-east-2"
PIPELINE = "payments-api"
TOKEN = "0f8d3e2a-6b1c-4d7e-9a5f-3c2b1e0d9f8a"


def escalation_steps(until: str | None = None, after: str | None = None) -> list[dict]:
    """approval-escalation.json's steps with every event inline and in us-east-2 (optionally a time slice)."""
    doc = json.loads((SCENARIOS / "approval-escalation.json").read_text())
    steps = []
    for step in doc["steps"]:
        if isinstance(step.get("event"), str):
            step["event"] = json.loads((SCENARIOS / step["event"]).read_text())
        if (until and step["at"] > until) or (after and step["at"] <= after):
            continue
        steps.append(json.loads(json.dumps(step).replace("us-east-1", ELSEWHERE)))
    return steps


def scenario(tmp_path: Path, steps: list[dict], name: str) -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"world": [], "steps": steps}))
    return str(path)


@pytest.fixture
def elsewhere(world):
    """The stack in us-east-1; payments-api created in us-east-2, as its owners would."""
    doc = json.loads((SCENARIOS / "approval-escalation.json").read_text())
    [role] = [c["params"] for c in doc["world"] if c["call"] == "iam:CreateRole"]
    [pipeline] = [c["params"]["pipeline"] for c in doc["world"] if c["call"] == "codepipeline:CreatePipeline"]
    world.client("iam").create_role(**role)
    world.pipelines = world.session.client("codepipeline", region_name=ELSEWHERE)
    world.pipelines.create_pipeline(pipeline=pipeline)
    return world


def escalations(doc: dict) -> list[tuple[str, str, str]]:
    return sorted((step["at"], e["topic"], e["body"]) for step in doc["steps"] for e in step["effects"]
                  if e["kind"] == "message" and e["event"] == "approval.escalated")


def approval_items(doc: dict) -> list[dict]:
    return [i for i in doc["tables"]["StateTable"] if i["pk"].startswith("approval#")]


def test_given_warden_in_us_east_1_when_the_pipeline_is_in_us_east_2_then_reminded_at_4h_and_escalated_at_8h(
        tmp_path, elsewhere):
    doc = replay([scenario(tmp_path, escalation_steps(), "elsewhere.json")], world=elsewhere)
    assert [(at, topic) for at, topic, _ in escalations(doc)] == [
        ("2026-11-27T13:10:00Z", "ApproversTopic"),
        ("2026-11-27T17:10:00Z", "OnCallTopic"), ("2026-11-27T17:10:00Z", "TeamTopic")]
    # CodePipeline confirmed it pending: the messages carry no doubt.
    assert not any("could not confirm" in body for _, _, body in escalations(doc))
    # (The story never ends the execution: a week on, the team also hears it is slow.)
    told_team = [e["event"] for e in effects(doc, "message", topic="TeamTopic") if e["event"] != "pipeline.slow"]
    assert told_team[-1] == "approval.approved"
    [item] = approval_items(doc)
    assert item["pk"] == f"approval#{ACCOUNT}#{ELSEWHERE}#{PIPELINE}"
    assert item["status"] == "approved" and sorted(item["fired"]) == ["escalate", "remind"]


def test_given_the_pipeline_was_deleted_when_tiers_are_due_then_it_is_resolved_and_nobody_is_paged(tmp_path,
                                                                                                   elsewhere):
    """A pipeline that does not exist has nothing pending: nobody is reminded or paged of it (the tiers of an
    approval CodePipeline cannot confirm for another reason, such as throttling, still fire and say why:
    tests/unit/approvals/test_escalator.py)."""
    replay([scenario(tmp_path, escalation_steps(until="2026-11-27T09:06:50Z"), "needed.json")], world=elsewhere)
    elsewhere.pipelines.delete_pipeline(name=PIPELINE)  # CodePipeline answers "not found" from now on
    sweeps = [s for s in escalation_steps(after="2026-11-27T09:06:50Z", until="2026-11-27T17:10:00Z")]
    doc = replay([scenario(tmp_path, sweeps, "sweeps.json")], world=elsewhere)
    assert escalations(doc) == [] and effects(doc, "page") == []
    [item] = approval_items(doc)
    assert (item["status"], item["reason"]) == ("reconciled", "not found in CodePipeline")
    assert "PipelineNotFoundException" in item["unconfirmed"]


def test_given_codepipeline_shows_the_approval_decided_when_its_event_was_lost_then_resolved_silently(
        tmp_path, elsewhere):
    steps = escalation_steps(until="2026-11-27T09:06:50Z") + [
        {"at": "2026-11-27T10:00:00Z", "call": "codepipeline:PutApprovalResult", "params": {
            "pipelineName": PIPELINE, "stageName": "Approve", "actionName": "ProdGate", "token": TOKEN,
            "result": {"summary": "ok", "status": "Approved"}}},
        {"at": "2026-11-27T13:10:00Z", "schedule": "ApprovalEscalator"}]
    replay([scenario(tmp_path, steps[:3], "needed.json")], world=elsewhere)
    # The approval is given in us-east-2 (a console click there); its state-change event never arrives.
    elsewhere.pipelines.put_approval_result(**steps[3]["params"])
    doc = replay([scenario(tmp_path, steps[4:], "sweep.json")], world=elsewhere)
    assert escalations(doc) == []
    [item] = approval_items(doc)
    assert (item["status"], item["reason"], item["status_seen"]) == (
        "reconciled", "not pending in CodePipeline", "Succeeded")
