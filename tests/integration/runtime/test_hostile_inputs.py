"""The hostile inputs the robustness issue measured, one by one, in the embedded world: a forged approval
message, a poisoned stored approval, a bad record in an SNS batch, an event id reused with another
payload, an invalid region. Each is handled or dead-lettered with its reason; none stops the others."""

from __future__ import annotations

import copy
import json
import uuid

import pytest

from tests.helpers import effects, sample, write_scenario
from tests.integration.approvals.test_approvals import SCENARIOS, approval_event, message, payments_world
from warden.core.errors import PermanentError
from warden_local import fakes
from warden_local.observe import drain
from warden_local.replay import Replayer, replay
from warden_local.world import ACCOUNT, REGION, World

FORGED = {"expires": "0001-01-01T00:00Z", "pipelineName": "no-such-pipeline"}


def sns(*bodies, ids=None):
    return {"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
                         "Sns": {"Type": "Notification", "MessageId": (ids or [])[i] if ids else str(uuid.uuid4()),
                                 "Message": body if isinstance(body, str) else json.dumps(body)}}
                        for i, body in enumerate(bodies)]}


def dead_letters(world, function):
    url = next(u for u, f in world._dlqs.items() if f == function)
    return [m["MessageAttributes"]["ErrorMessage"]["StringValue"] for m in drain(world.client("sqs"), url)]


def escalation_steps():
    doc = json.loads((SCENARIOS / "approval-escalation.json").read_text())
    return [dict(s, event=str(SCENARIOS / s["event"])) if isinstance(s.get("event"), str) else s
            for s in doc["steps"]]


def test_a_forged_approval_message_is_told_to_nobody_and_every_later_sweep_still_escalates(tmp_path):
    """The issue's message: an expiry in year 1 for a pipeline that does not exist. Before, every later
    sweep was dead-lettered (clock.iso wrote the year unpadded); now it is invalid input (a time outside
    2000-2099, issue 27), dead-lettered at once naming approval.expires, and the real approval beside it is
    reminded at 4 h and escalated at 8 h as if it had never come."""
    steps = escalation_steps()
    forged = {"at": "2026-11-27T09:30:00Z", "event": message(**FORGED)}
    for_no_pipeline = {"at": "2026-11-27T09:31:00Z",
                       "event": message(token=str(uuid.uuid4()), pipelineName="no-such-pipeline",
                                        expires="2026-12-04T09:31Z")}
    doc = replay([write_scenario(tmp_path, steps[:3] + [forged, for_no_pipeline] + steps[3:5],
                                 world=payments_world())])
    [dead] = effects(doc, "dead_letter")
    assert dead["function"] == "ApprovalTracker" and "approval.expires: " in dead["error"]
    assert "a time outside the years 2000 to 2099" in dead["error"]
    told = [(e["event"], e["pipeline"]) for e in effects(doc, "message")]
    assert ("approval.escalated", "payments-api") in told
    assert all(pipeline != "no-such-pipeline" for _, pipeline in told) and effects(doc, "page", pipeline=None) == []
    [unverified] = [i for i in doc["tables"]["StateTable"] if i["pk"].startswith("approval-unverified#")]
    assert unverified["pipeline"] == "no-such-pipeline" and "PipelineNotFoundException" in unverified["reason"]
    assert "gsi1pk" not in unverified  # outside the pending index: no sweep escalates or pages it


def test_a_poisoned_pending_approval_is_dead_lettered_once_and_the_sweep_escalates_the_others(tmp_path):
    with World() as world:
        replay([write_scenario(tmp_path, escalation_steps()[:3], world=payments_world())], world=world)
        state = world.physical["StateTable"]["TableName"]
        # An item written by another version, or by hand: its request time is no time at all.
        world.client("dynamodb").put_item(TableName=state, Item={
            "pk": {"S": f"approval#{ACCOUNT}#{REGION}#payments-api"}, "sk": {"S": "Approve#ProdGate#poisoned"},
            "pipeline": {"S": "payments-api"}, "stage": {"S": "Approve"}, "action": {"S": "ProdGate"},
            "region": {"S": REGION}, "status": {"S": "pending"}, "since": {"S": "1-01-01T00:00:00Z"},
            "gsi1pk": {"S": "approvals#pending"}, "gsi1sk": {"S": "1-01-01T00:00:00Z"}})
        sweeps = escalation_steps()[3:5]
        doc = replay([write_scenario(tmp_path, sweeps, world=[], name="sweeps.json")], world=world)
        logs = world.logs.getvalue()
        items = {i["sk"]: i for i in world.table_items("StateTable") if i["pk"].startswith("approval#")}
    assert [e["event"] for e in effects(doc, "message", topic="ApproversTopic")] == ["approval.escalated"]
    [dead] = effects(doc, "dead_letter")  # once, though two sweeps ran
    assert dead["function"] == "ApprovalEscalator" and dead["error"].startswith("ValueError: ")
    assert items["Approve#ProdGate#poisoned"]["status"] == "unreadable" and "gsi1pk" not in items[
        "Approve#ProdGate#poisoned"]
    assert '"SkippedItems"' in logs and '"DeadLetters"' in logs


def test_one_bad_record_of_an_sns_batch_is_dead_lettered_alone(tmp_path):
    with World() as world:
        replay([write_scenario(tmp_path, escalation_steps()[:1], world=payments_world())], world=world)
        fakes.apply_event(message())  # the approval message happened in the embedded CodePipeline
        batch = sns(message(), "{not json", {**message(), "region": "moon-base-1"})
        outcome = world.invoke("ApprovalTracker", batch)
        reasons = dead_letters(world, "ApprovalTracker")
    assert outcome.error is None
    # The good record's result, then the reason of each record dead-lettered.
    assert [r["status"] for r in outcome.result] == ["sent", "dead_lettered", "dead_lettered"]
    assert outcome.result[0]["event"] == "approval.needed"
    assert len(reasons) == 2 and "Records[1].Sns.Message: not JSON" in reasons[0]
    assert reasons[1].startswith("InvalidEvent: invalid manual approval message: region")


def test_the_same_event_id_with_another_payload_is_a_conflict_dead_lettered_not_a_silent_duplicate():
    first = approval_event("STARTED")
    forged = copy.deepcopy(first)
    forged["detail"]["stage"] = "Deploy"  # the same id, another payload
    with World() as world:
        for call in payments_world():
            Replayer(world)._call(call, "world")
        assert world.invoke("ApprovalTracker", first).error is None
        again = world.invoke("ApprovalTracker", copy.deepcopy(first))  # a redelivery: the stored result
        conflict = world.invoke("ApprovalTracker", forged)
        reasons = dead_letters(world, "ApprovalTracker")
        logs = world.logs.getvalue()
    assert again.error is None and again.result["status"] != "dead_lettered"
    assert conflict.error is None and conflict.result["status"] == "dead_lettered"
    assert conflict.result["error"].startswith("IdempotencyValidationError")
    assert "handled before with a different payload" in conflict.result["error"]
    assert len(reasons) == 1 and '"level":"ERROR"' in logs


def test_an_invalid_region_is_dead_lettered_naming_the_field(world):
    event = approval_event("STARTED")
    event["region"] = "us-east-1[x](https://evil.example)"
    outcome = world.invoke("ApprovalTracker", event)
    assert outcome.error is None and outcome.result["status"] == "dead_lettered"
    assert "region" in outcome.result["error"] and outcome.result["error"].startswith("InvalidEvent")


# -- issue 27: lone surrogates and extreme times are invalid input; the dead-letter writer cannot fail ------
SURROGATE = "\ud800"


def _with(event, path, value):
    doc = event
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value
    return json.loads(json.dumps(event))  # as delivered: JSON's \ud800 escape decodes to a lone surrogate


def _failure(**detail):
    return sample("codepipeline/pipeline-failed.json", **detail)


@pytest.mark.parametrize(("function", "event", "field"), [
    # approvals/store.py (claim): the event id is the claim's owner
    ("ApprovalTracker", lambda: _with(approval_event("STARTED"), ("id",), f"{uuid.uuid4()}{SURROGATE}"), "id"),
    # approvals/store.py (save_trigger): who is waiting, from the execution's start
    ("ApprovalTracker", lambda: _with(sample("codepipeline/pipeline-started-v2-git-push.json"),
                                      ("detail", "execution-trigger", "author-display-name"), f"Wei{SURROGATE}"),
     "detail.execution-trigger.author-display-name"),
    # ledger/recorder.py: the ledger's facts
    ("DeploymentTracker", lambda: _with(sample("codepipeline/pipeline-started-v2-git-push.json"),
                                        ("detail", "execution-trigger", "branch-name"), f"main{SURROGATE}"),
     "detail.execution-trigger.branch-name"),
    # router/incidents.py: the event id owns the incident
    ("NotificationRouter", lambda: _with(_failure(), ("id",), f"{uuid.uuid4()}{SURROGATE}"), "id"),
    # the dead-letter writer itself: RefusedAlarm's reason quoted the account
    ("RollbackTrigger", lambda: sns({"AlarmName": "checkout-api-5xx", "AWSAccountId": SURROGATE,
                                     "NewStateValue": "ALARM", "OldStateValue": "OK",
                                     "StateChangeTime": "2026-11-27T16:01:10.190+0000",
                                     "AlarmArn": "arn:aws:cloudwatch:us-east-1:111122223333:alarm:checkout-api-5xx"}),
     "AWSAccountId"),
    # approvals/store.py: since + the approval timeout overflowed (OverflowError on every retry)
    ("ApprovalTracker", lambda: _with(approval_event("STARTED"), ("time",), "9999-12-31T23:59:00Z"), "time"),
    ("ApprovalTracker", lambda: sns(message(expires="9999-12-31T23:59Z")), "approval.expires"),
])
def test_a_lone_surrogate_or_an_extreme_time_is_dead_lettered_with_its_field_named(function, event, field):
    """Given an input the fuzzer found raising (UnicodeEncodeError, OverflowError: Lambda retried it, then
    dead-lettered it without a reason), when it is delivered, then the handler dead-letters it at once,
    naming the field, and the dead letter reads back."""
    with World() as world:
        for call in payments_world():
            Replayer(world)._call(call, "world")
        outcome = world.invoke(function, event())
        reasons = dead_letters(world, function)
    assert outcome.error is None, outcome.error
    assert len(reasons) == 1 and reasons[0].startswith("InvalidEvent: "), reasons
    assert field in reasons[0], reasons[0]
    reasons[0].encode("utf-8")


def test_the_dead_letter_writer_sends_any_reason_sqs_would_refuse_as_its_escape():
    """Given a reason and a payload holding a lone surrogate and terminal controls (SQS refuses such a
    message: InvalidMessageContents, and the handler failed in its own dead-letter path), when they are
    dead-lettered, then the message is sent, with every such character written as its escape."""
    from warden.runtime.invocation import Pipeline

    with World() as world:
        url = next(u for u, f in world._dlqs.items() if f == "ApprovalTracker")
        pipeline = Pipeline(idempotency_table="unused", dead_letter_queue_url=url,
                            sqs=lambda: world.client("sqs"), dynamodb=lambda: None)
        reason = pipeline.dead_letter({"account": SURROGATE, "bell": "\x07"},
                                      PermanentError(f"account {SURROGATE} said \x1b[31mhi\x07"))
        [told] = drain(world.client("sqs"), url)
    assert reason == "PermanentError: account \\ud800 said \\u001b[31mhi\\u0007"
    assert told["MessageAttributes"]["ErrorMessage"]["StringValue"] == reason
    assert json.loads(told["Body"]) == {"account": SURROGATE, "bell": "\x07"}  # the payload, exactly


def _no_trigger():
    event = sample("codepipeline/pipeline-started.json")
    event["detail"].pop("execution-trigger", None)
    return event


@pytest.mark.parametrize(("function", "event", "reason"), [
    ("NotificationRouter", lambda: sample("codepipeline/stage-started-source.json"),
     "no audience is told of StageExecutionStateChange STARTED"),
    ("DeploymentTracker", lambda: sample("codepipeline/action-started-build.json"),
     "the ledger keeps pipeline and stage executions and decided approvals, not this event"),
    ("ApprovalTracker", lambda: sample("codepipeline/action-started-build.json"),
     "no approval is told of ActionExecutionStateChange STARTED"),
    ("ApprovalTracker", _no_trigger, "the execution's start names no trigger: nobody to record"),
    ("ApprovalTracker", lambda: sample("codepipeline/pipeline-failed.json"),
     "execution FAILED left no pending approval to close"),
    ("RollbackTrigger", lambda: sample("codepipeline/stage-failed-build.json"),
     "Warden is rolling back nothing at this stage"),
    ("RollbackTrigger", lambda: sample("codedeploy/deployment-start.json"),
     "CodeDeploy has no deployment d-4B8RT2KQX: no rollback of its to attribute"),
    ("RollbackTrigger", lambda: sample("codedeploy/deployment-start.json", state="READY"),
     "a deployment's READY resolves no rollback"),
])
def test_an_input_accepted_and_left_alone_says_why_in_its_result_and_its_log(function, event, reason):
    """Given an input a handler accepts but has nothing to do for (986 of the fuzzer's inputs were so, with
    no reason logged), when it is delivered, then its result says why, and so does the log line."""
    with World() as world:
        for call in payments_world():
            Replayer(world)._call(call, "world")
        outcome = world.invoke(function, event())
        logs = world.logs.getvalue()
    result = outcome.result["results"][0] if function == "RollbackTrigger" else outcome.result
    assert outcome.error is None and result["status"] in ("ignored", "unmapped", "duplicate"), result
    assert result["reason"] == reason
    assert json.dumps(reason)[1:-1] in logs


def test_a_forged_approval_replayed_is_refused_exactly_as_when_delivered_directly(tmp_path):
    """Given an approval whose STARTED event happened (the embedded CodePipeline issued its token then),
    when an approval message with another token is replayed through `warden replay`, then it is refused as
    in AWS and as when it is delivered straight to ApprovalTracker: recorded unverified, told to nobody,
    and the pending approval keeps the issued token (before, the world made the forged token the pending
    one, and the approval's reminders linked to it)."""
    forged = message(token=str(uuid.uuid4()))
    before = [{"at": "2026-11-27T09:00:02Z", "event": str(SCENARIOS.parent / "codepipeline" / "pipeline-started.json")},
              {"event": approval_event("STARTED", at="2026-11-27T09:06:49Z")}]
    doc = replay([write_scenario(tmp_path, [*before, {"at": "2026-11-27T09:06:50Z", "event": forged}],
                                 world=payments_world())])
    replayed = doc["steps"][2]
    assert replayed["routed_to"] == ["ApprovalTracker"] and [e for e in replayed["effects"]
                                                             if e["kind"] in ("message", "page")] == []
    [pending] = [i for i in doc["tables"]["StateTable"] if i["pk"].startswith("approval#")]
    [unverified] = [i for i in doc["tables"]["StateTable"] if i["pk"].startswith("approval-unverified#")]
    assert pending["token"] != forged["approval"]["token"] and forged["approval"]["token"] not in pending["review_link"]
    assert unverified["token"] == forged["approval"]["token"]
    assert unverified["reason"] == "CodePipeline shows no pending approval with this token"

    with World() as world:
        replay([write_scenario(tmp_path, before, world=payments_world(), name="before.json")], world=world)
        direct = world.invoke("ApprovalTracker", sns(forged))
    assert direct.result["status"] == "unverified" and direct.result["reason"] == unverified["reason"]
