"""A deployment the gate held is told, not paged (warden.notify.holds). In AWS a beforeEntry condition whose result
is FAIL fails the stage and the pipeline execution (their FAILED events follow; no action runs), and a deployment
whose lifecycle hook reported Failed ends FAILED: the embedded CodePipeline and CodeDeploy emit those events. Were
they incidents, on-call would be paged for every deny of a holiday freeze, and the incident (about production)
would keep production frozen after the holiday: a freeze feeding itself. Given / When / Then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest

from tests.integration.freeze.test_gate import HOLIDAYS, ask, configure, pipeline
from tests.integration.rollback.test_validation_hook import setup as hook_setup
from warden.core import clock
from warden.notify.incidents import Incidents, incident_key
from warden_local.fakes import codedeploy_state
from warden_local.fakes.codepipeline import codepipeline_state

XMAS = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)
AFTER = datetime(2026, 12, 28, 8, 0, tzinfo=UTC)
KEY = incident_key(account="111122223333", region="us-east-1", pipeline="payments-api")


def deliver(world, event, at=None):
    world.set_time(at or clock.parse_iso(event["time"]))
    return world.invoke("NotificationRouter", event)


def begin(world):
    """A mark after everything observed so far (messages are drained when effects are read)."""
    world.effects(world.begin())
    return world.begin()


def effects(world, mark):
    found = world.effects(mark)
    return ([e for e in found if e["kind"] == "page"],
            [e for e in found if e["kind"] == "message" and e.get("topic") == "OnCallTopic"],
            [e for e in found if e["kind"] == "message" and e.get("event") == "deployment.held"])


def open_incident(world):
    return Incidents(world.client("dynamodb"), world.ref("StateTable")).current(KEY)


def held_at_christmas(world):
    """payments-api's Prod behind the gate, Berlin's holidays in the calendar; an execution reaches Prod on
    Christmas Eve: the gate denies, and CodePipeline fails the stage and the execution (their FAILED events)."""
    execution = pipeline(world)
    configure(world, HOLIDAYS)
    job, _ = ask(world, execution, XMAS)
    assert job["status"] == "Failed" and "Public holiday in Berlin" in job["failure"]["message"]
    stage, run = codepipeline_state().settle_entry(job["id"], XMAS + timedelta(seconds=2))
    return execution, stage, run


def stage_failed(execution, stage, at, state="FAILED"):
    stamp = clock.iso(at)
    return {"version": "0", "id": f"stage-{state}-{execution[:8]}-{stage}-{stamp}",
            "detail-type": "CodePipeline Stage Execution State Change", "source": "aws.codepipeline",
            "account": "111122223333", "time": stamp, "region": "us-east-1",
            "resources": ["arn:aws:codepipeline:us-east-1:111122223333:payments-api"],
            "detail": {"pipeline": "payments-api", "execution-id": execution, "stage": stage, "state": state,
                       "version": 1.0, "pipeline-execution-attempt": 1.0, "start-time": stamp}}


def dora_of(world):
    from warden.aws.dynamodb import from_item
    from warden.ledger.dora import dora
    from warden.ledger.view import execution_view

    items = world.client("dynamodb").scan(TableName=world.ref("LedgerTable"))["Items"]
    records = [execution_view(from_item(i)) for i in items if i["sk"]["S"] == "EXECUTION"]
    return dora(records, start=datetime(2026, 12, 1, tzinfo=UTC), end=datetime(2027, 1, 1, tzinfo=UTC))


def test_the_ledger_does_not_count_a_held_execution_as_a_failed_production_deployment(world):
    # Given an execution held at Prod on Christmas Eve, its FAILED events heard by DeploymentTracker
    execution, stage, run = held_at_christmas(world)
    for event in (stage, run):
        world.set_time(clock.parse_iso(event["time"]))
        world.invoke("DeploymentTracker", event)
    # Then the DORA figures count no failed production deployment (before: 1 of 1, production_stage_failed)
    figures = dora_of(world)
    assert (figures["deployments"], figures["failed"], figures["failed_deployments"]) == (0, 0, [])
    # And `warden ledger history` says it was held
    from warden.ledger.view import LedgerReader
    from warden_local.ledger_cli import _render

    reader = LedgerReader(world.client("dynamodb"), world.physical["LedgerTable"]["TableName"], world.account)
    [row] = [r for r in reader.history("payments-api").items if r["execution_id"] == execution]
    assert row["held_at_gate"]["stage"] == "Prod" and "Public holiday in Berlin" in row["held_at_gate"]["reason"]
    shown = _render("history", [row])
    assert "HELD" in shown and "FAILED" not in shown
    # And when its stage is retried after the holiday and fails for real, that failure counts
    job, _ = ask(world, execution, AFTER)
    assert job["status"] == "Succeeded"
    world.invoke("DeploymentTracker", stage_failed(execution, "Prod", AFTER + timedelta(minutes=10)))
    figures = dora_of(world)
    assert (figures["deployments"], figures["failed"], figures["failed_deployments"]) == (1, 1, [execution])


def test_the_embedded_codepipeline_fails_the_stage_and_the_execution_of_a_denied_entry(world):
    execution, stage, run = held_at_christmas(world)
    # Then the documented events: the stage's FAILED and the execution's FAILED
    assert (stage["detail-type"], stage["detail"]["stage"], stage["detail"]["state"]) == (
        "CodePipeline Stage Execution State Change", "Prod", "FAILED")
    assert (run["detail-type"], run["detail"]["state"], "stage" in run["detail"]) == (
        "CodePipeline Pipeline Execution State Change", "FAILED", False)
    # And CodePipeline's API says so: the execution Failed, the stage's latest execution Failed with its condition's
    # failure, and no action of the stage ran
    cp = world.client("codepipeline")
    assert cp.get_pipeline_execution(pipelineName="payments-api", pipelineExecutionId=execution)[
        "pipelineExecution"]["status"] == "Failed"
    prod = next(s for s in cp.get_pipeline_state(name="payments-api")["stageStates"] if s["stageName"] == "Prod")
    assert prod["latestExecution"] == {"pipelineExecutionId": execution, "status": "Failed", "type": "STANDARD"}
    entry = prod["beforeEntryConditionState"]
    assert entry["latestExecution"]["status"] == "Failed"
    assert "Public holiday in Berlin" in entry["conditionStates"][0]["ruleStates"][0]["latestExecution"]["summary"]
    assert "latestExecution" not in prod["actionStates"][0]
    assert cp.list_action_executions(pipelineName="payments-api", filter={
        "pipelineExecutionId": execution})["actionExecutionDetails"] == []


def test_a_holiday_deny_pages_nobody_is_told_held_once_and_production_opens_after_the_holiday(world):
    # Given an execution held at Prod on Christmas Eve
    execution, stage, run = held_at_christmas(world)
    mark = begin(world)
    # When its FAILED events are delivered, each twice (EventBridge delivers at least once)
    for event in (stage, run, stage, run):
        deliver(world, event)
    # Then nobody is paged, on-call hears nothing, no incident opens
    pages, oncall, held = effects(world, mark)
    assert pages == [] and oncall == []  # before: a page and a critical message to on-call
    assert open_incident(world) is None
    # And the team is told once that the deployment was held, with the gate's reason, at info severity
    assert [(m["topic"], m["severity"]) for m in held] == [("TeamTopic", "info")]
    assert "Public holiday in Berlin" in held[0]["body"] and "Prod" in held[0]["subject"]
    # And after the holiday the next execution enters: no incident keeps production frozen
    following = world.client("codepipeline").start_pipeline_execution(name="payments-api")["pipelineExecutionId"]
    job, _ = ask(world, following, AFTER)
    assert job["status"] == "Succeeded"  # before: Failed, "an incident is open" (a freeze feeding itself)


ORDERS = sorted(set(permutations(("stage", "run", "stage", "run"))))[::2] + [("run",), ("stage",)]


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
def test_held_failures_in_any_order_and_number_are_told_once_and_never_paged(world, order):
    _, stage, run = held_at_christmas(world)
    mark = begin(world)
    for name in order:
        deliver(world, {"stage": stage, "run": run}[name])
    pages, oncall, held = effects(world, mark)
    assert pages == [] and oncall == [] and len(held) == 1
    assert open_incident(world) is None


def test_a_real_production_failure_still_pages_and_freezes(world):
    # Given the calendar quiet: an execution enters Prod (the gate allows) and its deployment fails there
    execution = pipeline(world)
    configure(world, HOLIDAYS)
    job, _ = ask(world, execution, AFTER)
    assert job["status"] == "Succeeded"
    mark = begin(world)
    deliver(world, stage_failed(execution, "Prod", AFTER + timedelta(minutes=10)))
    # Then on-call is paged and the incident is about production
    pages, oncall, held = effects(world, mark)
    assert [p["action"] for p in pages] == ["trigger"] and oncall and held == []
    # And the next execution is frozen by it
    following = world.client("codepipeline").start_pipeline_execution(name="payments-api")["pipelineExecutionId"]
    job, _ = ask(world, following, AFTER + timedelta(minutes=20))
    assert job["status"] == "Failed" and "an incident is open" in job["failure"]["message"]


def test_a_held_execution_retried_after_the_holiday_pages_when_it_then_fails_for_real(world):
    # Given an execution held on Christmas Eve, its held failures told
    execution, stage, run = held_at_christmas(world)
    deliver(world, stage)
    deliver(world, run)
    # When its stage is retried after the holiday (the gate asked again, and allows), and then fails in Prod
    job, _ = ask(world, execution, AFTER)
    assert job["status"] == "Succeeded"
    mark = begin(world)
    deliver(world, stage_failed(execution, "Prod", AFTER + timedelta(minutes=10)))
    # Then that failure is the release's own: on-call is paged
    pages, oncall, held = effects(world, mark)
    assert [p["action"] for p in pages] == ["trigger"] and held == []
    # while a held failure delivered late (from before the retry) is still the hold's: told once already, no page
    mark = begin(world)
    deliver(world, stage, at=AFTER + timedelta(minutes=11))
    pages, _, held = effects(world, mark)
    assert pages == [] and held == []


def test_a_codedeploy_deployment_the_gate_held_is_told_not_paged(world):
    # Given checkout's prod group under a Christmas freeze, and a deployment whose hook runs on Christmas Day
    event = hook_setup(world)
    configure(world, {"calendar": [{"name": "xmas", "message": "Christmas freeze", "dates": ["2026-12-25"],
                                    "scope": {"pipelines": ["checkout"], "stages": ["prod"]}}]})
    world.set_time(datetime(2026, 12, 25, 12, 0, tzinfo=UTC))
    world.invoke("DeploymentValidationHook", event)
    assert codedeploy_state().hook_status(event["LifecycleEventHookExecutionId"]) == "Failed"
    # When CodeDeploy's FAILURE event of the deployment arrives, twice
    [failure] = [e for e in codedeploy_state().emitted if e["detail"]["deploymentId"] == event["DeploymentId"]]
    assert failure["detail"]["state"] == "FAILURE"
    mark = begin(world)
    deliver(world, failure, at=datetime(2026, 12, 25, 12, 1, tzinfo=UTC))
    deliver(world, failure, at=datetime(2026, 12, 25, 12, 2, tzinfo=UTC))
    # Then nobody is paged, the team hears once that it was held, and no incident freezes the group
    pages, oncall, held = effects(world, mark)
    assert pages == [] and oncall == []  # before: paged as deployment.failed
    assert [m["topic"] for m in held] == ["TeamTopic"] and "Christmas freeze" in held[0]["body"]
    key = incident_key(account="111122223333", region="us-east-1", application="checkout", deployment_group="prod")
    assert Incidents(world.client("dynamodb"), world.ref("StateTable")).current(key) is None


def test_a_hold_is_kept_under_redelivery_released_once_and_covers_only_its_stage_until_then(world):
    from warden.notify.holds import Holds

    holds = Holds(world.client("dynamodb"), world.ref("StateTable"))
    where = {"account": "111122223333", "pipeline": "payments-api", "execution_id": "x1"}
    # Given a hold, and the same deny redelivered later (a retried invocation): the first hold's time stands
    holds.hold(**where, stage="Prod", reason="frozen: xmas", at=XMAS)
    holds.hold(**where, stage="Prod", reason="frozen: xmas", at=XMAS + timedelta(minutes=1))
    hold = holds.execution("111122223333", "payments-api", "x1")
    assert (hold.stage, hold.held_at, hold.released_at) == ("Prod", clock.iso(XMAS), None)
    # It covers the execution's failures of that stage, and its pipeline FAILED (which names no stage), only
    assert hold.covers(XMAS, "Prod") and hold.covers(XMAS, None) and not hold.covers(XMAS, "Build")
    # When the stage is let in after the holiday: released once (a second release finds nothing to release)
    assert holds.release(**where, stage="Prod", at=AFTER) is True
    assert holds.release(**where, stage="Prod", at=AFTER + timedelta(minutes=5)) is False
    hold = holds.execution("111122223333", "payments-api", "x1")
    # Then a failure after the release is not the hold's, one delivered late from before it still is
    assert not hold.covers(AFTER + timedelta(minutes=10), "Prod") and hold.covers(XMAS, "Prod")
    # And a release of another stage, or of an execution never held, changes nothing
    assert holds.release(**where, stage="Build", at=AFTER) is False
    assert holds.release(**{**where, "execution_id": "x2"}, stage="Prod", at=AFTER) is False
