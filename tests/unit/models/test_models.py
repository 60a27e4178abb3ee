"""warden.models: every sample and every documented AWS shape parses; anything else is one InvalidEvent."""

import copy
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warden.models import (
    KNOWN_DETAIL_TYPES,
    ActionExecutionStateChange,
    CloudTrailApiCallEvent,
    CloudWatchAlarmStateChange,
    CodeDeployDeploymentStateChange,
    CodeDeployLifecycleHookEvent,
    InvalidEvent,
    ManualApprovalMessage,
    PipelineExecutionStateChange,
    StageExecutionStateChange,
    approvals_from_sns_event,
    parse_event,
    parse_sns_event,
)

EVENTS = Path(__file__).resolve().parents[3] / "events"
SOURCES = ("codepipeline", "codedeploy", "cloudwatch", "approval-sns", "lifecycle-hook", "cloudtrail")
SAMPLES = sorted(p for source in SOURCES for p in (EVENTS / source).glob("*.json"))
ENVELOPES = {"sns-lambda-event.json"}

EXPECTED = {
    "codepipeline/pipeline-": PipelineExecutionStateChange,
    "codepipeline/stage-": StageExecutionStateChange,
    "codepipeline/action-": ActionExecutionStateChange,
    "codedeploy/": CodeDeployDeploymentStateChange,
    "cloudwatch/": CloudWatchAlarmStateChange,
    "approval-sns/": ManualApprovalMessage,
    "lifecycle-hook/": CodeDeployLifecycleHookEvent,
    "cloudtrail/": CloudTrailApiCallEvent,
}


def load(rel: str) -> dict:
    return json.loads((EVENTS / rel).read_text())


def expected_class(path: Path) -> type:
    rel = path.relative_to(EVENTS).as_posix()
    return next(cls for prefix, cls in EXPECTED.items() if rel.startswith(prefix))


def test_every_source_folder_has_samples():
    for source in SOURCES:
        assert list((EVENTS / source).glob("*.json")), source


@pytest.mark.parametrize("path", [p for p in SAMPLES if p.name not in ENVELOPES], ids=lambda p: p.name)
def test_sample_parses_into_expected_class(path):
    model = parse_event(json.loads(path.read_text()))
    assert type(model) is expected_class(path)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_sample_is_consistent_with_the_story(path):
    raw = json.loads(path.read_text())
    if "detail-type" in raw:
        assert raw["account"] == "111122223333"
        assert raw["region"] == "us-east-1"
        assert raw["detail-type"] in KNOWN_DETAIL_TYPES


def test_sns_lambda_envelope_parses_through_the_sns_helpers():
    envelope = load("approval-sns/sns-lambda-event.json")
    body = load("approval-sns/approval-message.json")
    [via_helper] = approvals_from_sns_event(envelope)
    [via_parse] = parse_sns_event(envelope)
    assert via_helper == via_parse == ManualApprovalMessage.from_sns(envelope["Records"][0])
    assert via_helper == parse_event(body)
    assert via_helper.token == body["approval"]["token"]
    # the bare SNS message string and the Sns notification work too
    assert ManualApprovalMessage.from_sns(envelope["Records"][0]["Sns"]["Message"]) == via_helper
    assert ManualApprovalMessage.from_sns(envelope["Records"][0]["Sns"]) == via_helper
    with pytest.raises(InvalidEvent, match="Records"):
        parse_event(envelope)


# ---------- the story told by the samples ----------

def test_failed_run_shares_one_execution_id_and_carries_the_error():
    action = parse_event(load("codepipeline/action-failed-build.json"))
    stage = parse_event(load("codepipeline/stage-failed-build.json"))
    pipeline = parse_event(load("codepipeline/pipeline-failed.json"))
    assert action.detail.execution_id == stage.detail.execution_id == pipeline.detail.execution_id
    assert (action.detail.stage, action.detail.action, action.detail.state) == ("Build", "Compile", "FAILED")
    assert action.detail.error_code == "JobFailed"
    assert action.detail.execution_result.external_execution_url.startswith("https://console.aws.amazon.com/")
    assert "COMMAND_EXECUTION_ERROR" in action.detail.execution_result.external_execution_summary
    assert action.detail.action_type.provider == "CodeBuild" and not action.detail.is_approval
    assert action.detail.input_artifacts[0].s3location.bucket == "payments-api-artifacts-111122223333"
    assert pipeline.detail.is_terminal and not pipeline.detail.is_rollback


def test_v2_git_push_trigger_exposes_commit_and_author():
    detail = parse_event(load("codepipeline/pipeline-started.json")).detail
    assert detail.trigger_type == "WebhookV2"
    trigger = detail.execution_trigger
    assert len(trigger.commit_id) == 40 and detail.commit_id == trigger.commit_id
    assert trigger.author_display_name == "Maria Garcia" and detail.author == "Maria Garcia"
    assert trigger.branch_name == "main" and trigger.ref == "main"
    assert trigger.full_repository_name == "example-corp/payments-api"
    assert detail.attempt == 1 and detail.start_time.year == 2026


def test_git_tag_trigger_without_trigger_type():
    detail = parse_event(load("codepipeline/pipeline-succeeded-v2-git-tag.json")).detail
    assert detail.trigger_type is None
    assert detail.execution_trigger.tag_name == "v2.14.0" and detail.execution_trigger.ref == "v2.14.0"


def test_rollback_execution_is_recognised():
    rollback = parse_event(load("codepipeline/pipeline-started-rollback.json")).detail
    assert rollback.is_rollback and rollback.trigger_type == "AutomatedRollback"
    assert rollback.execution_type == "ROLLBACK"
    ok = parse_event(load("codepipeline/pipeline-succeeded.json")).detail
    assert rollback.rollback_metadata["rollback-target-pipeline-execution-id"] == ok.execution_id
    assert not ok.is_rollback


def test_approval_action_and_message_agree():
    started = parse_event(load("codepipeline/action-started-approval.json")).detail
    approved = parse_event(load("codepipeline/action-succeeded-approval.json")).detail
    message = parse_event(load("approval-sns/approval-message.json"))
    assert started.is_approval and approved.is_approval and approved.state == "SUCCEEDED"
    assert (message.pipeline, message.stage, message.action) == (started.pipeline, started.stage, started.action)
    assert message.expires_at.isoformat() == "2026-12-04T09:06:00+00:00"


def test_stopped_pipeline_keeps_its_comments():
    detail = parse_event(load("codepipeline/pipeline-stopped.json")).detail
    assert detail.state == "STOPPED" and "change freeze" in detail.stop_execution_comments


def test_codedeploy_and_lifecycle_hook_share_the_deployment():
    failure = parse_event(load("codedeploy/deployment-failure.json"))
    hook = parse_event(load("lifecycle-hook/after-allow-traffic.json"))
    assert failure.detail.deployment_id == hook.deployment_id == "d-4B8RT2KQX"
    assert failure.detail.deployment_group == "payments-api-prod" and failure.detail.is_terminal
    assert hook.status_params("Failed") == {"deploymentId": "d-4B8RT2KQX", "status": "Failed",
                                            "lifecycleEventHookExecutionId": hook.lifecycle_event_hook_execution_id}


def test_alarm_samples():
    alarm = parse_event(load("cloudwatch/alarm-5xx-alarm.json"))
    assert alarm.detail.is_alarm and not alarm.detail.is_composite
    assert alarm.detail.previous_state.value == "OK"
    assert alarm.detail.state.data["recentDatapoints"] == [63.0]
    metric = alarm.detail.configuration.metrics[0].metric_stat.metric
    assert metric.namespace == "AWS/ApplicationELB" and metric.name == "HTTPCode_Target_5XX_Count"
    assert alarm.alarm_arn.endswith(":alarm:payments-api-prod-5xx")
    composite = parse_event(load("cloudwatch/composite-alarm-alarm.json")).detail
    assert composite.is_composite and composite.configuration.metrics == []
    assert composite.triggering_alarms == [alarm.alarm_arn]
    assert not parse_event(load("cloudwatch/alarm-5xx-ok.json")).detail.is_alarm


def test_cloudtrail_samples():
    update = parse_event(load("cloudtrail/update-pipeline.json"))
    assert update.api == "codepipeline:UpdatePipeline" and update.detail.succeeded
    assert update.detail.params["pipeline"]["artifactStore"]["location"] == "payments-api-artifacts-111122223333"
    assert update.detail.actor.endswith("assumed-role/PlatformAdmin/jdoe")
    policy = parse_event(load("cloudtrail/put-bucket-policy.json"))
    assert policy.api == "s3:PutBucketPolicy" and policy.source == "aws.s3"
    assert policy.detail.params["bucketName"] == "payments-api-artifacts-111122223333"


# ---------- the documented AWS samples (CodePipeline, CodeDeploy, CloudWatch, approval docs) ----------

DOC_PIPELINE_GIT_TAG = {
    "version": "0", "id": "b128b002-09fd-4574-4eba-27152726c777",
    "detail-type": "CodePipeline Pipeline Execution State Change", "source": "aws.codepipeline",
    "account": "123456789012", "time": "2023-10-26T13:50:53Z", "region": "eu-central-1",
    "resources": ["arn:aws:codepipeline:eu-central-1:123456789012:BuildFromTag"],
    "detail": {
        "pipeline": "BuildFromTag", "execution-id": "e17b5773-cc0d-4db2-9ad7-594c73888de8",
        "start-time": "2023-10-26T13:49:39.208Z",
        "execution-trigger": {
            "author-display-name": "Mary Major", "full-repository-name": "mmajor/sample-project",
            "provider-type": "GitLab", "author-email": "email_address", "commit-message": "Update file README.md",
            "author-date": "2023-08-16T21:08:08Z", "tag-name": "gitlab-v4.2.1", "commit-id": "`commit_ID`",
            "connection-arn": "arn:aws:codestar-connections:eu-central-1:123456789012:connection/"
                              "0f5b706a-1a1d-46c5-86b6-f177321bcfb2",
            "author-id": "Mary Major"},
        "state": "SUCCEEDED", "version": 32.0, "pipeline-execution-attempt": 1.0}}

DOC_STAGE_STARTED_UNQUOTED_ACCOUNT = {
    "version": "0", "id": "01234567-EXAMPLE", "detail-type": "CodePipeline Stage Execution State Change",
    "source": "aws.codepipeline", "account": 123456789012, "time": "2020-01-24T22:03:07Z", "region": "us-east-1",
    "resources": ["arn:aws:codepipeline:us-east-1:123456789012:myPipeline"],
    "detail": {"pipeline": "myPipeline", "version": 1.0, "execution-id": "12345678-1234-5678-abcd-12345678abcd",
               "start-time": "2023-10-26T13:49:39.208Z", "stage": "Prod", "state": "STARTED",
               "pipeline-execution-attempt": 1.0}}

DOC_STAGE_RESUMED = {
    "version": "0", "id": "38656bcd-a798-5f92-c738-02a71be484e1",
    "detail-type": "CodePipeline Stage Execution State Change", "source": "aws.codepipeline",
    "account": "123456789012", "time": "2023-10-26T14:14:56Z", "region": "eu-central-1",
    "resources": ["arn:aws:codepipeline:eu-central-1:123456789012:BuildFromTag"],
    "detail": {"pipeline": "BuildFromTag", "execution-id": "05dafb6a-5a56-4951-a858-968795364846",
               "stage-last-retry-attempt-time": "2023-10-26T14:14:56.305Z", "stage": "Build", "state": "RESUMED",
               "version": 32.0, "pipeline-execution-attempt": 2.0}}

DOC_ACTION_FAILED = {
    "version": "0", "id": "01234567-EXAMPLE", "detail-type": "CodePipeline Action Execution State Change",
    "source": "aws.codepipeline", "account": "123456789012", "time": "2020-01-31T18:55:43Z", "region": "us-west-2",
    "resources": ["arn:aws:codepipeline:us-west-2:123456789012:myPipeline"],
    "detail": {
        "pipeline": "myPipeline", "execution-id": "12345678-1234-5678-abcd-12345678abcd",
        "start-time": "2023-10-26T13:51:09.981Z", "stage": "Deploy",
        "execution-result": {
            "external-execution-url": "https://us-west-2.console.aws.amazon.com/codedeploy/home?#/deployments/<ID>",
            "external-execution-summary": "Deployment <ID> failed", "external-execution-id": "<ID>",
            "error-code": "JobFailed"},
        "action-execution-id": "47f821c5-a902-44b2-ae61-b878d31ecd21", "action": "Deploy", "state": "FAILED",
        "region": "us-west-2",
        "type": {"owner": "AWS", "provider": "CodeDeploy", "category": "Deploy", "version": "1"},
        "version": 4.0, "pipeline-execution-attempt": 1.0}}

DOC_ACTION_SUCCEEDED_PROCESSED = {
    "account": "123456789012", "detailType": "CodePipeline Action Execution State Change", "region": "us-west-2",
    "source": "aws.codepipeline", "time": "2021-06-24T00:45:44Z",
    "notificationRuleArn": "arn:aws:codestar-notifications:us-west-2:ACCOUNT:notificationrule/a69c62c21EXAMPLE",
    "detail": {
        "pipeline": "myPipeline", "execution-id": "arn:aws:codepipeline:us-west-2:123456789012:myPipeline",
        "start-time": "2023-10-26T13:51:09.981Z", "stage": "Source",
        "execution-result": {
            "external-execution-url": "https://us-west-2.console.aws.amazon.com/codecommit/home#/repository/"
                                      "my-repo/commit/8cf40f2EXAMPLE",
            "external-execution-summary": "Edited index.html", "external-execution-id": "36ab3ab7EXAMPLE"},
        "output-artifacts": [{"name": "SourceArtifact", "s3location": {
            "bucket": "codepipeline-us-west-2-EXAMPLE", "key": "myPipeline/SourceArti/EXAMPLE"}}],
        "action-execution-id": "47f821c5-a902-44b2-ae61-b878d31ecd21", "action": "Source", "state": "SUCCEEDED",
        "region": "us-west-2",
        "type": {"owner": "AWS", "provider": "CodeCommit", "category": "Source", "version": "1"},
        "version": 1.0, "pipeline-execution-attempt": 1.0},
    "resources": ["arn:aws:codepipeline:us-west-2:123456789012:myPipeline"], "additionalAttributes": {}}

DOC_PIPELINE_FAILED_PROCESSED = {
    "account": "123456789012", "detailType": "CodePipeline Pipeline Execution State Change", "region": "us-west-2",
    "source": "aws.codepipeline", "time": "2021-06-24T00:46:16Z",
    "notificationRuleArn": "arn:aws:codestar-notifications:us-west-2:123456789012:notificationrule/a69c62c21EXAMPLE",
    "detail": {"pipeline": "myPipeline", "execution-id": "12345678-1234-5678-abcd-12345678abcd",
               "start-time": "2023-10-26T13:49:39.208Z", "state": "FAILED", "version": 1.0,
               "pipeline-execution-attempt": 1.0},
    "resources": ["arn:aws:codepipeline:us-west-2:123456789012:myPipeline"],
    "additionalAttributes": {"failedActionCount": 1, "failedActions": [
        {"action": "Deploy", "additionalInformation": "Deployment <ID> failed"}], "failedStage": "Deploy"}}

DOC_CODEDEPLOY = {
    "account": "123456789012", "region": "us-east-1", "detail-type": "CodeDeploy Deployment State-change Notification",
    "source": "aws.codedeploy", "version": "0", "time": "2016-06-30T22:06:31Z",
    "id": "c071bfbf-83c4-49ca-a6ff-3df053957145",
    "resources": ["arn:aws:codedeploy:us-east-1:123456789012:application:myApplication",
                  "arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:myApplication/myDeploymentGroup"],
    "detail": {"instanceGroupId": "9fd2fbef-2157-40d8-91e7-6845af69e2d2", "region": "us-east-1",
               "application": "myApplication", "deploymentId": "d-123456789", "state": "SUCCESS",
               "deploymentGroup": "myDeploymentGroup"}}

DOC_ALARM = {
    "version": "0", "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92", "detail-type": "CloudWatch Alarm State Change",
    "source": "aws.cloudwatch", "account": "123456789012", "time": "2019-10-02T17:04:40Z", "region": "us-east-1",
    "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh"],
    "detail": {
        "alarmName": "ServerCpuTooHigh",
        "configuration": {"description": "Goes into alarm when server CPU utilization is too high!", "metrics": [
            {"id": "30b6c6b2-a864-43a2-4877-c09a1afc3b87", "metricStat": {"metric": {
                "dimensions": {"InstanceId": "i-12345678901234567"}, "name": "CPUUtilization",
                "namespace": "AWS/EC2"}, "period": 300, "stat": "Average"}, "returnData": True}]},
        "previousState": {"reason": "Threshold Crossed: ...", "reasonData": "{\"version\":\"1.0\"}",
                          "timestamp": "2019-10-01T13:56:40.987+0000", "value": "OK"},
        "state": {"reason": "Threshold Crossed: ...", "reasonData": "{\"version\":\"1.0\"}",
                  "timestamp": "2019-10-02T17:04:40.985+0000", "value": "ALARM"}}}

DOC_COMPOSITE_SUPPRESSED = {
    "version": "0", "id": "d3dfc86d-384d-24c8-0345-9f7986db0b80", "detail-type": "CloudWatch Alarm State Change",
    "source": "aws.cloudwatch", "account": "123456789012", "time": "2022-07-22T15:57:45Z", "region": "us-east-1",
    "resources": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServiceAggregatedAlarm"],
    "detail": {
        "alarmName": "ServiceAggregatedAlarm",
        "state": {"actionsSuppressedBy": "WaitPeriod", "actionsSuppressedReason": "Actions suppressed by WaitPeriod",
                  "value": "ALARM", "reason": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh "
                                              "transitioned to ALARM at Friday 22 July, 2022 15:57:45 UTC",
                  "reasonData": "{\"triggeringAlarms\":[{\"arn\":\"arn:aws:cloudwatch:us-east-1:123456789012:"
                                "alarm:ServerCpuTooHigh\",\"state\":{\"value\":\"ALARM\",\"timestamp\":"
                                "\"2022-07-22T15:57:45.394+0000\"}}]}",
                  "timestamp": "2022-07-22T15:57:45.394+0000"},
        "previousState": {"value": "OK", "reason": "created", "timestamp": "2022-07-22T15:56:14.552+0000"},
        "configuration": {"alarmRule": "ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)",
                          "actionsSuppressor": "ServiceMaintenanceAlarm", "actionsSuppressorWaitPeriod": 120,
                          "actionsSuppressorExtensionPeriod": 180}}}

DOC_APPROVAL = {
    "region": "us-east-2",
    "consoleLink": "https://console.aws.amazon.com/codepipeline/home?region=us-east-2#/view/MyFirstPipeline",
    "approval": {"pipelineName": "MyFirstPipeline", "stageName": "MyApprovalStage",
                 "actionName": "MyApprovalAction", "token": "1a2b3c4d-573f-4ea7-a67E-XAMPLETOKEN",
                 "expires": "2016-07-07T20:22Z", "externalEntityLink": "http://example.com",
                 "approvalReviewLink": "https://console.aws.amazon.com/codepipeline/home?region=us-east-2#/view/"
                                       "MyFirstPipeline/MyApprovalStage/MyApprovalAction/approve/"
                                       "1a2b3c4d-573f-4ea7-a67E-XAMPLETOKEN",
                 "customData": "Review the latest changes and approve or reject within seven days."}}

DOC_APPROVAL_OLD = {"region": "us-east-2", "consoleLink": "", "approval": {
    "pipelineName": "MyFirstPipeline", "stageName": "MyApprovalStage", "actionName": "MyApprovalAction",
    "token": "1a2b3c4d-573f-4ea7-a67E-XAMPLETOKEN", "expires": "2016-07-07T20:22Z", "externalEntityLink": "",
    "approvalReviewLink": "", "customData": "Review the latest changes and approve or reject within seven days."}}

DOC_LIFECYCLE = {"DeploymentId": "d-123456789", "LifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRhIjoi"}

DOC_SAMPLES = {
    "pipeline-git-tag": (DOC_PIPELINE_GIT_TAG, PipelineExecutionStateChange),
    "stage-unquoted-account": (DOC_STAGE_STARTED_UNQUOTED_ACCOUNT, StageExecutionStateChange),
    "stage-resumed": (DOC_STAGE_RESUMED, StageExecutionStateChange),
    "action-failed": (DOC_ACTION_FAILED, ActionExecutionStateChange),
    "action-succeeded-processed": (DOC_ACTION_SUCCEEDED_PROCESSED, ActionExecutionStateChange),
    "pipeline-failed-processed": (DOC_PIPELINE_FAILED_PROCESSED, PipelineExecutionStateChange),
    "codedeploy": (DOC_CODEDEPLOY, CodeDeployDeploymentStateChange),
    "alarm": (DOC_ALARM, CloudWatchAlarmStateChange),
    "composite-suppressed": (DOC_COMPOSITE_SUPPRESSED, CloudWatchAlarmStateChange),
    "approval": (DOC_APPROVAL, ManualApprovalMessage),
    "approval-old": (DOC_APPROVAL_OLD, ManualApprovalMessage),
    "lifecycle": (DOC_LIFECYCLE, CodeDeployLifecycleHookEvent),
}


@pytest.mark.parametrize("name", DOC_SAMPLES)
def test_documented_sample_parses(name):
    raw, cls = DOC_SAMPLES[name]
    before = copy.deepcopy(raw)
    assert type(parse_event(raw)) is cls
    assert raw == before  # parsing never mutates the input


def test_documented_details():
    tag = parse_event(DOC_PIPELINE_GIT_TAG).detail
    assert tag.execution_trigger.author == "Mary Major" and tag.version == 32.0
    assert parse_event(DOC_STAGE_STARTED_UNQUOTED_ACCOUNT).account == "123456789012"
    assert parse_event(DOC_STAGE_RESUMED).detail.attempt == 2
    failed = parse_event(DOC_ACTION_FAILED).detail
    assert failed.error_code == "JobFailed" and failed.category == "Deploy" and failed.is_terminal
    composite = parse_event(DOC_COMPOSITE_SUPPRESSED).detail
    assert composite.is_composite and composite.state.actions_suppressed_by == "WaitPeriod"
    assert composite.configuration.actions_suppressor_wait_period == 120
    assert composite.triggering_alarms == ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh"]
    assert parse_event(DOC_ALARM).detail.state.at.year == 2019


def test_processed_events_are_normalised_with_a_stable_id():
    first = parse_event(DOC_PIPELINE_FAILED_PROCESSED)
    again = parse_event(copy.deepcopy(DOC_PIPELINE_FAILED_PROCESSED))
    assert first.detail_type == "CodePipeline Pipeline Execution State Change" and first.version == "0"
    assert first.id == again.id and len(first.id) == 36
    assert first.model_dump()["additionalAttributes"]["failedStage"] == "Deploy"
    other = copy.deepcopy(DOC_PIPELINE_FAILED_PROCESSED)
    other["detail"]["execution-id"] = "87654321-1234-5678-abcd-12345678abcd"
    assert parse_event(other).id != first.id


# ---------- extras kept, required fields named ----------

def test_unknown_fields_are_kept_everywhere():
    raw = load("codepipeline/action-failed-build.json")
    raw["brand-new-top"] = {"x": 1}
    raw["detail"]["brand-new-detail"] = "kept"
    raw["detail"]["execution-result"]["log-stream-arn"] = "arn:aws:logs:..."
    raw["detail"]["type"]["variant"] = "v2"
    model = parse_event(raw)
    dumped = model.model_dump(by_alias=True)
    assert dumped["brand-new-top"] == {"x": 1}
    assert dumped["detail"]["brand-new-detail"] == "kept"
    assert dumped["detail"]["execution-result"]["log-stream-arn"] == "arn:aws:logs:..."
    assert dumped["detail"]["type"]["variant"] == "v2"
    assert dumped["detail"]["execution-id"] == raw["detail"]["execution-id"]
    approval = load("approval-sns/approval-message.json")
    approval["approval"]["newField"] = 7
    assert parse_event(approval).model_dump()["approval"]["newField"] == 7


def test_round_trip_by_alias_parses_to_the_same_model():
    for path in SAMPLES:
        if path.name in ENVELOPES:
            continue
        model = parse_event(json.loads(path.read_text()))
        again = parse_event(json.loads(model.model_dump_json(by_alias=True)))
        assert again == model, path.name


MISSING = [
    ("codepipeline/pipeline-failed.json", ("detail", "execution-id"), "detail.execution-id"),
    ("codepipeline/pipeline-failed.json", ("detail", "state"), "detail.state"),
    ("codepipeline/stage-failed-build.json", ("detail", "stage"), "detail.stage"),
    ("codepipeline/action-failed-build.json", ("detail", "stage"), "detail.stage"),
    ("codepipeline/action-failed-build.json", ("detail", "action"), "detail.action"),
    ("codepipeline/action-failed-build.json", ("detail",), "detail"),
    ("codepipeline/action-failed-build.json", ("time",), "time"),
    ("codedeploy/deployment-failure.json", ("detail", "deploymentId"), "detail.deploymentId"),
    ("cloudwatch/alarm-5xx-alarm.json", ("detail", "alarmName"), "detail.alarmName"),
    ("cloudwatch/alarm-5xx-alarm.json", ("detail", "state", "value"), "detail.state.value"),
    ("cloudtrail/update-pipeline.json", ("detail", "eventName"), "detail.eventName"),
    ("approval-sns/approval-message.json", ("approval", "token"), "approval.token"),
    ("lifecycle-hook/after-allow-traffic.json", ("LifecycleEventHookExecutionId",),
     "LifecycleEventHookExecutionId"),
]


@pytest.mark.parametrize(("rel", "path", "field"), MISSING, ids=[m[2] + "@" + m[0] for m in MISSING])
def test_missing_required_field_is_named(rel, path, field):
    raw = load(rel)
    target = raw
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    with pytest.raises(InvalidEvent) as info:
        parse_event(raw)
    message = str(info.value)
    assert "\n" not in message
    assert f"{field}: Field required" in message
    assert field in info.value.fields


def test_error_message_is_one_clear_line():
    raw = load("codepipeline/action-failed-build.json")
    del raw["detail"]["stage"]
    with pytest.raises(InvalidEvent) as info:
        parse_event(raw)
    assert str(info.value) == "invalid CodePipeline Action Execution State Change: detail.stage: Field required"
    assert isinstance(info.value, ValueError)


def test_many_errors_are_summarised():
    raw = load("codepipeline/action-failed-build.json")
    raw["detail"] = {"state": 3}
    with pytest.raises(InvalidEvent, match=r"\(\+\d+ more\)$") as info:
        parse_event(raw)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (None, "expected a JSON object, got null"),
        ([], "expected a JSON object, got list"),
        ("{}", "expected a JSON object, got str"),
        (42, "expected a JSON object, got int"),
        ({}, "unrecognised event"),
        ({"hello": "world"}, "keys: hello"),
        ({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2"},
         "unsupported event: detail-type 'EC2 Instance State-change Notification' from source 'aws.ec2'"),
        ({"detail-type": 7}, "detail-type: expected a string, got int"),
        ({"detail-type": "CodePipeline Pipeline Execution State Change", "source": "aws.codepipeline"},
         "invalid CodePipeline Pipeline Execution State Change: "),
        ({"approval": {}, "consoleLink": ""}, "invalid manual approval message: approval.pipelineName"),
        ({"approval": "yes", "consoleLink": ""}, "invalid manual approval message: approval:"),
        ({"DeploymentId": "d-1"}, "invalid CodeDeploy lifecycle hook invocation: LifecycleEventHookExecutionId"),
    ],
)
def test_garbage_raises_invalid_event(raw, needle):
    with pytest.raises(InvalidEvent) as info:
        parse_event(raw)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_event_names_what_is_missing():
    raw = load("codepipeline/pipeline-failed.json")
    truncated = {k: raw[k] for k in list(raw)[:4]}  # version, id, detail-type, source
    with pytest.raises(InvalidEvent) as info:
        parse_event(truncated)
    assert {"account", "time", "region"} <= set(info.value.fields)


def test_wrong_source_is_rejected():
    raw = load("codepipeline/pipeline-failed.json")
    raw["source"] = "aws.codedeploy"
    with pytest.raises(InvalidEvent, match="source: expected 'aws.codepipeline', got 'aws.codedeploy'"):
        parse_event(raw)
    trail = load("cloudtrail/update-pipeline.json")
    trail["source"] = "custom.thing"
    with pytest.raises(InvalidEvent, match="source: expected 'aws.*'"):
        parse_event(trail)


def test_sns_helpers_reject_garbage():
    for bad in (None, {}, {"Records": []}, {"Records": "x"}):
        with pytest.raises(InvalidEvent):
            parse_sns_event(bad)
        with pytest.raises(InvalidEvent):
            approvals_from_sns_event(bad)
    with pytest.raises(InvalidEvent, match="not JSON"):
        ManualApprovalMessage.from_sns("{not json")
    with pytest.raises(InvalidEvent, match="Records\\[0\\].Sns.Message: not JSON"):
        parse_sns_event({"Records": [{"Sns": {"Message": "{nope"}}]})


def test_known_detail_types_is_read_only():
    assert set(KNOWN_DETAIL_TYPES) == {
        "CodePipeline Pipeline Execution State Change", "CodePipeline Stage Execution State Change",
        "CodePipeline Action Execution State Change", "CodeDeploy Deployment State-change Notification",
        "CloudWatch Alarm State Change", "AWS API Call via CloudTrail"}
    with pytest.raises(TypeError):
        KNOWN_DETAIL_TYPES["x"] = object  # type: ignore[index]


# ---------- property: parse or InvalidEvent, never another exception ----------

KEYS = st.sampled_from([
    "version", "id", "detail-type", "detailType", "source", "account", "time", "region", "resources", "detail",
    "pipeline", "execution-id", "state", "stage", "action", "type", "execution-result", "execution-trigger",
    "approval", "consoleLink", "DeploymentId", "LifecycleEventHookExecutionId", "Records", "alarmName",
    "eventSource", "eventName", "start-time", "pipeline-execution-attempt",
]) | st.text(max_size=8)
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
           | st.sampled_from(list(KNOWN_DETAIL_TYPES) + ["aws.codepipeline", "2026-11-27T09:00:00Z", "us-east-1"]))
JSONISH = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
                       max_leaves=25)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(KEYS, JSONISH, max_size=10))
def test_arbitrary_dicts_parse_or_raise_invalid_event(raw):
    try:
        parse_event(raw)
    except InvalidEvent as exc:
        assert "\n" not in str(exc)


SAMPLE_RAWS = [json.loads(p.read_text()) for p in SAMPLES if p.name not in ENVELOPES]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLE_RAWS), st.data())
def test_mutated_samples_parse_or_raise_invalid_event(sample, data):
    raw = copy.deepcopy(sample)
    target = raw
    if isinstance(raw.get("detail"), dict) and data.draw(st.booleans()):
        target = raw["detail"]
    key = data.draw(st.sampled_from(sorted(target)))
    if data.draw(st.booleans()):
        del target[key]
    else:
        target[key] = data.draw(JSONISH)
    try:
        model = parse_event(raw)
    except InvalidEvent as exc:
        assert "\n" not in str(exc)
    else:
        assert model is not None


def test_an_event_id_too_long_for_a_key_is_invalid():
    """Found by fuzzing: a 2 KB id overflowed the hash key of the event's effects record."""
    raw = load("codedeploy/deployment-failure.json")
    raw["id"] = "d34f1abe-7502-4a36-938f-19ed661bfff9" + "x" * 2048
    with pytest.raises(InvalidEvent, match="the event id is longer than 256 characters"):
        parse_event(raw)
    raw["id"] = "d34f1abe-7502-4a36-938f-19ed661bfff9"
    parse_event(raw)


@pytest.mark.parametrize("name", [{"": None}, ["codepipeline-us-east-1-111122223333"], "ab", "b" * 64])
def test_an_s3_call_whose_bucket_name_is_not_a_name_is_invalid(name):
    """Found by fuzzing: a dict in requestParameters.bucketName reached the bucket matching as a TypeError."""
    raw = load("cloudtrail/put-bucket-lifecycle.json")
    raw["detail"]["requestParameters"]["bucketName"] = name
    with pytest.raises(InvalidEvent, match="bucketName is not a bucket name"):
        parse_event(raw)


# -- text that is not Unicode and times no arithmetic survives (issue 27: fuzzing) ---------------------
def _set(doc, path, value):
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


@pytest.mark.parametrize(("sample", "path", "named"), [
    ("codepipeline/action-started-approval.json", ("detail", "execution-id"), "detail.execution-id"),
    ("codepipeline/pipeline-failed.json", ("detail", "pipeline"), "detail.pipeline"),
    ("codepipeline/pipeline-started-v2-git-push.json", ("detail", "execution-trigger", "author-display-name"),
     "detail.execution-trigger.author-display-name"),
    ("codedeploy/deployment-failure.json", ("account",), "account"),
    ("cloudwatch/alarm-5xx-alarm.json", ("detail", "state", "reason"), "detail.state.reason"),
    ("approval-sns/approval-message.json", ("approval", "token"), "approval.token"),
    ("lifecycle-hook/after-allow-traffic.json", ("DeploymentId",), "DeploymentId"),
    ("cloudtrail/put-bucket-policy.json", ("detail", "userIdentity", "arn"), "detail.userIdentity.arn"),
])
@pytest.mark.parametrize("surrogate", ["\ud800", "ok\udfffok"])
def test_a_lone_surrogate_anywhere_is_invalid_input_naming_its_field(sample, path, named, surrogate):
    """Given an input with a lone surrogate (JSON's `\\ud800` escape decodes to one; UTF-8 cannot encode it,
    so no key, digest, AWS call or log line can hold it), when it is parsed, then it is InvalidEvent
    naming the field, and the reason itself is text any AWS call takes."""
    raw = load(sample)
    _set(raw, path, surrogate)
    with pytest.raises(InvalidEvent) as caught:
        parse_event(json.loads(json.dumps(raw)))  # as it arrives: the escape in the JSON
    assert caught.value.fields == (named,)
    assert f"{named}: text with a lone surrogate" in str(caught.value)
    str(caught.value).encode("utf-8")  # never raises


def test_a_lone_surrogate_in_a_key_or_in_the_sns_envelope_is_invalid_naming_where():
    raw = load("codepipeline/pipeline-failed.json")
    raw["detail"]["x\ud800"] = 1
    with pytest.raises(InvalidEvent, match=r"detail\.x\\ud800: text with a lone surrogate"):
        parse_event(raw)
    record = {"EventSource": "aws:sns", "Sns": {"MessageId": "\ud800", "Message": json.dumps(load(
        "approval-sns/approval-message.json"))}}
    with pytest.raises(InvalidEvent, match=r"Records\[0\]\.Sns\.MessageId: text with a lone surrogate"):
        parse_sns_event({"Records": [record]})
    with pytest.raises(InvalidEvent, match="approval.actionName: text with a lone surrogate"):
        ManualApprovalMessage.parse({**load("approval-sns/approval-message.json"),
                                     "approval": {**load("approval-sns/approval-message.json")["approval"],
                                                  "actionName": "\udc00"}})


@pytest.mark.parametrize(("sample", "path", "named"), [
    ("codepipeline/action-started-approval.json", ("time",), "time"),
    ("codepipeline/pipeline-started.json", ("detail", "start-time"), "detail.start-time"),
    ("codepipeline/stage-failed-build.json", ("time",), "time"),
    ("codedeploy/deployment-failure.json", ("time",), "time"),
    ("cloudwatch/alarm-5xx-alarm.json", ("detail", "state", "timestamp"), "detail.state.timestamp"),
    ("approval-sns/approval-message.json", ("approval", "expires"), "approval.expires"),
    ("cloudtrail/put-bucket-policy.json", ("detail", "eventTime"), "detail.eventTime"),
])
@pytest.mark.parametrize("moment", ["9999-12-31T23:59Z", "9999-12-31T23:59:59.999+0000", "0001-01-01T00:00Z",
                                    "2100-01-01T00:00:00Z", "1999-12-31T23:59:59Z"])
def test_a_time_outside_2000_to_2099_is_invalid_input_naming_its_field(sample, path, named, moment):
    """Given a time near year 1 or 9999 (adding an approval's timeout to it overflowed: OverflowError, every
    retry), when it is parsed, then it is InvalidEvent naming the field."""
    raw = load(sample)
    _set(raw, path, moment)
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)
    assert named in caught.value.fields, caught.value
    assert "a time outside the years 2000 to 2099" in str(caught.value)


def test_times_within_the_years_still_parse_and_text_that_is_no_time_stays_lenient():
    raw = load("cloudwatch/alarm-5xx-alarm.json")
    raw["detail"]["state"]["timestamp"] = "not a time"  # kept as text, as before: the alarm is read by name
    assert parse_event(raw).detail.state.at is None
    raw = load("codepipeline/pipeline-started.json")
    raw["time"] = "2099-12-31T23:59:59Z"
    assert parse_event(raw).time.year == 2099


@pytest.mark.parametrize("moment", ["2026-11-26T08:21:07+00:00null", "yesterday", "1700000000"])
def test_a_cloudtrail_event_time_that_is_no_iso_time_is_invalid(moment):
    """Found by fuzzing: ArtifactGuard orders a person's policy edit by eventTime, and parsing
    `...+00:00null` raised ValueError on every retry."""
    raw = load("cloudtrail/put-bucket-policy.json")
    raw["detail"]["eventTime"] = moment
    with pytest.raises(InvalidEvent, match="detail.eventTime: Value error, not an ISO 8601 time"):
        parse_event(raw)
