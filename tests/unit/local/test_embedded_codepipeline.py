"""The embedded CodePipeline answers like the real API, from state that fed events drive."""

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from warden_local.fakes import apply_event, codepipeline_state, install

REGION = "us-east-1"
ACCOUNT = "111122223333"  # not moto's default: approval messages carry no account
NAME = "web"
EXEC = "11111111-2222-3333-4444-555555555555"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _action(name, category, provider, owner="AWS", configuration=None, outputs=(), inputs=()):
    return {
        "name": name,
        "actionTypeId": {"category": category, "owner": owner, "provider": provider, "version": "1"},
        "configuration": configuration or {},
        "outputArtifacts": [{"name": o} for o in outputs],
        "inputArtifacts": [{"name": i} for i in inputs],
    }


@pytest.fixture
def cp(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("MOTO_ACCOUNT_ID", ACCOUNT)
    install()
    with mock_aws():
        role = boto3.client("iam").create_role(
            RoleName="pipeline",
            AssumeRolePolicyDocument=json.dumps({"Statement": [{
                "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }]}),
        )["Role"]["Arn"]
        client = boto3.client("codepipeline", region_name=REGION)
        client.create_pipeline(pipeline={
            "name": NAME,
            "roleArn": role,
            "artifactStore": {"type": "S3", "location": "artifacts"},
            "pipelineType": "V2",
            "executionMode": "QUEUED",
            "stages": [
                {"name": "Source", "actions": [_action(
                    "Source", "Source", "CodeStarSourceConnection",
                    configuration={"ConnectionArn": f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:conn",
                                   "FullRepositoryId": "acme/web", "BranchName": "main"},
                    outputs=["SourceOutput"],
                )]},
                {"name": "Build", "actions": [_action(
                    "Build", "Build", "CodeBuild", configuration={"ProjectName": "web-build"},
                    inputs=["SourceOutput"], outputs=["BuildOutput"],
                )]},
                {"name": "Approve", "actions": [_action("Approval", "Approval", "Manual")]},
                {"name": "Deploy", "actions": [_action(
                    "Deploy", "Deploy", "CodeDeploy",
                    configuration={"ApplicationName": "web", "DeploymentGroupName": "prod"},
                    inputs=["BuildOutput"],
                )]},
            ],
        })
        yield client


def event(kind, state, stage=None, action=None, category=None, provider=None, execution=EXEC,
          time="2026-11-27T09:00:00Z", **detail):
    body = {"pipeline": NAME, "execution-id": execution, "state": state, **detail}
    if stage:
        body["stage"] = stage
    if action:
        body["action"] = action
        body["type"] = {"category": category, "provider": provider, "owner": "AWS", "version": "1"}
    return {
        "version": "0", "id": "e", "source": "aws.codepipeline", "account": ACCOUNT, "region": REGION,
        "time": time, "detail-type": f"CodePipeline {kind} Execution State Change", "detail": body,
    }


def run_to_approval(time="2026-11-27T09:00:00Z"):
    """Feed what CodePipeline emits up to a pending manual approval."""
    for e in [
        event("Pipeline", "STARTED", time=time,
              **{"execution-trigger": {"trigger-type": "WebhookV2", "trigger-detail": "acme/web main"}}),
        event("Action", "STARTED", "Source", "Source", "Source", "CodeStarSourceConnection", time=time),
        event("Action", "SUCCEEDED", "Source", "Source", "Source", "CodeStarSourceConnection", time=time,
              **{"execution-result": {"external-execution-id": COMMIT,
                                      "external-execution-summary": "Fix checkout",
                                      "external-execution-url": f"https://github.com/acme/web/commit/{COMMIT}"}}),
        event("Stage", "SUCCEEDED", "Source", time=time),
        event("Action", "SUCCEEDED", "Build", "Build", "Build", "CodeBuild", time=time),
        event("Stage", "SUCCEEDED", "Build", time=time),
        event("Action", "STARTED", "Approve", "Approval", "Approval", "Manual", time=time),
    ]:
        assert apply_event(e)


def approval_message(token):
    return {
        "region": REGION,
        "consoleLink": f"https://console.aws.amazon.com/codepipeline/home?region={REGION}#/view/{NAME}",
        "approval": {
            "pipelineName": NAME, "stageName": "Approve", "actionName": "Approval", "token": token,
            "expires": "2026-12-04T09:00Z", "externalEntityLink": None,
            "approvalReviewLink": "https://console.aws.amazon.com/...", "customData": "ship it?",
        },
    }


def stage_state(client, stage):
    states = client.get_pipeline_state(name=NAME)["stageStates"]
    return next(s for s in states if s["stageName"] == stage)


def execution_status(client, execution=EXEC):
    return client.get_pipeline_execution(
        pipelineName=NAME, pipelineExecutionId=execution)["pipelineExecution"]["status"]


def error_code(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"]


def test_state_without_events_lists_every_stage_and_action(cp):
    state = cp.get_pipeline_state(name=NAME)
    assert state["pipelineName"] == NAME and state["pipelineVersion"] == 1
    assert [s["stageName"] for s in state["stageStates"]] == ["Source", "Build", "Approve", "Deploy"]
    assert "inboundTransitionState" not in state["stageStates"][0]
    assert state["stageStates"][1]["inboundTransitionState"]["enabled"] is True
    build = state["stageStates"][1]["actionStates"][0]
    assert build["actionName"] == "Build" and "latestExecution" not in build
    assert build["entityUrl"].endswith("#/projects/web-build/view")
    assert state["created"].tzinfo is not None


def test_events_drive_pipeline_state_executions_and_action_executions(cp):
    run_to_approval()
    source = stage_state(cp, "Source")
    assert source["latestExecution"] == {
        "pipelineExecutionId": EXEC, "status": "Succeeded", "type": "STANDARD"}
    source_action = source["actionStates"][0]
    assert source_action["currentRevision"]["revisionId"] == COMMIT
    assert source_action["latestExecution"]["externalExecutionId"] == COMMIT
    approve = stage_state(cp, "Approve")
    assert approve["latestExecution"]["status"] == "InProgress"
    pending = approve["actionStates"][0]["latestExecution"]
    assert pending["status"] == "InProgress" and pending["token"]
    assert "latestExecution" not in stage_state(cp, "Deploy")

    execution = cp.get_pipeline_execution(pipelineName=NAME, pipelineExecutionId=EXEC)["pipelineExecution"]
    assert execution["status"] == "InProgress"
    assert execution["trigger"] == {"triggerType": "WebhookV2", "triggerDetail": "acme/web main"}
    assert execution["executionType"] == "STANDARD" and execution["executionMode"] == "QUEUED"
    assert execution["artifactRevisions"][0]["name"] == "SourceOutput"
    assert execution["artifactRevisions"][0]["revisionId"] == COMMIT
    summary = cp.list_pipeline_executions(pipelineName=NAME)["pipelineExecutionSummaries"][0]
    assert summary["pipelineExecutionId"] == EXEC and summary["status"] == "InProgress"
    assert summary["sourceRevisions"][0]["revisionSummary"] == "Fix checkout"

    details = cp.list_action_executions(pipelineName=NAME, filter={"pipelineExecutionId": EXEC})
    by_action = {d["actionName"]: d for d in details["actionExecutionDetails"]}
    assert set(by_action) == {"Source", "Build", "Approval"}
    assert by_action["Build"]["status"] == "Succeeded"
    assert by_action["Build"]["input"]["actionTypeId"]["provider"] == "CodeBuild"
    assert by_action["Build"]["input"]["configuration"] == {"ProjectName": "web-build"}
    assert by_action["Source"]["output"]["executionResult"]["externalExecutionId"] == COMMIT
    assert by_action["Approval"]["status"] == "InProgress"


def test_failed_action_reports_error_details(cp):
    apply_event(event("Pipeline", "STARTED"))
    apply_event(event("Action", "FAILED", "Build", "Build", "Build", "CodeBuild",
                      **{"execution-result": {"external-execution-summary": "Tests failed",
                                              "error-code": "JobFailed"}}))
    apply_event(event("Stage", "FAILED", "Build"))
    apply_event(event("Pipeline", "FAILED"))
    build = stage_state(cp, "Build")
    assert build["latestExecution"]["status"] == "Failed"
    assert build["actionStates"][0]["latestExecution"]["errorDetails"] == {
        "code": "JobFailed", "message": "Tests failed"}
    assert execution_status(cp) == "Failed"


def test_late_older_event_does_not_undo_a_newer_one(cp):
    apply_event(event("Pipeline", "SUCCEEDED", time="2026-11-27T10:00:00Z"))
    apply_event(event("Pipeline", "STARTED", time="2026-11-27T09:00:00Z"))
    assert execution_status(cp) == "Succeeded"


def test_events_for_unknown_pipelines_stages_or_actions_are_ignored(cp):
    unknown = event("Pipeline", "STARTED")
    unknown["detail"]["pipeline"] = "nope"
    assert apply_event(unknown) is False
    assert apply_event(event("Stage", "STARTED", "Nope")) is False
    assert apply_event(event("Action", "STARTED", "Build", "Nope", "Build", "CodeBuild")) is False
    assert apply_event({"detail-type": "Something else", "detail": {}}) is False
    assert cp.list_pipeline_executions(pipelineName=NAME)["pipelineExecutionSummaries"] == []


def pending_token(client):
    return stage_state(client, "Approve")["actionStates"][0]["latestExecution"]["token"]


def test_the_started_event_issues_the_token_and_a_message_with_another_is_not_this_pipelines(cp):
    """Given an approval action whose STARTED event happened (CodePipeline issued its token then), when a
    message with another token is fed, then nothing changes (it is not this pipeline's message: forged,
    as in AWS), and its token is refused by PutApprovalResult; the message with the issued token applies."""
    run_to_approval()
    issued = pending_token(cp)
    assert issued
    assert apply_event(approval_message("forged")) is False
    assert pending_token(cp) == issued
    approve = dict(pipelineName=NAME, stageName="Approve", actionName="Approval",
                   result={"summary": "LGTM", "status": "Approved"})
    assert error_code(cp.put_approval_result, **approve, token="forged") == "InvalidApprovalTokenException"
    assert apply_event(approval_message(issued)) is True
    assert pending_token(cp) == issued


def test_approval_message_token_is_the_pending_token_and_approval_records_the_caller(cp):
    run_to_approval()
    token = pending_token(cp)
    assert apply_event(approval_message(token))

    approved_at = cp.put_approval_result(
        pipelineName=NAME, stageName="Approve", actionName="Approval",
        result={"summary": "LGTM", "status": "Approved"}, token=token,
    )["approvedAt"]
    caller = boto3.client("sts").get_caller_identity()["Arn"]
    done = stage_state(cp, "Approve")
    assert done["latestExecution"]["status"] == "Succeeded"
    action = done["actionStates"][0]["latestExecution"]
    assert action["status"] == "Succeeded" and "token" not in action
    assert action["summary"] == "LGTM" and action["lastUpdatedBy"] == caller
    detail = next(d for d in cp.list_action_executions(pipelineName=NAME)["actionExecutionDetails"]
                  if d["actionName"] == "Approval")
    assert detail["updatedBy"] == caller and detail["status"] == "Succeeded"
    [result] = codepipeline_state(ACCOUNT, REGION).approval_results
    assert result["status"] == "Approved" and result["updatedBy"] == caller
    assert result["pipelineExecutionId"] == EXEC and approved_at.year >= 2024


def test_approval_message_before_started_event_keeps_its_token_and_execution(cp):
    apply_event(event("Pipeline", "STARTED"))
    assert apply_event(approval_message("tok-early"))
    apply_event(event("Action", "STARTED", "Approve", "Approval", "Approval", "Manual"))
    pending = stage_state(cp, "Approve")
    assert pending["latestExecution"]["pipelineExecutionId"] == EXEC
    assert pending["actionStates"][0]["latestExecution"]["token"] == "tok-early"


def test_approval_message_without_known_execution_is_adopted_by_the_later_event(cp):
    assert apply_event(approval_message("tok-orphan"))
    apply_event(event("Action", "STARTED", "Approve", "Approval", "Approval", "Manual"))
    pending = stage_state(cp, "Approve")
    assert pending["latestExecution"]["pipelineExecutionId"] == EXEC
    assert pending["actionStates"][0]["latestExecution"]["token"] == "tok-orphan"
    summaries = cp.list_pipeline_executions(pipelineName=NAME)["pipelineExecutionSummaries"]
    assert [s["pipelineExecutionId"] for s in summaries] == [EXEC]


def test_rejection_fails_the_stage_and_the_execution(cp):
    run_to_approval()
    cp.put_approval_result(pipelineName=NAME, stageName="Approve", actionName="Approval",
                           result={"summary": "not now", "status": "Rejected"}, token=pending_token(cp))
    assert stage_state(cp, "Approve")["latestExecution"]["status"] == "Failed"
    execution = cp.get_pipeline_execution(pipelineName=NAME, pipelineExecutionId=EXEC)["pipelineExecution"]
    assert execution["status"] == "Failed"


def test_put_approval_result_errors(cp):
    approve = dict(pipelineName=NAME, stageName="Approve", actionName="Approval",
                   result={"summary": "ok", "status": "Approved"})
    assert error_code(cp.put_approval_result, **approve, token="nothing") == "InvalidApprovalTokenException"
    apply_event(approval_message("tok-3"))  # the message happened first: its token is the pending one
    run_to_approval()
    assert error_code(cp.put_approval_result, **approve, token="wrong") == "InvalidApprovalTokenException"
    cp.put_approval_result(**approve, token="tok-3")
    assert error_code(cp.put_approval_result, **approve, token="tok-3") == "ApprovalAlreadyCompletedException"
    assert error_code(cp.put_approval_result, **approve | {"pipelineName": "nope"},
                      token="tok-3") == "PipelineNotFoundException"
    assert error_code(cp.put_approval_result, **approve | {"stageName": "Nope"},
                      token="tok-3") == "StageNotFoundException"
    assert error_code(cp.put_approval_result, **approve | {"actionName": "Nope"},
                      token="tok-3") == "ActionNotFoundException"


def test_stop_pipeline_execution(cp):
    run_to_approval()
    assert cp.stop_pipeline_execution(pipelineName=NAME, pipelineExecutionId=EXEC,
                                      reason="alarm")["pipelineExecutionId"] == EXEC
    execution = cp.get_pipeline_execution(pipelineName=NAME, pipelineExecutionId=EXEC)["pipelineExecution"]
    assert execution["status"] == "Stopping"
    assert error_code(cp.stop_pipeline_execution, pipelineName=NAME,
                      pipelineExecutionId=EXEC) == "DuplicatedStopRequestException"
    cp.stop_pipeline_execution(pipelineName=NAME, pipelineExecutionId=EXEC, abandon=True)
    summary = cp.list_pipeline_executions(pipelineName=NAME)["pipelineExecutionSummaries"][0]
    assert summary["status"] == "Stopped" and summary["stopTrigger"] == {"reason": "alarm"}
    approve = stage_state(cp, "Approve")
    assert approve["latestExecution"]["status"] == "Stopped"
    assert approve["actionStates"][0]["latestExecution"]["status"] == "Abandoned"
    assert error_code(cp.stop_pipeline_execution, pipelineName=NAME,
                      pipelineExecutionId=EXEC) == "PipelineExecutionNotStoppableException"
    assert error_code(cp.stop_pipeline_execution, pipelineName=NAME,
                      pipelineExecutionId="unknown") == "PipelineExecutionNotStoppableException"


def test_rollback_stage_starts_a_rollback_execution(cp):
    good = "aaaaaaaa-0000-0000-0000-000000000000"
    apply_event(event("Pipeline", "STARTED", execution=good, time="2026-11-26T09:00:00Z"))
    apply_event(event("Stage", "SUCCEEDED", "Deploy", execution=good, time="2026-11-26T09:30:00Z"))
    apply_event(event("Pipeline", "SUCCEEDED", execution=good, time="2026-11-26T09:30:00Z"))
    run_to_approval()

    new_id = cp.rollback_stage(pipelineName=NAME, stageName="Deploy",
                               targetPipelineExecutionId=good)["pipelineExecutionId"]
    assert new_id not in (good, EXEC)
    execution = cp.get_pipeline_execution(pipelineName=NAME, pipelineExecutionId=new_id)["pipelineExecution"]
    assert execution["status"] == "InProgress" and execution["executionType"] == "ROLLBACK"
    assert execution["rollbackMetadata"] == {"rollbackTargetPipelineExecutionId": good}
    assert execution["trigger"]["triggerType"] == "ManualRollback"
    deploy = stage_state(cp, "Deploy")["latestExecution"]
    assert deploy == {"pipelineExecutionId": new_id, "status": "InProgress", "type": "ROLLBACK"}
    assert codepipeline_state(ACCOUNT, REGION).rollbacks[0]["targetPipelineExecutionId"] == good

    rollback = dict(pipelineName=NAME, stageName="Deploy")
    assert error_code(cp.rollback_stage, **rollback,
                      targetPipelineExecutionId=EXEC) == "UnableToRollbackStageException"
    assert error_code(cp.rollback_stage, **rollback,
                      targetPipelineExecutionId="unknown") == "PipelineExecutionNotFoundException"
    assert error_code(cp.rollback_stage, pipelineName=NAME, stageName="Nope",
                      targetPipelineExecutionId=good) == "StageNotFoundException"


def test_api_started_executions_stay_usable(cp):
    started = cp.start_pipeline_execution(name=NAME)["pipelineExecutionId"]
    # moto considers it Succeeded at once: a valid rollback target, not stoppable.
    assert cp.rollback_stage(pipelineName=NAME, stageName="Deploy", targetPipelineExecutionId=started)
    assert error_code(cp.stop_pipeline_execution, pipelineName=NAME,
                      pipelineExecutionId=started) == "PipelineExecutionNotStoppableException"
    assert cp.list_action_executions(pipelineName=NAME,
                                     filter={"pipelineExecutionId": started})["actionExecutionDetails"] == []


def test_list_action_executions_filters_and_pages(cp):
    run_to_approval()
    second = "bbbbbbbb-0000-0000-0000-000000000000"
    apply_event(event("Action", "STARTED", "Build", "Build", "Build", "CodeBuild",
                      execution=second, time="2026-11-27T11:00:00Z"))
    every = cp.list_action_executions(pipelineName=NAME)["actionExecutionDetails"]
    assert len(every) == 4 and every[0]["pipelineExecutionId"] == second  # newest first
    page = cp.list_action_executions(pipelineName=NAME, maxResults=3)
    rest = cp.list_action_executions(pipelineName=NAME, maxResults=3, nextToken=page["nextToken"])
    assert len(page["actionExecutionDetails"]) == 3 and len(rest["actionExecutionDetails"]) == 1
    assert "nextToken" not in rest
    latest = cp.list_action_executions(pipelineName=NAME, filter={"latestInPipelineExecution": {
        "pipelineExecutionId": second, "startTimeRange": "Latest"}})["actionExecutionDetails"]
    assert [d["actionName"] for d in latest] == ["Build"]
    assert error_code(cp.list_action_executions, pipelineName=NAME,
                      filter={"pipelineExecutionId": "unknown"}) == "PipelineExecutionNotFoundException"
    assert error_code(cp.get_pipeline_state, name="nope") == "PipelineNotFoundException"


def test_state_is_cleared_with_moto():
    with mock_aws():
        codepipeline_state(ACCOUNT, REGION).approval_results.append({"token": "t"})
    with mock_aws():
        assert codepipeline_state(ACCOUNT, REGION).approval_results == []
