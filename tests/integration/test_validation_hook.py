"""DeploymentValidationHook (issue 10 §6): the CodeDeploy lifecycle hook reports Succeeded or Failed from the
alarms guarding the deployment group, always, once."""

from __future__ import annotations

import json

from tests.helpers import EVENTS
from warden_local.fakes import codedeploy_state

HOOK = json.loads((EVENTS / "lifecycle-hook" / "after-allow-traffic.json").read_text())


def setup(world, *, alarms=("checkout-prod-errors",), tagged=(), firing=()):
    cw, cd = world.client("cloudwatch"), world.client("codedeploy")
    for name in {*alarms, *tagged, *firing}:
        tags = [{"Key": "pipeline-warden:deployment-group", "Value": "checkout/prod"}] if name in tagged else []
        cw.put_metric_alarm(AlarmName=name, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold", Tags=tags)
    for name in firing:
        cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="Threshold Crossed: 4 errors")
    cd.create_application(applicationName="checkout", computePlatform="Lambda")
    cd.create_deployment_group(applicationName="checkout", deploymentGroupName="prod",
                               serviceRoleArn="arn:aws:iam::111122223333:role/codedeploy",
                               alarmConfiguration={"enabled": True, "alarms": [{"name": a} for a in alarms]})
    deployment = cd.create_deployment(applicationName="checkout", deploymentGroupName="prod", revision={
        "revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}})["deploymentId"]
    return dict(HOOK, DeploymentId=deployment)


def reported(world, mark):
    return [e["params"] for e in world.effects(mark)
            if e["kind"] == "call" and e["api"] == "codedeploy:PutLifecycleEventHookExecutionStatus"]


def test_an_alarm_of_the_group_in_alarm_fails_the_hook_and_names_it(world):
    event = setup(world, firing=("checkout-prod-errors",))
    mark = world.begin()
    outcome = world.invoke("DeploymentValidationHook", event)
    assert [r["status"] for r in reported(world, mark)] == ["Failed"]
    assert outcome.result["firing"][0]["alarm"] == "checkout-prod-errors"
    assert '"checkout-prod-errors"' in world.logs.getvalue()


def test_alarms_tagged_for_the_group_are_checked_too_within_a_tag_grant(world):
    event = setup(world, alarms=(), tagged=("checkout-latency",), firing=("checkout-latency",))
    world.client("ssm").put_parameter(Name="/pipeline-warden/rollback", Type="String", Overwrite=True, Value=json.dumps(
        {"tag_grants": [{"alarms": ["checkout-*"], "deployment_groups": ["checkout/*"]}]}))
    mark = world.begin()
    world.invoke("DeploymentValidationHook", event)
    assert [r["status"] for r in reported(world, mark)] == ["Failed"]


def test_an_alarm_tagged_for_a_group_no_grant_covers_never_fails_that_groups_deployment(world):
    # Given another team's alarm in ALARM, tagged with checkout/prod, and a grant for teamb-* alarms on teamb/*
    # groups only, when checkout/prod's hook runs, then that alarm is not checked: the deployment goes on.
    event = setup(world, alarms=(), tagged=("teamb-noise",), firing=("teamb-noise",))
    world.client("ssm").put_parameter(Name="/pipeline-warden/rollback", Type="String", Overwrite=True, Value=json.dumps(
        {"tag_grants": [{"alarms": ["teamb-*"], "deployment_groups": ["teamb/*"]}]}))
    mark = world.begin()
    world.invoke("DeploymentValidationHook", event)
    assert [r["status"] for r in reported(world, mark)] == ["Succeeded"]
    assert "no tag grant covers it" in world.logs.getvalue()


def test_alarms_named_by_a_rule_are_checked_too(world):
    event = setup(world, alarms=(), firing=("checkout-prod-p99",))
    world.client("ssm").put_parameter(Name="/pipeline-warden/rollback", Type="String", Overwrite=True, Value=json.dumps(
        {"rules": [{"name": "checkout", "alarms": ["checkout-prod-*"], "deployment_group": "checkout/prod"}]}))
    mark = world.begin()
    world.invoke("DeploymentValidationHook", event)
    assert [r["status"] for r in reported(world, mark)] == ["Failed"]


def test_quiet_alarms_let_the_deployment_through(world):
    event = setup(world)
    mark = world.begin()
    world.invoke("DeploymentValidationHook", event)
    assert [r["status"] for r in reported(world, mark)] == ["Succeeded"]
    assert codedeploy_state().hook_status(event["LifecycleEventHookExecutionId"]) == "Succeeded"


def test_a_redelivered_invocation_is_fine(world):
    event = setup(world)
    world.invoke("DeploymentValidationHook", event)
    mark = world.begin()
    outcome = world.invoke("DeploymentValidationHook", event)
    assert outcome.error is None and outcome.result["reported"] is False
    assert [e for e in world.effects(mark) if e["kind"] == "dead_letter"] == []


def test_when_it_cannot_check_it_still_reports_failed_by_default_or_as_configured(world):
    event = setup(world)
    # The group is deleted under the running deployment (moto has no DeleteDeploymentGroup: drop it in place).
    from moto.codedeploy.models import codedeploy_backends

    del codedeploy_backends["111122223333"]["us-east-1"].deployment_groups["checkout"]["prod"]
    mark = world.begin()
    world.invoke("DeploymentValidationHook", event)
    assert [r["status"] for r in reported(world, mark)] == ["Failed"]

    world.client("ssm").put_parameter(Name="/pipeline-warden/rollback", Type="String", Overwrite=True,
                                      Value=json.dumps({"hook_on_error": "succeed"}))
    second = dict(event, LifecycleEventHookExecutionId="second-hook-execution")
    world._modules.clear()  # a new container: the configuration is read afresh
    mark = world.begin()
    world.invoke("DeploymentValidationHook", second)
    assert [r["status"] for r in reported(world, mark)] == ["Succeeded"]
