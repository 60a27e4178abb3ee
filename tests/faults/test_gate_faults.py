"""DeploymentGate under faults: telling the team of an automatic freeze fails past botocore's retries (SNS
throttled every attempt), or its answer is lost. The gate's answer never changes because of it (the stage
stays frozen), and the freeze is told exactly once in the end: a failed telling gives its claim back, and a
flip whose answer was lost is still recorded untold, so the next question tells it."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.faults.inject import BOTOCORE_ATTEMPTS
from tests.integration.freeze.test_gate import ask, configure, pipeline
from warden.core import clock
from warden.notify.incidents import Incidents, incident_key


def _incident(world, at):
    key = incident_key(account="111122223333", region="us-east-1", pipeline="payments-api")
    clock.set_source(lambda: at)
    try:
        Incidents(world.client("dynamodb"), world.ref("StateTable")).open(
            key, event_id="e1", execution_id="x1", at=at, summary="payments-api failed in Prod")
    finally:
        clock.set_source(None)


def started(world, mark):
    return [e for e in world.effects(mark) if e["kind"] == "message" and e.get("event") == "freeze.started"]


def test_a_freeze_that_cannot_be_told_still_denies_and_is_told_by_the_next_question(world, faults):
    execution = pipeline(world)
    configure(world, {})
    at = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    _incident(world, at)
    mark = world.begin()
    faults.fail("sns:Publish", BOTOCORE_ATTEMPTS)  # every botocore attempt of the team message
    job, _ = ask(world, execution, at)
    assert job["status"] == "Failed" and "an incident is open" in job["failure"]["message"]
    assert started(world, mark) == []
    job, _ = ask(world, execution, at)  # the next question, with SNS back
    ask(world, execution, at)
    assert job["status"] == "Failed"
    assert len(started(world, mark)) == 1


def test_a_lost_answer_of_the_freeze_flip_is_told_by_the_next_question_exactly_once(world, faults):
    execution = pipeline(world)
    configure(world, {})
    at = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    _incident(world, at)
    mark = world.begin()
    faults.fail("dynamodb:UpdateItem", BOTOCORE_ATTEMPTS, lost=True,
                when=lambda body: b"FREEZE#" in body and b"automatic" in body)
    job, _ = ask(world, execution, at)
    assert job["status"] == "Failed"  # the incident still freezes: reading it did not fail
    assert started(world, mark) == []  # the flip happened, its answer was lost: not told yet
    ask(world, execution, at)
    ask(world, execution, at)
    assert len(started(world, mark)) == 1  # before: 0, the lost flip was never told


def test_a_gate_error_whose_telling_failed_is_told_by_the_next_question_in_the_hour(world, faults):
    """Before, the hour's notice was claimed before it was told: a throttled publish muted the gate's error for
    the rest of the hour while it allowed every deployment."""
    execution = pipeline(world)
    world.client("ssm").put_parameter(Name="/pipeline-warden/freeze", Type="String", Overwrite=True,
                                      Value='{"calendar": [{"name": "x"}]}')
    mark = world.begin()
    faults.fail("sns:Publish", 100)  # SNS throttled throughout the first question
    job, _ = ask(world, execution, datetime(2026, 12, 25, 12, 0, tzinfo=UTC))
    assert job["status"] == "Succeeded"  # the answer does not wait for the telling
    faults.clear()

    def told():
        return [e for e in world.effects(mark) if e["kind"] == "message" and e.get("event") == "freeze.error"]

    assert told() == []
    ask(world, execution, datetime(2026, 12, 25, 12, 20, tzinfo=UTC))
    ask(world, execution, datetime(2026, 12, 25, 12, 40, tzinfo=UTC))
    assert len(told()) == 1
    # And the hour's item expires (DynamoDB's TTL) two days after the error was first recorded
    items = world.client("dynamodb").scan(TableName=world.physical["StateTable"]["TableName"])["Items"]
    hours = [i for i in items if i["pk"]["S"].startswith("FREEZE#") and "/error#" in i["pk"]["S"]]
    assert [i["pk"]["S"].rsplit("#", 1)[1] for i in hours] == ["2026122512"]
    assert int(hours[0]["expires_at"]["N"]) == int(datetime(2026, 12, 27, 12, 0, tzinfo=UTC).timestamp())


def _hold(world, execution):
    from warden.notify.holds import Holds

    return Holds(world.client("dynamodb"), world.ref("StateTable")).execution("111122223333", "payments-api",
                                                                              execution)


def _answers(world, mark):
    return [e["api"] for e in world.effects(mark) if e["kind"] == "call" and e["api"].startswith("codepipeline:PutJob")]


def test_a_hold_that_cannot_be_written_is_not_answered_and_the_retry_denies_with_its_hold(world, faults):
    # Given a holiday freeze, and the hold's write throttled past botocore's retries once
    from tests.integration.freeze.test_gate import HOLIDAYS

    execution = pipeline(world)
    configure(world, HOLIDAYS)
    mark = world.begin()
    faults.fail("dynamodb:UpdateItem", BOTOCORE_ATTEMPTS, when=lambda body: b"HOLD#" in body)
    # When the rule's job is asked (Lambda retries the failed invocation)
    job, _ = ask(world, execution, datetime(2026, 12, 24, 10, 0, tzinfo=UTC))
    # Then the first attempt answered nothing (a deny without its hold would page on-call and feed the automatic
    # freeze); the retry recorded the hold, then denied: one answer, its hold in place for the FAILED events
    assert job["status"] == "Failed" and "Public holiday in Berlin" in job["failure"]["message"]
    assert _answers(world, mark) == ["codepipeline:PutJobFailureResult"]
    hold = _hold(world, execution)
    assert hold is not None and hold.stage == "Prod" and "Public holiday in Berlin" in hold.reason


def test_a_hold_never_written_leaves_the_job_unanswered_and_dead_letters(world, faults):
    from tests.faults.inject import LAMBDA_ATTEMPTS
    from tests.integration.freeze.test_gate import HOLIDAYS

    execution = pipeline(world)
    configure(world, HOLIDAYS)
    mark = world.begin()
    faults.fail("dynamodb:UpdateItem", BOTOCORE_ATTEMPTS * LAMBDA_ATTEMPTS, when=lambda body: b"HOLD#" in body)
    job, _ = ask(world, execution, datetime(2026, 12, 24, 10, 0, tzinfo=UTC))
    # Then the freeze is not broken (no success), and no deny went out without its hold: the job is unanswered
    # (CodePipeline fails the condition when it times out), and the invocation is dead-lettered with the reason
    found = world.effects(mark)
    assert job["status"] == "InProgress"
    assert [e for e in found if e["kind"] == "call" and e["api"].startswith("codepipeline:PutJob")] == []
    assert _hold(world, execution) is None
    [dead] = [e for e in found if e["kind"] == "dead_letter"]
    assert dead["function"] == "DeploymentGate" and "UpdateItem" in dead["error"]
