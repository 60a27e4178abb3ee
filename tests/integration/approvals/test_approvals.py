"""Pending approvals: tracking from either input, tiers, reconciliation, concurrent sweeps (issue 5).

Everything is observed in the embedded world: messages on the topics, pages, items, EMF metrics.
"""

import json
import uuid

import jsonschema

from tests.helpers import EVENTS, SCHEMA, effects, sample, without_quiet_digest_mark, write_scenario
from warden.approvals.escalator import ApprovalEscalator
from warden.approvals.store import Approvals
from warden.aws.clients import Clients
from warden.aws.codepipeline import CodePipelineGateway
from warden.core.clock import parse_iso
from warden.notify.notifier import Notifier
from warden.notify.pagerduty import PagerDuty
from warden.notify.sns import Publisher
from warden.runtime.documents import ConfigStore
from warden_local.replay import replay
from warden_local.world import ACCOUNT, REGION

SCENARIOS = EVENTS / "scenarios"
RUN = "8f14e45f-ceea-467a-9a36-dedd4bea2543"  # the samples' execution, waiting at Approve/ProdGate
TOKEN = "0f8d3e2a-6b1c-4d7e-9a5f-3c2b1e0d9f8a"  # the sample approval message's token


def approval_messages(doc):
    """(step time, event, topic, severity, pipeline) of every approval.* message, in order."""
    return [(step["at"], e["event"], e["topic"], e["severity"], e["pipeline"])
            for step in doc["steps"] for e in step["effects"]
            if e["kind"] == "message" and (e["event"] or "").startswith("approval.")]


def approvals(doc):
    return [i for i in doc["tables"]["StateTable"] if i["pk"].startswith("approval#")]


def message(token=TOKEN, **approval):
    body = json.loads((EVENTS / "approval-sns" / "approval-message.json").read_text())
    body["approval"].update(token=token, **approval)
    return body


def approval_event(state, *, execution=RUN, at=None, **detail):
    event = sample(f"codepipeline/action-{'started' if state == 'STARTED' else 'succeeded'}-approval.json",
                   state=state, **{"execution-id": execution}, **detail)
    if at:
        event["time"] = at
    return event


def started(execution, at):
    event = sample("codepipeline/pipeline-started.json", **{"execution-id": execution})
    event["time"] = at
    return event


def payments_world(mode="QUEUED"):
    pipeline = json.loads((SCENARIOS / "approval-escalation.json").read_text())["world"]
    pipeline[1]["params"]["pipeline"]["executionMode"] = mode
    return pipeline


def test_needed_then_reminder_at_4h_then_escalation_at_8h_then_approved_then_silence():
    doc = replay([str(SCENARIOS / "approval-escalation.json")])
    jsonschema.validate(doc, SCHEMA)
    assert approval_messages(doc) == [
        ("2026-11-27T09:06:49Z", "approval.needed", "ApproversTopic", "info", "payments-api"),
        ("2026-11-27T09:06:49Z", "approval.needed", "ChatTopic", "info", "payments-api"),
        ("2026-11-27T13:10:00Z", "approval.escalated", "ApproversTopic", "warning", "payments-api"),
        ("2026-11-27T17:10:00Z", "approval.escalated", "TeamTopic", "high", "payments-api"),
        ("2026-11-27T17:10:00Z", "approval.escalated", "OnCallTopic", "high", "payments-api"),
        ("2026-11-27T17:20:00Z", "approval.approved", "TeamTopic", "info", "payments-api"),
    ]
    [trigger] = effects(doc, "page", action="trigger")
    [resolve] = effects(doc, "page", action="resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] and trigger["severity"] == "high"
    # The reminder tells approvers what waits, for how long, until when, who waits and where to click.
    [reminder] = effects(doc, "message", event="approval.escalated", topic="ApproversTopic")
    body = reminder["body"]  # what an SQS/HTTPS subscriber gets: the `default` text
    for fact in ("Waiting for: 4h 03m", "Expires: 2026-12-04T09:06:00Z", "Author: Maria Garcia",
                 "Note: Check the staging soak dashboard", f"approve/{TOKEN}", "Stage: Approve", "Action: ProdGate"):
        assert fact in body, fact
    [item] = approvals(doc)
    assert item["status"] == "approved" and sorted(item["fired"]) == ["escalate", "remind"]
    assert item["comment"] == "Reviewed the diff and the staging soak. Ship it." and "gsi1pk" not in item


def pending_token_ref(world_calls, name="gate", stage="Approve"):
    """The `${...}` reference to the token the embedded CodePipeline issued at `stage`'s first action, once a
    step `{"call": "codepipeline:GetPipelineState", ..., "save": name}` has read it (read_token_step)."""
    stages = next(c for c in world_calls if c["call"] == "codepipeline:CreatePipeline")["params"]["pipeline"]["stages"]
    index = [s["name"] for s in stages].index(stage)
    return f"${{{name}.stageStates.{index}.actionStates.0.latestExecution.token}}"


def read_token_step(pipeline="payments-api", name="gate"):
    return {"call": "codepipeline:GetPipelineState", "params": {"name": pipeline}, "save": name}


def test_one_approval_needed_whichever_input_comes_first(tmp_path):
    """Message first: its token becomes the pending one (no token was issued yet). Event first: CodePipeline
    issued a token at the action's start, and its message carries that token (read here from the world)."""
    world = payments_world()
    issued = pending_token_ref(world)
    orders = {
        "message first": [{"event": message()}, {"event": approval_event("STARTED")}],
        "event first": [{"event": approval_event("STARTED")}, read_token_step(), {"event": message(token=issued)}],
        "event twice, message twice": [{"event": approval_event("STARTED")}, read_token_step(),
                                       {"event": message(token=issued)}, {"event": message(token=issued)},
                                       {"event": approval_event("STARTED")}],
    }
    for name, inputs in orders.items():
        steps = [{"event": started(RUN, "2026-11-27T09:00:02Z")}] + inputs
        doc = replay([write_scenario(tmp_path, steps, world=world)])
        needed = effects(doc, "message", event="approval.needed", topic="ApproversTopic")
        assert len(needed) == 1, name
        [item] = approvals(doc)
        token = TOKEN if name == "message first" else item["token"]
        assert (item["status"], item["token"], item["execution_id"]) == ("pending", token, RUN), name
        assert token != TOKEN or name == "message first", name  # the world's own token, not the sample's
        # Warden builds the review link from the token GetPipelineState gives.
        link = "/pipelines/payments-api/view?region=us-east-1#/Approve/ProdGate/approve/"
        assert link + token in needed[0]["body"], name
        assert item["expires"] == "2026-12-04T09:06:00Z" and item["since"] == "2026-11-27T09:06:49Z", name


def test_two_concurrent_approvals_escalate_independently():
    doc = replay([str(SCENARIOS / "approval-concurrent.json")])
    jsonschema.validate(doc, SCHEMA)
    escalations = [(at, pipeline, topic) for at, event, topic, _, pipeline in approval_messages(doc)
                   if event == "approval.escalated"]
    assert escalations == [
        ("2026-11-27T13:10:00Z", "payments-api", "ApproversTopic"),  # 4 h after 09:06
        ("2026-11-27T15:05:00Z", "orders-api", "ApproversTopic"),  # 4 h after 11:00
        # payments-api was approved at 15:30: its 8 h tier never fires; orders-api's does.
        ("2026-11-27T19:05:00Z", "orders-api", "TeamTopic"),
        ("2026-11-27T19:05:00Z", "orders-api", "OnCallTopic"),
    ]
    assert {i["pipeline"]: i["status"] for i in approvals(doc)} == {"payments-api": "approved",
                                                                   "orders-api": "pending"}


def test_parallel_executions_at_the_same_action_are_separate_approvals(tmp_path, world):
    first, second = "a0000000-0000-4000-8000-000000000001", "b0000000-0000-4000-8000-000000000002"
    steps = [
        {"event": started(first, "2026-11-27T09:00:00Z")},
        {"event": approval_event("STARTED", execution=first, at="2026-11-27T09:05:00Z")},
        {"event": started(second, "2026-11-27T10:00:00Z")},
        {"event": approval_event("STARTED", execution=second, at="2026-11-27T10:05:00Z")},
        # The later one is approved; the earlier one, no longer the latest at its stage, still waits.
        {"at": "2026-11-27T11:00:00Z", "event": approval_event("SUCCEEDED", execution=second)},
        {"at": "2026-11-27T13:30:00Z", "schedule": "ApprovalEscalator"},
    ]
    doc = replay([write_scenario(tmp_path, steps, world=payments_world("PARALLEL"))], world=world)
    assert [(at, event, topic) for at, event, topic, _, _ in approval_messages(doc) if topic != "ChatTopic"] == [
        ("2026-11-27T09:05:00Z", "approval.needed", "ApproversTopic"),
        ("2026-11-27T10:05:00Z", "approval.needed", "ApproversTopic"),
        ("2026-11-27T11:00:00Z", "approval.approved", "TeamTopic"),
        ("2026-11-27T13:30:00Z", "approval.escalated", "ApproversTopic"),
    ]
    [reminder] = effects(doc, "message", event="approval.escalated")
    assert first in reminder["body"]
    assert {i["execution_id"]: i["status"] for i in approvals(doc)} == {first: "pending", second: "approved"}


def test_an_approval_given_while_its_event_was_lost_is_resolved_by_reconciliation_silently():
    doc = replay([str(SCENARIOS / "approval-lost-event.json")])
    jsonschema.validate(doc, SCHEMA)
    assert [e for _, e, *_ in approval_messages(doc)] == ["approval.needed", "approval.needed"]  # approvers, chat
    sweep = doc["steps"][4]
    assert sweep["input"] == "schedule:ApprovalEscalator"
    assert [e["kind"] for e in without_quiet_digest_mark(sweep["effects"])] == ["item"]  # no message, no page
    [item] = approvals(doc)
    assert item["status"] == "reconciled" and "fired" not in item and "gsi1pk" not in item


def test_an_ended_execution_resolves_its_approvals_silently(tmp_path):
    ended = sample("codepipeline/pipeline-superseded.json", **{"execution-id": RUN})
    ended["time"] = "2026-11-27T10:00:00Z"
    steps = [{"event": started(RUN, "2026-11-27T09:00:02Z")}, {"event": approval_event("STARTED")},
             {"event": ended}, {"at": "2026-11-27T18:00:00Z", "schedule": "ApprovalEscalator"}]
    doc = replay([write_scenario(tmp_path, steps, world=payments_world())])
    assert [e for _, e, *_ in approval_messages(doc)] == ["approval.needed", "approval.needed"]
    [item] = approvals(doc)
    assert (item["status"], item["reason"]) == ("closed", "execution SUPERSEDED")


def test_a_sweep_run_twice_at_the_same_time_sends_each_tier_once(tmp_path, world):
    steps = [{"event": started(RUN, "2026-11-27T09:00:02Z")}, {"event": approval_event("STARTED")}]
    replay([write_scenario(tmp_path, steps, world=payments_world())], world=world)
    world.set_time(parse_iso("2026-11-27T17:10:00Z"))  # both the 4 h and the 8 h tier... only 8 h is sent

    def escalator():
        env = world.environment(world.functions["ApprovalEscalator"])
        topics = {a: env[f"{a.upper()}_TOPIC_ARN"] for a in ("oncall", "approvers", "team", "chat")}
        store = Approvals(world.client("dynamodb"), env["STATE_TABLE"])
        notifier = Notifier(publisher=Publisher(world.client("sns"), topics),
                            config=ConfigStore(world.client("ssm"), env["WARDEN_CONFIG_PREFIX"]),
                            pagerduty=PagerDuty(world.pagerduty.url, lambda: "R0UT1NGKEY0LOCAL0000000"))
        reads = CodePipelineGateway(Clients(world.session), own_account=ACCOUNT, own_region=REGION)
        return store, ApprovalEscalator(approvals=store, codepipeline=reads, notifier=notifier,
                                        config=notifier._config)

    (store, one), (_, two) = escalator(), escalator()
    mark = world.begin()
    # Both sweeps read the index before either writes: the race the conditional claim must win.
    seen_by_one, seen_by_two = store.pending(), store.pending()
    one.escalate(seen_by_one, str(uuid.uuid4()))
    two.escalate(seen_by_two, str(uuid.uuid4()))
    messages = [e for e in world.effects(mark) if e["kind"] == "message"]
    assert sorted(e["topic"] for e in messages) == ["OnCallTopic", "TeamTopic"]
    assert len(world.pagerduty.events) == 1


def test_two_scheduled_sweeps_at_the_same_moment_send_the_reminder_once():
    doc = replay([str(SCENARIOS / "approval-concurrent-sweeps.json")])
    assert [(at, topic) for at, event, topic, *_ in approval_messages(doc) if event == "approval.escalated"] == [
        ("2026-11-27T13:10:00Z", "ApproversTopic")]


def test_business_hours_hold_a_reminder_but_not_the_on_call_tier(tmp_path):
    config = {"escalation": {"tiers": [
        {"name": "remind", "after": "4h", "audiences": ["approvers"],
         "business_hours": {"timezone": "Europe/Berlin", "days": ["mon", "tue", "wed", "thu", "fri"],
                            "start": "09:00", "end": "18:00"}},
        {"name": "page", "after": "10h", "audiences": ["oncall"], "severity": "high"}]}}
    # Requested Friday 2026-11-27 at 15:00 Berlin (14:00Z): 4 h later is 19:00 Berlin, after hours.
    steps = [{"event": started(RUN, "2026-11-27T13:55:00Z")},
             {"event": approval_event("STARTED", at="2026-11-27T14:00:00Z")},
             {"at": "2026-11-27T18:30:00Z", "schedule": "ApprovalEscalator"},   # 19:30 Berlin: held
             {"at": "2026-11-28T00:30:00Z", "schedule": "ApprovalEscalator"},   # 10 h 30: on-call fires
             {"at": "2026-11-30T08:05:00Z", "schedule": "ApprovalEscalator"}]   # Monday 09:05 Berlin
    doc = replay([write_scenario(tmp_path, steps, config=config, world=payments_world())])
    assert [(at, e, topic) for at, e, topic, *_ in approval_messages(doc) if e == "approval.escalated"] == [
        ("2026-11-28T00:30:00Z", "approval.escalated", "OnCallTopic")]
    # The reminder is not sent after the page: a later tier has fired, an earlier one would be noise.


def test_the_sweep_emits_the_oldest_pending_age(tmp_path, world):
    steps = [{"event": started(RUN, "2026-11-27T09:00:02Z")},
             {"event": approval_event("STARTED", at="2026-11-27T09:06:49Z")},
             {"at": "2026-11-27T14:06:49Z", "schedule": "ApprovalEscalator"}]
    replay([write_scenario(tmp_path, steps, world=payments_world())], world=world)
    metrics = [json.loads(line) for line in world.logs.getvalue().splitlines()
               if line.startswith("{") and "OldestPendingApprovalAge" in line]
    assert metrics[-1]["OldestPendingApprovalAge"] in (5 * 3600.0, [5 * 3600.0])
    assert metrics[-1]["service"] == "approval-escalator"  # the alarm's dimension


def test_the_router_leaves_approval_actions_to_the_tracker(world):
    outcome = world.invoke("NotificationRouter", sample("codepipeline/action-started-approval.json"))
    assert outcome.result["status"] == "ignored"


def test_a_paged_approval_is_resolved_once_when_its_execution_ends_before_its_outcome_arrives(tmp_path):
    # Given an approval paged by the 8 h tier
    steps = [{"event": started(RUN, "2026-11-27T09:00:02Z")},
             {"event": approval_event("STARTED", at="2026-11-27T09:06:49Z")},
             {"at": "2026-11-27T17:10:00Z", "schedule": "ApprovalEscalator"},
             # When the execution's SUCCEEDED is delivered before the approval's own SUCCEEDED
             {"event": sample("codepipeline/pipeline-succeeded.json", **{"execution-id": RUN})},
             {"event": approval_event("SUCCEEDED", at="2026-11-27T17:20:00Z")}]
    doc = replay([write_scenario(tmp_path, steps, world=payments_world())])
    # Then the page is resolved once, and the approval is still told as approved
    [trigger] = effects(doc, "page", action="trigger")
    assert [e["dedup_key"] for e in effects(doc, "page", action="resolve")] == [trigger["dedup_key"]]
    assert effects(doc, "message", event="approval.approved", topic="TeamTopic")


GATES = ["ProdGate", "SecurityGate", "DataGate"]


def gated_world():
    """payments-api with three approval actions side by side in its Approve stage (one execution waits at all)."""
    world = payments_world()
    stage = next(s for s in world[1]["params"]["pipeline"]["stages"] if s["name"] == "Approve")
    template = stage["actions"][0]
    stage["actions"] = [dict(template, name=name) for name in GATES]
    return world


def gated_requests():
    return [{"event": approval_event("STARTED", at="2026-11-27T09:06:49Z", action=gate,
                                     **{"action-execution-id": f"00000000-0000-4000-8000-00000000000{n}"})}
            for n, gate in enumerate(GATES)]


def test_the_on_call_tier_pages_once_per_execution_listing_its_approvals_and_resolves_with_the_last(tmp_path):
    # Given one execution waiting at three approval actions
    steps = [{"event": started(RUN, "2026-11-27T09:00:02Z")}, *gated_requests(),
             # When the 8 h tier is reached
             {"at": "2026-11-27T17:10:00Z", "schedule": "ApprovalEscalator"},
             # and the approvals are given one after the other
             *[{"event": approval_event("SUCCEEDED", at=f"2026-11-27T17:2{n}:00Z", action=gate,
                                        **{"action-execution-id": f"00000000-0000-4000-8000-00000000000{n}"})}
               for n, gate in enumerate(GATES)]]
    doc = replay([write_scenario(tmp_path, steps, world=gated_world())])
    sweep = {"steps": [doc["steps"][4]]}
    # Then on-call is paged once, for the execution, and told once, with the other approvals listed
    [trigger] = effects(sweep, "page", action="trigger")
    assert trigger["dedup_key"] == f"pipeline-warden/approval#{ACCOUNT}#{REGION}#payments-api/{RUN}"
    assert "2 more approvals" in trigger["summary"]
    [oncall] = effects(sweep, "message", topic="OnCallTopic")
    assert oncall["body"].count("Also waiting: Approve/") == 2
    assert len(effects(sweep, "message", topic="TeamTopic")) == 1
    # And every approval counts the tier as fired; the page is resolved once, when the last one is given
    assert all(sorted(i["fired"]) == ["escalate"] for i in approvals(doc))
    resolves = [(step["at"], e["dedup_key"]) for step in doc["steps"] for e in step["effects"]
                if e["kind"] == "page" and e["action"] == "resolve"]
    assert resolves == [("2026-11-27T17:22:00Z", trigger["dedup_key"])]


def test_a_sweep_out_of_time_leaves_the_rest_due_for_the_next_one(tmp_path, world):
    # Given three approvals past their 4 h tier
    replay([write_scenario(tmp_path, [{"event": started(RUN, "2026-11-27T09:00:02Z")}, *gated_requests()],
                           world=gated_world())], world=world)
    world.set_time(parse_iso("2026-11-27T13:10:00Z"))
    function = world.functions["ApprovalEscalator"]
    with world._function_env(function):
        escalator = world._module(function).container.approval_escalator  # the deployed wiring
    mark = world.begin()
    # When a sweep finds its invocation about to end
    escalator.time_left = lambda: 5_000
    with world._function_env(function):
        first = escalator.sweep(str(uuid.uuid4()))
    # Then it starts nothing and says what it left
    assert first["escalated"] == [] and len(first["left"]) == 3
    assert [e for e in world.effects(mark) if e["kind"] == "message"] == []
    # And the next sweep, with time, sends the reminder it left (no tier lost)
    escalator.time_left = lambda: 100_000
    with world._function_env(function):
        second = escalator.sweep(str(uuid.uuid4()))
    assert len(second["escalated"]) == 3 and second["left"] == []
    assert len([e for e in world.effects(mark) if e["kind"] == "message" and e["topic"] == "ApproversTopic"]) == 1
