"""The escalation sweep on in-memory seams: tiers fire unless CodePipeline positively shows the approval
is no longer pending; when CodePipeline cannot answer, the message says so and why."""

from datetime import UTC, datetime

import pytest

from tests.unit.fakes import Configs, InMemoryApprovals, RecordingNotifier, gateway
from warden.approvals.escalator import ApprovalEscalator
from warden.core import clock

OWN, REGION, ELSEWHERE = "111122223333", "us-east-1", "us-east-2"
RUN, TOKEN = "run-1", "token-1"


@pytest.fixture
def at():
    def set_time(text):
        moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
        clock.set_source(lambda: moment)
    yield set_time
    clock.set_source(None)


def scene(region=ELSEWHERE):
    reads, store, told = gateway(), InMemoryApprovals(), RecordingNotifier()
    store.add(pk=f"approval#{OWN}#{region}#payments-api", sk=f"Approve#ProdGate#{RUN}", pipeline="payments-api",
              stage="Approve", action="ProdGate", region=region, account=OWN, execution_id=RUN, token=TOKEN,
              since="2026-11-27T09:06:49Z", expires="2026-12-04T09:06:00Z")
    escalator = ApprovalEscalator(approvals=store, codepipeline=reads, notifier=told, config=Configs())
    return reads, store, told, escalator


def escalated(told):
    return [(n.event, audiences, n.unconfirmed) for n, audiences in told.sent]


def test_given_a_pending_approval_in_another_region_then_reminded_at_4h_and_escalated_at_8h(at):
    reads, store, told, escalator = scene()
    reads.in_(OWN, ELSEWHERE).approval_waiting("payments-api", RUN, TOKEN)
    at("2026-11-27T13:10:00")
    escalator.sweep("sweep-1")
    at("2026-11-27T17:10:00")
    escalator.sweep("sweep-2")
    assert escalated(told) == [("approval.escalated", ("approvers",), None),
                               ("approval.escalated", ("team", "oncall"), None)]
    [item] = store.items.values()
    assert item["status"] == "pending" and item["fired"] == {"remind", "escalate"}


def test_given_codepipeline_cannot_answer_then_the_tier_fires_and_says_why(at):
    reads, store, told, escalator = scene()
    reads.in_(OWN, ELSEWHERE).approval_waiting("payments-api", RUN, TOKEN)
    reads.in_(OWN, ELSEWHERE).fail_with = "ThrottlingException"
    at("2026-11-27T13:10:00")
    result = escalator.sweep("sweep-1")
    [(event, audiences, why)] = escalated(told)
    assert (event, audiences) == ("approval.escalated", ("approvers",))
    assert why.startswith("Warden could not confirm with CodePipeline") and "ThrottlingException" in why
    assert result["unconfirmed"] == [f"Approve#ProdGate#{RUN}"] and result["reconciled"] == []


@pytest.mark.parametrize(("status", "token"), [("Succeeded", TOKEN), ("InProgress", "token-2")])
def test_given_codepipeline_shows_it_decided_then_resolved_silently(at, status, token):
    reads, store, told, escalator = scene()
    reads.in_(OWN, ELSEWHERE).approval_waiting("payments-api", RUN, token, status=status)
    at("2026-11-27T13:10:00")
    result = escalator.sweep("sweep-1")
    assert told.sent == [] and result["reconciled"] == [f"Approve#ProdGate#{RUN}"]
    [item] = store.items.values()
    assert (item["status"], item["reason"], item["status_seen"]) == ("reconciled", "not pending in CodePipeline",
                                                                     status)


def test_given_codepipeline_cannot_answer_past_the_expiry_then_resolved_with_the_reason_kept(at):
    reads, store, told, escalator = scene()
    at("2026-12-04T10:00:00")
    escalator.sweep("sweep-1")
    [item] = store.items.values()
    assert (item["status"], item["reason"]) == ("reconciled", "past its expiry")
    assert "PipelineNotFoundException" in item["unconfirmed"]


def test_a_sweep_retried_with_the_same_id_sends_each_tier_once_and_two_sweeps_too(at):
    reads, store, told, escalator = scene()
    reads.in_(OWN, ELSEWHERE).approval_waiting("payments-api", RUN, TOKEN)
    at("2026-11-27T13:10:00")
    pending = store.pending()
    escalator.escalate(pending, "sweep-1")
    escalator.escalate(pending, "sweep-2")  # raced on the same index read
    escalator.sweep("sweep-1")  # retried
    assert len(told.sent) == 1


def test_nothing_is_asked_before_a_tier_is_due(at):
    reads, store, told, escalator = scene()
    fake = reads.in_(OWN, ELSEWHERE)
    fake.approval_waiting("payments-api", RUN, TOKEN)
    at("2026-11-27T11:00:00")
    assert escalator.sweep("sweep-1")["escalated"] == [] and fake.calls == 0
