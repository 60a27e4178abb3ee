"""Every documented event shape, old and new (tests/samples/README.md says where each comes from), is
accepted by the functions its routes reach: integer or string versions, optional fields missing. A sample
that cannot be acted on is dead-lettered with the field named, never dropped and never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from warden.models import (
    ActionExecutionStateChange,
    CloudWatchAlarmStateChange,
    CodeDeployDeploymentStateChange,
    InvalidEvent,
    ManualApprovalMessage,
    PipelineExecutionStateChange,
    parse_event,
)
from warden_local.world import World

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def load(name):
    return json.loads((SAMPLES / name).read_text())


@pytest.mark.parametrize(("name", "model", "routed_to"), [
    ("codepipeline/lambda-go-action.json", ActionExecutionStateChange, ["NotificationRouter"]),
    ("codepipeline/lambda-go-action-float-version.json", ActionExecutionStateChange, ["NotificationRouter"]),
    ("codepipeline/lambda-rust-action.json", ActionExecutionStateChange, ["NotificationRouter"]),
    ("codepipeline/lambda-go-pipeline.json", PipelineExecutionStateChange,
     ["NotificationRouter", "DeploymentTracker", "ApprovalTracker"]),
    ("codedeploy/lambda-go-deployment.json", CodeDeployDeploymentStateChange, ["NotificationRouter"]),
    ("cloudwatch/docs-single-metric-alarm.json", CloudWatchAlarmStateChange, ["RollbackTrigger"]),
])
def test_a_documented_sample_is_parsed_and_handled_by_every_function_it_reaches(name, model, routed_to):
    event = load(name)
    assert isinstance(parse_event(event), model)
    with World() as world:
        if model is CloudWatchAlarmStateChange:
            # The guide's alarm is in account 123456789012; here it is this account's own (an untrusted
            # account's alarm is refused: the test below).
            event["account"] = world.account
            event["resources"] = [r.replace("123456789012", world.account) for r in event["resources"]]
        world.set_time(datetime.fromisoformat(event["time"].replace("Z", "+00:00")))
        mark = world.begin()
        for function in routed_to:
            outcome = world.invoke(function, event)
            assert outcome.error is None, (function, outcome.error)
            assert "dead_lettered" not in json.dumps(outcome.result, default=str), (function, outcome.result)
        assert [e for e in world.effects(mark) if e["kind"] == "dead_letter"] == []


def test_the_documented_alarm_of_an_account_warden_does_not_trust_is_refused_naming_it():
    event = load("cloudwatch/docs-single-metric-alarm.json")
    with World() as world:
        mark = world.begin()
        outcome = world.invoke("RollbackTrigger", event)
        [dead] = [e for e in world.effects(mark) if e["kind"] == "dead_letter"]
    assert outcome.error is None and outcome.result["status"] == "dead_lettered"
    assert "RefusedAlarm" in outcome.result["error"] and "123456789012 is not a trusted account" in dead["error"]


def test_an_integer_action_type_version_is_the_same_as_its_string():
    as_int, as_text = load("codepipeline/lambda-rust-action.json"), load("codepipeline/lambda-go-action.json")
    assert parse_event(as_int).detail.action_type == parse_event(as_text).detail.action_type
    assert parse_event(as_int).detail.action_type.version == "1"


def test_a_stage_event_that_names_no_stage_is_dead_lettered_naming_the_field():
    """aws-lambda-go's stage sample has no `stage`: nothing can be said of a stage nobody names."""
    event = load("codepipeline/lambda-go-stage-without-stage.json")
    with pytest.raises(InvalidEvent, match=r"detail\.stage: Field required"):
        parse_event(event)
    with World() as world:
        outcome = world.invoke("NotificationRouter", event)
    assert outcome.error is None and outcome.result["status"] == "dead_lettered"
    assert "detail.stage: Field required" in outcome.result["error"]


def test_the_documented_approval_message_is_kept_unverified_and_told_to_nobody():
    """Its pipeline is not in this account: the message is recorded as unverified, nobody is told."""
    message = load("approval-sns/docs-approval-message.json")
    assert isinstance(parse_event(message), ManualApprovalMessage)
    with World() as world:
        world.set_time(datetime(2016, 7, 7, 9, 0, tzinfo=UTC))  # before its expiry
        mark = world.begin()
        record = {"EventSource": "aws:sns", "Sns": {"MessageId": "m-1", "Message": json.dumps(message)}}
        envelope = {"Records": [record]}
        outcome = world.invoke("ApprovalTracker", envelope)
        found = world.effects(mark)
        assert outcome.error is None and outcome.result["status"] == "unverified"
        assert "PipelineNotFoundException" in outcome.result["reason"]
        assert [e for e in found if e["kind"] in ("message", "page", "dead_letter")] == []
        [item] = [i for i in world.table_items("StateTable") if i["pk"].startswith("approval-unverified#")]
        assert item["status"] == "unverified" and "gsi1pk" not in item
        # Past its expiry (as the guide's 2016 sample is now), it is refused without being recorded again.
        world.set_time(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
        envelope["Records"][0]["Sns"]["MessageId"] = "m-2"
        outcome = world.invoke("ApprovalTracker", envelope)
        assert outcome.result["status"] == "expired" and "2016-07-07T20:22:00Z" in outcome.result["reason"]
