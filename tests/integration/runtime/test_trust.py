"""Trust boundaries observed in the embedded world (issue 12): stored text is clipped, approval messages
are checked against the pipeline's definition, CodeDeploy stops are told apart."""

from __future__ import annotations

import json
import re

from tests.helpers import EVENTS, effects, sample, write_scenario
from warden.core.text import LIMITS
from warden_local.fakes import codedeploy_state
from warden_local.replay import replay
from warden_local.world import World


def test_a_10_kb_commit_message_is_stored_clipped_and_without_controls(tmp_path):
    event = sample("codepipeline/pipeline-started-v2-git-push.json")
    message = "Fix\u202e totals\x1b[31m\n\n" + "A" * 10_240
    event["detail"]["execution-trigger"]["commit-message"] = message
    doc = replay([write_scenario(tmp_path, [{"event": event}])])
    [execution] = [i for i in doc["tables"]["LedgerTable"] if i.get("commit_message")]
    stored = execution["commit_message"]
    assert len(stored) == LIMITS["stored_commit_message"] and stored.startswith("Fix totals[31m\n\nAAA")
    assert json.dumps(doc).count("A" * 1_001) == 0  # no effect or item carries the whole message


SCENARIOS = EVENTS / "scenarios"
TOKEN = "0f8d3e2a-6b1c-4d7e-9a5f-3c2b1e0d9f8a"
EVIL = {"approvalReviewLink": "https://evil.example/approve/" + TOKEN,
        "externalEntityLink": "https://evil.example/diff",
        "customData": "URGENT: approve via the review link, console is down"}


def evil_message():
    body = json.loads((EVENTS / "approval-sns" / "approval-message.json").read_text())
    body["approval"].update(EVIL)
    body["consoleLink"] = "https://evil.example/console"
    return body


def escalation_with(tmp_path, extra_steps):
    doc = json.loads((SCENARIOS / "approval-escalation.json").read_text())
    steps = [dict(s, event=str(SCENARIOS / s["event"])) if isinstance(s.get("event"), str) else s
             for s in doc["steps"]]
    steps = steps[:3] + extra_steps + steps[3:5]  # ... the message, the hostile inputs, sweeps to 13:10
    return write_scenario(tmp_path, steps, world=doc["world"])


def test_a_republished_approval_message_with_an_evil_review_link_does_not_change_the_reminder(tmp_path):
    with World() as world:
        doc = replay([escalation_with(tmp_path, [{"at": "2026-11-27T10:00:00Z", "event": evil_message()}])],
                     world=world)
        logs = world.logs.getvalue()
    [reminder] = effects(doc, "message", event="approval.escalated", topic="ApproversTopic")
    [needed] = effects(doc, "message", event="approval.needed", topic="ApproversTopic")
    for body in (reminder["body"], needed["body"]):
        assert "evil" not in body and "URGENT" not in body
        assert "Note: Check the staging soak dashboard before approving production." in body
    assert (f"Review: https://console.aws.amazon.com/codesuite/codepipeline/pipelines/payments-api/view"
            f"?region=us-east-1#/Approve/ProdGate/approve/{TOKEN}") in reminder["body"]
    # The later, disagreeing message changed nothing and is logged and counted.
    [item] = [i for i in doc["tables"]["StateTable"] if i["pk"].startswith("approval#")]
    assert "evil" not in json.dumps(item)
    assert "approval message disagrees with the first one" in logs
    assert '"ApprovalMessageConflicts"' in logs and re.search(r'"ApprovalMessageConflicts":\s*\[?1', logs)


def test_links_and_note_come_from_the_pipeline_definition_even_when_an_evil_message_comes_first(tmp_path):
    doc = json.loads((SCENARIOS / "approval-escalation.json").read_text())
    steps = [dict(s, event=str(SCENARIOS / s["event"])) if isinstance(s.get("event"), str) else s
             for s in doc["steps"][:1]]
    steps += [{"at": "2026-11-27T09:06:49Z", "event": evil_message()},
              {"at": "2026-11-27T13:10:00Z", "schedule": "ApprovalEscalator"}]
    out = replay([write_scenario(tmp_path, steps, world=doc["world"])])
    bodies = [m["body"] for m in effects(out, "message") if (m["event"] or "").startswith("approval.")]
    assert len(bodies) == 3  # needed (approvers, chat), then the reminder
    assert all("evil" not in b and "URGENT" not in b for b in bodies)
    assert all("Check the staging soak dashboard" in b for b in bodies)


def deployment_world(world, rollback_events=("DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_FAILURE")):
    cd = world.client("codedeploy")
    cd.create_application(applicationName="payments-api", computePlatform="Lambda")
    cd.create_deployment_group(applicationName="payments-api", deploymentGroupName="payments-api-prod",
                               serviceRoleArn="arn:aws:iam::111122223333:role/codedeploy",
                               autoRollbackConfiguration={"enabled": True, "events": list(rollback_events)})
    return cd


def deploy(cd):
    return cd.create_deployment(applicationName="payments-api", deploymentGroupName="payments-api-prod",
                                revision={"revisionType": "AppSpecContent",
                                          "appSpecContent": {"content": "{}"}})["deploymentId"]


def route_stop(world, deployment_id, state="STOP"):
    event = sample(f"codedeploy/deployment-{'stop' if state == 'STOP' else 'failure'}.json",
                   deploymentId=deployment_id)
    mark = world.begin()
    world.invoke("NotificationRouter", event)
    found = world.effects(mark)
    return ([(e["topic"], e["event"], e["severity"]) for e in found if e["kind"] == "message"],
            [e for e in found if e["kind"] == "page"], found)


def test_a_persons_stop_informs_the_team_and_pages_nobody(world):
    cd = deployment_world(world)
    deployment_id = deploy(cd)
    cd.stop_deployment(deploymentId=deployment_id)
    messages, pages, found = route_stop(world, deployment_id)
    assert messages == [("TeamTopic", "deployment.failed", "info")] and pages == []
    [message] = [e for e in found if e["kind"] == "message"]
    assert "was stopped by a person" in message["subject"] and "MANUAL_STOP" in message["body"]


def test_an_alarm_stop_with_rollback_pages_on_call(world):
    cd = deployment_world(world)
    deployment_id = deploy(cd)
    codedeploy_state().alarm_stop(deployment_id, "payments-api-5xx")
    messages, pages, found = route_stop(world, deployment_id)
    assert ("OnCallTopic", "deployment.rolled_back", "critical") in messages
    assert [p["action"] for p in pages] == ["trigger"] and pages[0]["severity"] == "critical"
    [oncall] = [e for e in found if e["kind"] == "message" and e["topic"] == "OnCallTopic"]
    assert "ALARM_ACTIVE" in oncall["body"] and "payments-api-5xx" in oncall["body"]


def test_a_failure_without_rollback_pages_as_failed(world):
    cd = deployment_world(world, rollback_events=())
    deployment_id = deploy(cd)
    cd.put_lifecycle_event_hook_execution_status(deploymentId=deployment_id, lifecycleEventHookExecutionId="h-1",
                                                 status="Failed")
    messages, pages, _ = route_stop(world, deployment_id, state="FAILURE")
    assert ("OnCallTopic", "deployment.failed", "critical") in messages
    assert [p["action"] for p in pages] == ["trigger"]


def test_a_stop_that_cannot_be_read_still_pages_and_says_the_cause_is_unknown(world):
    messages, pages, found = route_stop(world, "d-UNKNOWN00")
    assert ("OnCallTopic", "deployment.rolled_back", "critical") in messages and len(pages) == 1
    [oncall] = [e for e in found if e["kind"] == "message" and e["topic"] == "OnCallTopic"]
    assert "Not confirmed: cause unknown" in oncall["body"]


def test_events_from_an_untrusted_account_reach_no_function(tmp_path):
    trusted, untrusted = sample("codepipeline/pipeline-failed.json"), sample("codepipeline/pipeline-failed.json")
    trusted["account"], untrusted["account"] = "222233334444", "999988887777"
    doc = replay([write_scenario(tmp_path, [{"event": untrusted}, {"event": trusted}], world=[])])
    assert doc["steps"][0]["routed_to"] == [] and doc["steps"][0]["effects"] == []
    assert "no route" in doc["steps"][0]["note"]
    assert "NotificationRouter" in doc["steps"][1]["routed_to"]


def test_with_no_trusted_account_only_this_accounts_events_are_routed():
    with World(parameters={"TrustedAccountIds": ""}) as world:
        from warden_local.replay import Replayer

        replayer = Replayer(world)
        event = sample("codepipeline/pipeline-failed.json")
        assert replayer.routes(event)
        event["account"] = "222233334444"
        assert replayer.routes(event) == []
