"""A pipeline's CodeDeploy deploy action whose deployment the gate held (through its lifecycle hook) is told, not
paged (warden.notify.holds, warden.router.router). In AWS the hook's Failed ends the deployment FAILED, and then
CodePipeline fails the action (its event names the deployment: `execution-result.external-execution-id`), the stage
and the execution (theirs name no deployment: ListActionExecutions does). Were they incidents, on-call would be
paged for a holiday freeze and the pipeline's incident (about production) would keep feeding the automatic freeze.
Given / When / Then."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import permutations

import pytest

from tests import rollback_story as story
from tests.integration.freeze.test_gate import configure
from tests.integration.freeze.test_held_by_gate import begin, deliver, effects
from tests.integration.rollback.test_validation_hook import setup as hook_setup
from warden.notify.incidents import Incidents, incident_key
from warden_local.fakes import codedeploy_state
from warden_local.fakes.codepipeline import codepipeline_state

XMAS = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)
AFTER = datetime(2026, 12, 28, 9, 0, tzinfo=UTC)
E1, E2 = "0b1c2d3e-1111-4a5b-8c7d-0000000000a1", "0b1c2d3e-2222-4a5b-8c7d-0000000000a2"
FREEZE = {"calendar": [{"name": "xmas", "message": "Christmas freeze", "dates": ["2026-12-25"],
                        "scope": {"pipelines": ["checkout"], "stages": ["prod"]}}]}
KEY = incident_key(account=story.ACCOUNT, region=story.REGION, pipeline=story.PIPELINE)
CODEDEPLOY = {"owner": "AWS", "provider": "CodeDeploy", "category": "Deploy", "version": "1"}


def checkout_pipeline(world):
    """checkout-api: Source, then Deploy (a CodeDeploy action deploying checkout/prod)."""
    world.client("iam").create_role(RoleName="checkout-pipeline", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "codepipeline.amazonaws.com"}}]}))
    world.client("codepipeline").create_pipeline(pipeline=story.pipeline_definition())


def failed_events(execution, deployment, at):
    """What CodePipeline emits when its CodeDeploy action's deployment failed: the action's FAILED (the documented
    shape: the deployment id in `execution-result.external-execution-id`), the stage's and the execution's."""
    result = {"external-execution-id": deployment, "external-execution-summary": f"Deployment {deployment} failed",
              "external-execution-url": "https://us-east-1.console.aws.amazon.com/codedeploy/home?#/deployments/"
                                        + deployment, "error-code": "JobFailed"}
    started = story._pipeline_event("Action", execution, "STARTED", at - timedelta(minutes=3), stage=story.STAGE,
                                    action="Deploy", type=CODEDEPLOY, **{"action-execution-id": f"act-{deployment}"})
    action = story._pipeline_event("Action", execution, "FAILED", at, stage=story.STAGE, action="Deploy",
                                   type=CODEDEPLOY, **{"action-execution-id": f"act-{deployment}",
                                                       "execution-result": result})
    stage = story.stage_event(execution, "FAILED", at + timedelta(seconds=1))
    run = story.pipeline_event(execution, "FAILED", at + timedelta(seconds=2))
    for event in (started, action, stage, run):  # it happened in CodePipeline: its API shows it
        assert codepipeline_state().apply_event(event)
    return {"action": action, "stage": stage, "run": run}


def held_at_christmas(world):
    """checkout-api's Deploy runs a deployment of checkout/prod on Christmas Day: its lifecycle hook asks the gate,
    which denies; the deployment fails, and so do the action, the stage and the execution."""
    checkout_pipeline(world)
    hook = hook_setup(world)
    configure(world, FREEZE)
    world.set_time(XMAS)
    world.invoke("DeploymentValidationHook", hook)
    assert codedeploy_state().hook_status(hook["LifecycleEventHookExecutionId"]) == "Failed"
    [failure] = [e for e in codedeploy_state().emitted if e["detail"]["deploymentId"] == hook["DeploymentId"]]
    events = failed_events(E1, hook["DeploymentId"], XMAS + timedelta(minutes=1))
    return hook["DeploymentId"], failure, events


def open_incident(world):
    return Incidents(world.client("dynamodb"), world.ref("StateTable")).current(KEY)


def test_a_pipelines_codedeploy_action_held_by_the_gate_pages_nobody_and_is_told_once(world):
    # Given checkout-api's deployment held by the Christmas freeze through its lifecycle hook
    _, failure, events = held_at_christmas(world)
    mark = begin(world)
    # When the action's, the stage's and the execution's FAILED events, and the deployment's, arrive, each twice
    for event in (events["action"], events["stage"], events["run"], failure, events["run"], events["action"],
                  events["stage"], failure):
        deliver(world, event)
    # Then nobody is paged, on-call hears nothing, no incident opens for the pipeline
    pages, oncall, held = effects(world, mark)
    assert pages == [] and oncall == []  # before: paged as action.failed, with an incident about production
    assert open_incident(world) is None
    # And the team is told once, with the gate's reason
    assert [m["topic"] for m in held] == ["TeamTopic"] and "Christmas freeze" in held[0]["body"]


ORDERS = sorted(set(permutations(("action", "stage", "run", "stage"))))[::3] + [("stage",), ("run",), ("action",)]


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(o) for o in ORDERS])
def test_held_action_stage_and_execution_failures_in_any_order_are_told_once_and_never_paged(world, order):
    _, _, events = held_at_christmas(world)
    mark = begin(world)
    for name in order:
        deliver(world, events[name])
    pages, oncall, held = effects(world, mark)
    assert pages == [] and oncall == [] and len(held) == 1
    assert open_incident(world) is None


def test_a_real_codedeploy_failure_in_that_stage_still_pages(world):
    # Given the held execution told, and after the holiday another execution whose deployment the gate allows
    _, _, events = held_at_christmas(world)
    for event in events.values():
        deliver(world, event)
    deployment = world.client("codedeploy").create_deployment(
        applicationName="checkout", deploymentGroupName="prod",
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}})["deploymentId"]
    world.set_time(AFTER)
    hook = hook_setup.__globals__["HOOK"]
    world.invoke("DeploymentValidationHook", dict(hook, DeploymentId=deployment,
                                                  LifecycleEventHookExecutionId="after-holiday-hook"))
    # When that deployment fails for real, and CodePipeline fails its action, stage and execution
    real = failed_events(E2, deployment, AFTER + timedelta(minutes=5))
    mark = begin(world)
    for name in ("stage", "action", "run"):
        deliver(world, real[name])
    # Then on-call is paged once, and the incident is the pipeline's
    pages, oncall, held = effects(world, mark)
    assert [p["action"] for p in pages] == ["trigger"] and oncall and held == []
    assert open_incident(world) is not None
