"""The embedded world for rollbacks (issue 10 §8): RollbackStage refuses what CodePipeline refuses and makes a
ROLLBACK execution with rollbackMetadata; deployment groups keep their alarmConfiguration; alarms carry tags.
And the `rollback` configuration document validates as `warden config validate` says."""

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests import rollback_story as story
from warden.runtime.documents import ConfigError, parse_document
from warden_local.fakes import apply_event, install

ACCT = "123456789012"  # moto's default account
E1, E2 = "e1000000-0000-4000-8000-000000000001", "e2000000-0000-4000-8000-000000000002"


@pytest.fixture
def cp():
    install()
    with mock_aws():
        iam = story.world()[0]["params"]
        boto3.client("iam", region_name=story.REGION).create_role(**iam)
        client = boto3.client("codepipeline", region_name=story.REGION)
        definition = json.loads(json.dumps(story.pipeline_definition()).replace(story.ACCOUNT, "123456789012"))
        client.create_pipeline(pipeline=definition)
        yield client


def succeed(execution, at="2026-11-27T10:00:00Z"):
    for state in ("STARTED", "SUCCEEDED"):
        apply_event(story.pipeline_event(execution, state, story.clock.parse_iso(at)), account_id=ACCT)


def code(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"]


def test_rollback_stage_creates_a_rollback_execution_with_its_metadata(cp):
    succeed(E1)
    new = cp.rollback_stage(pipelineName="checkout-api", stageName="Deploy", targetPipelineExecutionId=E1)
    execution = cp.get_pipeline_execution(pipelineName="checkout-api",
                                          pipelineExecutionId=new["pipelineExecutionId"])["pipelineExecution"]
    assert execution["executionType"] == "ROLLBACK"
    assert execution["rollbackMetadata"] == {"rollbackTargetPipelineExecutionId": E1}
    state = cp.get_pipeline_state(name="checkout-api")["stageStates"][1]["latestExecution"]
    assert state == {"pipelineExecutionId": new["pipelineExecutionId"], "status": "InProgress", "type": "ROLLBACK"}


def test_rollback_stage_refuses_what_codepipeline_refuses(cp):
    succeed(E1)
    kwargs = {"pipelineName": "checkout-api", "targetPipelineExecutionId": E1}
    assert code(cp.rollback_stage, stageName="Source", **kwargs) == "UnableToRollbackStageException"
    rollback = cp.rollback_stage(stageName="Deploy", **kwargs)["pipelineExecutionId"]
    # While the rollback runs, another one conflicts.
    assert code(cp.rollback_stage, stageName="Deploy", **kwargs) == "ConflictException"
    # A rollback is never a target.
    done = story.clock.parse_iso("2026-11-27T10:20:00Z")
    apply_event(story.pipeline_event(rollback, "SUCCEEDED", done, **{"execution-type": "ROLLBACK"}), account_id=ACCT)
    apply_event(story.stage_event(rollback, "SUCCEEDED", done), account_id=ACCT)
    assert code(cp.rollback_stage, stageName="Deploy", pipelineName="checkout-api",
                targetPipelineExecutionId=rollback) == "UnableToRollbackStageException"
    # A running stage cannot be rolled back.
    apply_event(story.stage_event(E2, "STARTED", story.clock.parse_iso("2026-11-27T11:00:00Z")), account_id=ACCT)
    assert code(cp.rollback_stage, stageName="Deploy", **kwargs) == "UnableToRollbackStageException"


def test_rollback_stage_refuses_a_target_of_an_older_pipeline_structure(cp):
    succeed(E1)
    changed = json.loads(json.dumps(story.pipeline_definition()).replace(story.ACCOUNT, "123456789012"))
    changed["stages"][1]["actions"][0]["configuration"]["DeploymentGroupName"] = "prod-v2"
    cp.update_pipeline(pipeline=changed)
    assert code(cp.rollback_stage, pipelineName="checkout-api", stageName="Deploy",
                targetPipelineExecutionId=E1) == "PipelineExecutionOutdatedException"


def test_deployment_groups_keep_their_alarm_configuration():
    install()
    with mock_aws():
        cd = boto3.client("codedeploy", region_name=story.REGION)
        cd.create_application(applicationName="checkout", computePlatform="Lambda")
        cd.create_deployment_group(applicationName="checkout", deploymentGroupName="prod",
                                   serviceRoleArn="arn:aws:iam::123456789012:role/cd",
                                   alarmConfiguration={"enabled": True, "alarms": [{"name": "errors"}]})
        info = cd.get_deployment_group(applicationName="checkout", deploymentGroupName="prod")["deploymentGroupInfo"]
        assert info["alarmConfiguration"] == {"enabled": True, "ignorePollAlarmFailure": False,
                                              "alarms": [{"name": "errors"}]}
        cd.update_deployment_group(applicationName="checkout", currentDeploymentGroupName="prod",
                                   alarmConfiguration={"enabled": True, "alarms": [{"name": "latency"}]})
        info = cd.get_deployment_group(applicationName="checkout", deploymentGroupName="prod")["deploymentGroupInfo"]
        assert info["alarmConfiguration"]["alarms"] == [{"name": "latency"}]
        too_many = {"enabled": True, "alarms": [{"name": f"a{n}"} for n in range(11)]}
        assert code(cd.update_deployment_group, applicationName="checkout", currentDeploymentGroupName="prod",
                    alarmConfiguration=too_many) == "AlarmsLimitExceededException"


def test_alarms_carry_tags():
    with mock_aws():
        cw = boto3.client("cloudwatch", region_name=story.REGION)
        cw.put_metric_alarm(**story.world()[2]["params"])
        arn = f"arn:aws:cloudwatch:{story.REGION}:123456789012:alarm:{story.ALARM}"
        tags = {t["Key"]: t["Value"] for t in cw.list_tags_for_resource(ResourceARN=arn)["Tags"]}
        assert tags == {"pipeline-warden:pipeline": "checkout-api", "pipeline-warden:stage": "Deploy"}


def test_the_rollback_document_has_safe_defaults_and_clear_errors():
    defaults = parse_document("rollback", {})
    assert (defaults.mode, defaults.bake_minutes, defaults.cooldown_minutes, defaults.hook_on_error) == (
        "enforce", 60, 30, "fail")
    with pytest.raises(ConfigError, match=r"rollback\.rules\[0\] \(name 'x'\).*pipeline and stage go together"):
        parse_document("rollback", {"rules": [{"name": "x", "alarms": ["a"], "pipeline": "p"}]})
    with pytest.raises(ConfigError, match=r"rollback\.mode"):
        parse_document("rollback", {"mode": "yolo"})
    with pytest.raises(ConfigError, match="APPLICATION/GROUP"):
        parse_document("rollback", {"rules": [{"name": "g", "alarms": ["a"], "deployment_group": "nogroup"}]})


def test_warden_config_validate_checks_a_rollback_document(tmp_path, capsys):
    from warden_local.cli import main

    good = tmp_path / "rollback.json"
    good.write_text(json.dumps({"mode": "dry_run", "bake_minutes": 45, "rules": [
        {"name": "checkout", "alarms": ["checkout-*"], "pipeline": "checkout-api", "stage": "Deploy"}]}))
    assert main(["config", "validate", str(good)]) == 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"cooldown_minutes": -1}))
    assert main(["config", "validate", str(bad), "--kind", "rollback"]) == 2
    assert "rollback.cooldown_minutes" in capsys.readouterr().err
