"""`warden replay` fits what a user has: an event captured in their own account, an input that reaches
nothing (and why), SNS messages of one topic, pipelines in another region or a trusted workload account,
and events that Warden hears late or never."""

from __future__ import annotations

import copy
import json
import os

import jsonschema
import pytest

from tests.helpers import EVENTS, SCHEMA, effects, sample, write_scenario
from warden_local.cli import main
from warden_local.replay import InputError, replay
from warden_local.world import ACCOUNT, World

SCENARIOS = EVENTS / "scenarios"
MINE, MY_REGION = "123456789012", "eu-west-1"
WORKLOAD = "222233334444"


def captured(relative: str, account: str = MINE, region: str = MY_REGION) -> dict:
    """A sample as the user's own account captured it: its account and region everywhere."""
    text = (EVENTS / relative).read_text().replace(ACCOUNT, account).replace("us-east-1", region)
    return json.loads(text)


def valid(doc: dict) -> dict:
    jsonschema.validate(doc, SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return doc


# -- a capture of one's own account -----------------------------------------------------------------
def test_an_event_captured_in_my_account_replays_in_a_world_that_is_my_account(tmp_path, capsys, monkeypatch):
    # Given a pipeline failure captured in account 123456789012, eu-west-1
    path = tmp_path / "event.json"
    path.write_text(json.dumps(captured("codepipeline/action-failed-build.json")))
    # When it is replayed as it is
    [step] = valid(replay([str(path)]))["steps"]
    # Then the world is that account and region: the router takes it and on-call is paged
    assert step["routed_to"] == ["NotificationRouter"]
    assert [e["topic"] for e in step["effects"] if e["kind"] == "message"] == ["OnCallTopic", "ChatTopic"]
    assert [e["action"] for e in step["effects"] if e["kind"] == "page"] == ["trigger"]
    # and on the command line too (its local environment is the test's: put back afterwards)
    from warden_local.world import LOCAL_ENV

    for name in LOCAL_ENV:
        monkeypatch.setenv(name, os.environ.get(name, ""))
        if not os.environ.get(name):
            monkeypatch.delenv(name)
    assert main(["replay", "--json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["steps"][0]["routed_to"] == ["NotificationRouter"]


def test_captures_of_several_accounts_replay_in_the_default_world(tmp_path):
    mine, theirs = tmp_path / "mine.json", tmp_path / "theirs.json"
    mine.write_text(json.dumps(captured("codepipeline/pipeline-started.json")))
    theirs.write_text(json.dumps(captured("codepipeline/pipeline-started.json", account="999988887777")))
    doc = valid(replay([str(mine), str(theirs)]))
    assert [s["routed_to"] for s in doc["steps"]] == [[], []]
    assert all("is not trusted" in s["note"] for s in doc["steps"])


# -- why an input reaches nothing -------------------------------------------------------------------
def test_an_event_of_an_untrusted_account_says_so(tmp_path):
    event = sample("codepipeline/pipeline-failed.json")
    event["account"] = "999988887777"
    [step] = valid(replay([write_scenario(tmp_path, [{"event": event}])]))["steps"]
    assert step["routed_to"] == [] and step["effects"] == []
    assert "account 999988887777 is not trusted" in step["note"]
    assert "111122223333, 222233334444, 444455556666" in step["note"]  # whose events the rules take


def test_an_event_no_rule_takes_names_its_kind(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"source": "aws.s3", "detail-type": "Object Created", "account": ACCOUNT,
                                "region": "us-east-1", "detail": {}}))
    [step] = valid(replay([str(path)]))["steps"]
    assert step["note"] == "no route in template.yaml accepts this input: no rule takes aws.s3 / Object Created events"


def test_an_event_of_a_pipeline_outside_the_stacks_scope_says_so(tmp_path):
    path = tmp_path / "failed.json"
    path.write_text(json.dumps(sample("codepipeline/pipeline-failed.json")))
    with World(parameters={"PipelineScope": "*-staging"}) as world:
        [step] = valid(replay([str(path)], world=world))["steps"]
    assert step["routed_to"] == []
    assert "pipeline payments-api is outside this stack's PipelineScope (*-staging)" in step["note"]


def test_an_event_whose_detail_no_rule_takes_says_so(tmp_path):
    # A CloudTrail call of CodePipeline that ArtifactGuard does not watch (it takes Create/UpdatePipeline)
    event = json.loads((EVENTS / "cloudtrail" / "update-pipeline.json").read_text())
    event["detail"]["eventName"] = "DeletePipeline"
    [step] = valid(replay([write_scenario(tmp_path, [{"event": event}], world=[])]))["steps"]
    assert step["routed_to"] == []
    assert step["note"].endswith("the rules that take aws.codepipeline / AWS API Call via CloudTrail events filter "
                                 "its detail (states, categories), and it fits none")


# -- SNS ---------------------------------------------------------------------------------------------
def test_an_sns_message_reaches_only_its_topics_subscribers(tmp_path):
    # Given the documented SNS-to-Lambda sample, once published to another team's topic
    envelope = json.loads((EVENTS / "approval-sns" / "sns-lambda-event.json").read_text())
    elsewhere = copy.deepcopy(envelope)
    elsewhere["Records"][0]["Sns"]["TopicArn"] = f"arn:aws:sns:us-east-1:{ACCOUNT}:payments-api-approvals"
    ours, theirs = tmp_path / "ours.json", tmp_path / "theirs.json"
    ours.write_text(json.dumps(envelope))
    theirs.write_text(json.dumps(elsewhere))
    first, second = valid(replay([str(ours), str(theirs)]))["steps"]
    # Then the approval topic's message reaches ApprovalTracker, the other topic's reaches nothing
    assert first["routed_to"] == ["ApprovalTracker"]
    assert second["routed_to"] == [] and second["effects"] == []
    assert "no function of this stack subscribes to" in second["note"] and "payments-api-approvals" in second["note"]


# -- where world calls are made ----------------------------------------------------------------------
def test_world_entries_and_calls_may_name_a_region(tmp_path):
    world = json.loads((SCENARIOS / "approval-escalation.json").read_text())["world"]
    for entry in world:
        entry["region"] = "us-west-2"
    steps = [{"at": "2026-11-27T09:00:00Z", "call": "codepipeline:ListPipelines", "region": "us-west-2",
              "params": {}, "save": "west"}]
    path = write_scenario(tmp_path, steps, world=world)
    with World() as embedded:
        replay([path], world=embedded)
        west = embedded.session.client("codepipeline", region_name="us-west-2").list_pipelines()["pipelines"]
        east = embedded.client("codepipeline").list_pipelines()["pipelines"]
    assert [p["name"] for p in west] == ["payments-api"] and east == []


def _workload_escalation(tmp_path, account: str) -> list[dict]:
    """approval-escalation.json's pipeline, approval and first reminder, all in workload account `account`
    (its approval action publishes nowhere: the events tell Warden)."""
    doc = json.loads((SCENARIOS / "approval-escalation.json").read_text())
    where = account
    world = json.loads(json.dumps(doc["world"]).replace(ACCOUNT, where))
    for entry in world:
        entry["account"] = account
        for stage in entry.get("params", {}).get("pipeline", {}).get("stages", []):
            for action in stage["actions"]:
                action.get("configuration", {}).pop("NotificationArn", None)
    steps = [{"at": "2026-11-27T09:00:02Z", "event": json.loads(json.dumps(
                  sample("codepipeline/pipeline-started.json")).replace(ACCOUNT, where))},
             {"at": "2026-11-27T09:06:49Z", "event": json.loads(json.dumps(
                  sample("codepipeline/action-started-approval.json")).replace(ACCOUNT, where))},
             {"at": "2026-11-27T13:10:00Z", "schedule": "ApprovalEscalator"}]
    doc = valid(replay([write_scenario(tmp_path, steps, world=world)]))
    return [e for e in doc["steps"][-1]["effects"] if e["kind"] == "message"]


def test_a_trusted_workload_account_is_built_by_the_scenario_and_read_through_the_read_role(tmp_path):
    # Given the pipeline in workload account 222233334444, set up by the scenario's world entries
    reminders = _workload_escalation(tmp_path, WORKLOAD)
    # Then the reminder goes out after Warden confirmed, through the read role, that the approval is pending
    assert reminders and all(e["attributes"]["account"] == WORKLOAD for e in reminders)
    assert not any("could not confirm" in e["body"] for e in reminders)


def test_a_workload_account_that_is_not_trusted_is_bad_input(tmp_path):
    world = [{"call": "iam:CreateRole", "account": "999988887777",
              "params": {"RoleName": "pipelines", "AssumeRolePolicyDocument": "{}"}}]
    with pytest.raises(InputError, match="999988887777 is not a trusted workload account"):
        replay([write_scenario(tmp_path, [], world=world)])


@pytest.mark.parametrize(("step", "message"), [
    ({"at": "2026-11-27T09:00:00Z", "schedule": "ApprovalEscalator", "region": "us-west-2"}, "call step"),
    ({"at": "2026-11-27T09:00:00Z", "call": "sts:GetCallerIdentity", "region": "Oregon"}, "not an AWS region"),
    ({"at": "2026-11-27T09:00:00Z", "schedule": "ApprovalEscalator", "delivered": "2026-11-27T10:00:00Z"},
     "event step"),
    ({"at": "2026-11-27T09:00:00Z", "event": {"source": "x"}, "delivered": "2026-11-27T08:00:00Z"}, "before"),
    ({"at": "2026-11-27T09:00:00Z", "event": {"source": "x"}, "delivered": "later"}, "\"never\""),
])
def test_misplaced_region_account_and_delivered_are_bad_input(tmp_path, step, message):
    with pytest.raises(InputError, match=message):
        replay([write_scenario(tmp_path, [step], world=[])])


# -- late and lost deliveries ------------------------------------------------------------------------
def test_an_event_heard_late_is_handled_when_it_arrives_after_a_later_one(tmp_path):
    # Given a pipeline that starts at 09:00 (Warden hears it at 09:10) and fails at 09:05 (heard at once)
    started = sample("codepipeline/pipeline-started.json")
    failed = sample("codepipeline/pipeline-failed.json", **{"execution-id": started["detail"]["execution-id"]})
    steps = [{"at": "2026-11-27T09:00:00Z", "event": started, "delivered": "2026-11-27T09:10:00Z"},
             {"at": "2026-11-27T09:05:00Z", "event": failed},
             {"at": "2026-11-27T09:20:00Z", "schedule": "ApprovalEscalator"}]
    doc = valid(replay([write_scenario(tmp_path, steps)]))
    happened, fail, heard, sweep = doc["steps"]
    # Then the world changes at 09:00, Warden hears nothing then
    assert (happened["at"], happened["routed_to"], happened["effects"]) == ("2026-11-27T09:00:00Z", [], [])
    assert happened["note"] == "delivered to Warden at 2026-11-27T09:10:00Z"
    # the failure is handled first, and the start when it arrives, in time order before the 09:20 sweep
    assert fail["routed_to"] and fail["at"] == "2026-11-27T09:05:00Z"
    assert heard["at"] == "2026-11-27T09:10:00Z" and "NotificationRouter" in heard["routed_to"]
    assert heard["note"].startswith("happened at 2026-11-27T09:00:00Z")
    assert sweep["input"] == "schedule:ApprovalEscalator"
    # and the ledger ends where the world did: the execution failed
    [execution] = [i for i in doc["tables"]["LedgerTable"] if i["sk"] == "EXECUTION"]
    assert execution["status"] == "FAILED"


def test_an_event_never_delivered_changes_the_world_and_tells_nobody(tmp_path):
    failed = sample("codepipeline/action-failed-build.json")
    doc = valid(replay([write_scenario(tmp_path, [{"at": "2026-11-27T09:05:00Z", "event": failed,
                                                   "delivered": "never"}])]))
    [step] = doc["steps"]
    assert step["routed_to"] == [] and step["effects"] == [] and step["note"] == "never delivered to Warden"
    assert effects(doc, "page") == []
