"""DeploymentGate (issue 25): a CodePipeline V2 stage-entry condition with a LambdaInvoke rule, and the CodeDeploy
lifecycle hook, asking one gate. Through the embedded world: the rule's job is the documented `CodePipeline.job`
event the embedded CodePipeline issues for the stage's beforeEntry rule, and its answer is what CodePipeline
records (PutJobSuccessResult / PutJobFailureResult). Given / When / Then."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.integration.rollback.test_validation_hook import setup as hook_setup
from warden.core import clock
from warden_local.fakes import codedeploy_state
from warden_local.fakes.codepipeline import codepipeline_state

RULE = {"name": "FreezeGate", "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "LambdaInvoke",
                                             "version": "1"},
        "configuration": {"FunctionName": "pipeline-warden-prod-deployment-gate",
                          "UserParameters": json.dumps({"pipeline": "payments-api", "stage": "Prod",
                                                        "execution": "#{codepipeline.PipelineExecutionId}"})}}
HOLIDAYS = {"calendar": [{"name": "berlin-holidays", "message": "Public holiday in Berlin: no production deploys",
                          "time_zone": "Europe/Berlin", "dates": ["2026-12-24", "2026-12-25", "2026-12-26"],
                          "scope": {"pipelines": ["payments-*"], "stages": ["Prod"]}}]}


def pipeline(world, name="payments-api"):
    world.client("iam").create_role(RoleName="cp", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "codepipeline.amazonaws.com"}}]}))
    world.client("codepipeline").create_pipeline(pipeline={
        "name": name, "pipelineType": "V2", "roleArn": "arn:aws:iam::111122223333:role/cp",
        "artifactStore": {"type": "S3", "location": "codepipeline-us-east-1-111122223333"},
        "stages": [
            {"name": "Source", "actions": [{"name": "Source", "actionTypeId": {
                "category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                "configuration": {"ConnectionArn": "arn:aws:codeconnections:us-east-1:111122223333:connection/x",
                                  "FullRepositoryId": "acme/payments", "BranchName": "main"},
                "outputArtifacts": [{"name": "src"}]}]},
            {"name": "Prod", "beforeEntry": {"conditions": [{"result": "FAIL", "rules": [RULE]}]},
             "actions": [{"name": "Deploy", "actionTypeId": {"category": "Deploy", "owner": "AWS",
                                                             "provider": "CodeDeploy", "version": "1"},
                          "configuration": {"ApplicationName": "payments", "DeploymentGroupName": "prod"},
                          "inputArtifacts": [{"name": "src"}]}]}]})
    return world.client("codepipeline").start_pipeline_execution(name=name)["pipelineExecutionId"]


def configure(world, freeze):
    world.client("ssm").put_parameter(Name="/pipeline-warden/freeze", Type="String", Overwrite=True,
                                      Value=json.dumps(freeze))


def ask(world, execution_id, at):
    world.set_time(at)
    job = codepipeline_state().issue_rule_job("payments-api", "Prod", execution_id)
    outcome = world.invoke("DeploymentGate", job)
    return codepipeline_state().jobs[job["CodePipeline.job"]["id"]], outcome.result


def test_a_berlin_holiday_denies_entry_with_the_reason_the_console_shows(world):
    # Given payments-api's Prod stage behind the gate, and Berlin's Christmas holidays in the freeze calendar
    execution = pipeline(world)
    configure(world, HOLIDAYS)
    # When an execution reaches Prod at 23:30 UTC on 23 December (00:30 on Christmas Eve in Berlin)
    job, result = ask(world, execution, datetime(2026, 12, 23, 23, 30, tzinfo=UTC))
    # Then the rule's job fails with the calendar's message, naming when the freeze ends (Boxing Day's end, CET)
    assert job["status"] == "Failed" and job["failure"]["type"] == "JobFailed"
    assert "Public holiday in Berlin" in job["failure"]["message"]
    assert "2026-12-26 23:00 UTC" in job["failure"]["message"]
    assert result["status"] == "denied"
    # And at 22:30 UTC the same evening (23:30 in Berlin, still the 23rd) it was let in
    job, _ = ask(world, execution, datetime(2026, 12, 23, 22, 30, tzinfo=UTC))
    assert job["status"] == "Succeeded"


def test_an_open_incident_freezes_the_production_stage_until_recovery_told_once_each(world):
    execution = pipeline(world)
    configure(world, {})
    from warden.notify.incidents import Incidents, incident_key

    # Given an incident open on payments-api (as NotificationRouter opens it on a failure)
    incidents = Incidents(world.client("dynamodb"), world.ref("StateTable"))
    key = incident_key(account="111122223333", region="us-east-1", pipeline="payments-api")
    at = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    clock.set_source(lambda: at)
    try:
        incidents.open(key, event_id="e1", execution_id="x1", at=at, summary="payments-api failed in Prod")
    finally:
        clock.set_source(None)
    mark = world.begin()
    job, _ = ask(world, execution, at)
    assert job["status"] == "Failed" and "an incident is open" in job["failure"]["message"]
    ask(world, execution, at)  # asked again: the freeze is told once
    started = [e for e in world.effects(mark) if e["kind"] == "message" and e.get("event") == "freeze.started"]
    assert len(started) == 1 and started[0]["topic"] == "TeamTopic"
    # When the pipeline recovers (the incident resolves), the stage opens and the lift is told once
    later = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    clock.set_source(lambda: later)
    try:
        resolved = incidents.succeeded(key, at=later)
        incidents.close(resolved, event_id="e2")
    finally:
        clock.set_source(None)
    mark = world.begin()
    job, _ = ask(world, execution, later)
    ask(world, execution, later)
    assert job["status"] == "Succeeded"
    lifted = [e for e in world.effects(mark) if e["kind"] == "message" and e.get("event") == "freeze.lifted"]
    assert len(lifted) == 1


def test_a_rollback_passes_every_freeze(world):
    execution = pipeline(world)
    configure(world, HOLIDAYS)
    state = codepipeline_state()
    at = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)
    world.set_time(at)
    record = state.pipelines["payments-api"].executions[execution]
    record.execution_type, record.trigger = "ROLLBACK", {"triggerType": "AutomatedRollback"}
    job, result = ask(world, execution, at)
    assert job["status"] == "Succeeded" and "rollback is never blocked" in result["reason"]


def test_an_unreadable_document_allows_and_tells_the_team_unless_fail_closed(world):
    execution = pipeline(world)
    world.client("ssm").put_parameter(Name="/pipeline-warden/freeze", Type="String", Overwrite=True,
                                      Value='{"calendar": [{"name": "x"}]}')
    mark = world.begin()
    job, result = ask(world, execution, datetime(2026, 12, 25, 12, 0, tzinfo=UTC))
    assert job["status"] == "Succeeded" and "cannot decide" in result["reason"]
    told = [e for e in world.effects(mark) if e["kind"] == "message" and e.get("event") == "freeze.error"]
    assert [e["topic"] for e in told] == ["TeamTopic"], "the team hears that the gate cannot decide"
    assert "cannot decide" in told[0]["subject"]
    # And asked again within the hour, it is not told again
    mark = world.begin()
    ask(world, execution, datetime(2026, 12, 25, 12, 30, tzinfo=UTC))
    assert not [e for e in world.effects(mark) if e["kind"] == "message"]


def test_a_frozen_deployment_group_fails_the_lifecycle_hook_with_the_calendars_message(world):
    event = hook_setup(world)
    configure(world, {"calendar": [{"name": "xmas", "message": "Christmas freeze", "dates": ["2026-12-25"],
                                    "scope": {"pipelines": ["checkout"], "stages": ["prod"]}}]})
    world.set_time(datetime(2026, 12, 25, 12, 0, tzinfo=UTC))
    outcome = world.invoke("DeploymentValidationHook", event)
    assert codedeploy_state().hook_status(event["LifecycleEventHookExecutionId"]) == "Failed"
    assert "Christmas freeze" in outcome.result["frozen"]


def test_the_codedeploy_hook_asks_the_gate_and_a_deployment_past_it_finishes(world):
    # Given checkout's prod group with quiet alarms and a holiday freeze on the checkout application's prod group
    event = hook_setup(world)
    configure(world, {"calendar": [{"name": "xmas", "message": "Christmas freeze", "dates": ["2026-12-25"],
                                    "scope": {"pipelines": ["checkout"], "stages": ["prod"]}}]})
    world.set_time(datetime(2026, 12, 24, 12, 0, tzinfo=UTC))
    world.invoke("DeploymentValidationHook", event)  # BeforeAllowTraffic, the day before: allowed
    assert codedeploy_state().hook_status(event["LifecycleEventHookExecutionId"]) == "Succeeded"
    # When its next hook runs during the freeze, the deployment is past the gate: it finishes
    world.set_time(datetime(2026, 12, 25, 12, 0, tzinfo=UTC))
    later = dict(event, LifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"] + "-2")
    world.invoke("DeploymentValidationHook", later)
    assert codedeploy_state().hook_status(later["LifecycleEventHookExecutionId"]) == "Succeeded"



def test_a_redelivered_job_keeps_its_first_answer_and_is_not_an_error(world):
    # Given a job answered once (denied on a holiday)
    execution = pipeline(world)
    configure(world, HOLIDAYS)
    at = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)
    world.set_time(at)
    job = codepipeline_state().issue_rule_job("payments-api", "Prod", execution)
    world.invoke("DeploymentGate", job)
    # When Lambda delivers the same invocation again
    mark = world.begin()
    again = world.invoke("DeploymentGate", job)
    # Then CodePipeline keeps the first answer, and the redelivery is neither an error nor a dead letter
    assert again.error is None and again.result["answered"] is False
    assert codepipeline_state().jobs[job["CodePipeline.job"]["id"]]["status"] == "Failed"
    assert not [e for e in world.effects(mark) if e["kind"] == "dead_letter"]


def test_a_calendar_entry_scoped_by_tags_freezes_the_pipelines_tagged_so(world):
    execution = pipeline(world)
    configure(world, {"calendar": [{"name": "critical", "message": "Critical services freeze",
                                    "dates": ["2026-12-25"], "scope": {"tags": {"tier": "critical"}}}]})
    at = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)
    job, _ = ask(world, execution, at)
    assert job["status"] == "Succeeded"  # untagged: not covered
    world.client("codepipeline").tag_resource(resourceArn="arn:aws:codepipeline:us-east-1:111122223333:payments-api",
                                              tags=[{"key": "tier", "value": "critical"}])
    job, _ = ask(world, execution, at)
    assert job["status"] == "Failed" and "Critical services freeze" in job["failure"]["message"]


def test_a_guarding_alarm_in_alarm_freezes_production(world):
    # Given the rollback document maps payments-5xx to payments-api/Prod, and it is in ALARM
    execution = pipeline(world)
    configure(world, {})
    world.client("ssm").put_parameter(Name="/pipeline-warden/rollback", Type="String", Overwrite=True,
                                      Value=json.dumps({"rules": [{"name": "p", "alarms": ["payments-5xx"],
                                                                   "pipeline": "payments-api", "stage": "Prod"}]}))
    cw = world.client("cloudwatch")
    cw.put_metric_alarm(AlarmName="payments-5xx", Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX",
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=5,
                        ComparisonOperator="GreaterThanThreshold")
    at = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert ask(world, execution, at)[0]["status"] == "Succeeded"  # OK: open
    cw.set_alarm_state(AlarmName="payments-5xx", StateValue="ALARM", StateReason="Threshold Crossed")
    job, _ = ask(world, execution, at)
    assert job["status"] == "Failed" and "guarding alarm in ALARM: payments-5xx" in job["failure"]["message"]


def test_a_rollback_warden_is_making_freezes_the_stage_until_it_succeeds(world):
    from warden.rollback.state import RollbackState

    execution = pipeline(world)
    configure(world, {})
    state = RollbackState(world.client("dynamodb"), world.ref("StateTable"))
    key = "111122223333/pipeline/payments-api/Prod"
    at = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    state.claim(key, transition="alarm@t", at=at, cooldown_s=1800, fields={"alarm": "payments-5xx", "acted": True,
                                                                           "rollback_execution_id": "rb-1"})
    job, _ = ask(world, execution, datetime(2026, 11, 27, 9, 5, tzinfo=UTC))
    assert job["status"] == "Failed" and "Warden is rolling back payments-api/Prod" in job["failure"]["message"]
    state.record(key, resolved_at="2026-11-27T09:20:00Z")  # the rollback succeeded
    job, _ = ask(world, execution, datetime(2026, 11, 27, 9, 25, tzinfo=UTC))
    assert job["status"] == "Succeeded"


def test_fail_closed_denies_when_the_gate_cannot_decide():
    from warden_local.world import World

    with World(parameters={"FailClosed": "true"}) as world:
        execution = pipeline(world)
        world.client("ssm").put_parameter(Name="/pipeline-warden/freeze", Type="String", Overwrite=True,
                                          Value='{"calendar": "not a list"}')
        job, result = ask(world, execution, datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
        assert job["status"] == "Failed" and "fails closed (FailClosed)" in job["failure"]["message"]


def test_a_rule_without_wardens_parameters_is_answered_from_the_jobs_pipeline_context(world):
    # Given a rule whose UserParameters are not Warden's (or absent): GetJobDetails says where the job is
    execution = pipeline(world)
    configure(world, HOLIDAYS)
    world.set_time(datetime(2026, 12, 25, 12, 0, tzinfo=UTC))
    job = codepipeline_state().issue_rule_job("payments-api", "Prod", execution)
    job["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = "freeze-check"
    outcome = world.invoke("DeploymentGate", job)
    answered = codepipeline_state().jobs[job["CodePipeline.job"]["id"]]
    assert answered["status"] == "Failed" and "Public holiday in Berlin" in answered["failure"]["message"]
    assert outcome.result["pipeline"] == "payments-api" and outcome.result["execution_id"] == execution


def test_a_job_without_an_id_is_dead_lettered_with_the_reason(world):
    outcome = world.invoke("DeploymentGate", {"CodePipeline.job": {"accountId": "111122223333"}})
    assert outcome.result["status"] == "dead_lettered" and "CodePipeline.job.id" in outcome.result["error"]
