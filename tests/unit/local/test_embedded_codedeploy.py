"""The embedded CodeDeploy: StopDeployment, PutLifecycleEventHookExecutionStatus, GetDeploymentConfig."""

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from warden_local.fakes import codedeploy_state, install

REGION = "us-east-1"


@pytest.fixture
def cd():
    install()
    with mock_aws():
        client = boto3.client("codedeploy", region_name=REGION)
        client.create_application(applicationName="web", computePlatform="Lambda")
        client.create_deployment_group(
            applicationName="web", deploymentGroupName="prod",
            serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
        )
        yield client


def deploy(client):
    return client.create_deployment(
        applicationName="web", deploymentGroupName="prod",
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}},
    )["deploymentId"]


def error_code(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"]


def test_stop_deployment_stops_it_once(cd):
    deployment_id = deploy(cd)
    answer = cd.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    assert answer["status"] == "Pending" and answer["statusMessage"]
    assert cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] == "Stopped"
    stops = codedeploy_state(region=REGION).stops
    assert stops == [{"deploymentId": deployment_id, "autoRollbackEnabled": True}]
    assert error_code(cd.stop_deployment, deploymentId=deployment_id) == "DeploymentAlreadyCompletedException"
    assert error_code(cd.stop_deployment, deploymentId="d-NOPE") == "DeploymentDoesNotExistException"


def test_lifecycle_hook_status_is_recorded_and_a_failure_fails_the_deployment(cd):
    deployment_id = deploy(cd)
    answer = cd.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment_id, lifecycleEventHookExecutionId="hook-1", status="Succeeded")
    assert answer["lifecycleEventHookExecutionId"] == "hook-1"
    assert cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] == "Created"
    cd.put_lifecycle_event_hook_execution_status(
        deploymentId=deployment_id, lifecycleEventHookExecutionId="hook-2", status="Failed")
    state = codedeploy_state(region=REGION)
    assert state.hook_status("hook-1") == "Succeeded" and state.hook_status("hook-2") == "Failed"
    assert cd.get_deployment(deploymentId=deployment_id)["deploymentInfo"]["status"] == "Failed"

    put = cd.put_lifecycle_event_hook_execution_status
    assert error_code(put, deploymentId=deployment_id, lifecycleEventHookExecutionId="hook-1",
                      status="Failed") == "LifecycleEventAlreadyCompletedException"
    assert error_code(put, deploymentId=deployment_id, lifecycleEventHookExecutionId="hook-3",
                      status="Pending") == "InvalidLifecycleEventHookExecutionStatusException"
    assert error_code(put, deploymentId="d-NOPE", lifecycleEventHookExecutionId="hook-4",
                      status="Succeeded") == "DeploymentDoesNotExistException"


def test_get_deployment_config_for_predefined_configs(cd):
    server = cd.get_deployment_config(
        deploymentConfigName="CodeDeployDefault.OneAtATime")["deploymentConfigInfo"]
    assert server["computePlatform"] == "Server"
    assert server["minimumHealthyHosts"] == {"type": "HOST_COUNT", "value": 1}
    canary = cd.get_deployment_config(
        deploymentConfigName="CodeDeployDefault.LambdaCanary10Percent5Minutes")["deploymentConfigInfo"]
    assert canary["computePlatform"] == "Lambda"
    assert canary["trafficRoutingConfig"] == {
        "type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5}}
    assert canary["createTime"].tzinfo is not None
    linear = cd.get_deployment_config(
        deploymentConfigName="CodeDeployDefault.LambdaLinear10PercentEvery1Minute")["deploymentConfigInfo"]
    assert linear["trafficRoutingConfig"]["timeBasedLinear"] == {"linearPercentage": 10, "linearInterval": 1}
    assert error_code(cd.get_deployment_config,
                      deploymentConfigName="Custom.Nope") == "DeploymentConfigDoesNotExistException"


def rollback_group(client, events):
    client.create_deployment_group(
        applicationName="web", deploymentGroupName="canary",
        serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy",
        autoRollbackConfiguration={"enabled": True, "events": events})
    return client.create_deployment(
        applicationName="web", deploymentGroupName="canary",
        revision={"revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}})["deploymentId"]


def test_a_persons_stop_is_manual_stop_and_rolls_back_only_when_asked(cd):
    kept, rolled = deploy(cd), deploy(cd)
    cd.stop_deployment(deploymentId=kept)
    cd.stop_deployment(deploymentId=rolled, autoRollbackEnabled=True)
    info = cd.get_deployment(deploymentId=kept)["deploymentInfo"]
    assert info["errorInformation"]["code"] == "MANUAL_STOP" and info["creator"] == "user"
    assert "rollbackDeploymentId" not in info["rollbackInfo"]
    info = cd.get_deployment(deploymentId=rolled)["deploymentInfo"]
    rollback_id = info["rollbackInfo"]["rollbackDeploymentId"]
    rollback = cd.get_deployment(deploymentId=rollback_id)["deploymentInfo"]
    assert rollback["creator"] == "codeDeployRollback"
    assert rollback["rollbackInfo"]["rollbackTriggeringDeploymentId"] == rolled
    [batch] = cd.batch_get_deployments(deploymentIds=[rolled])["deploymentsInfo"]
    assert batch["rollbackInfo"] == info["rollbackInfo"]


def test_an_alarm_stop_and_a_failed_hook_roll_back_as_the_group_says(cd):
    alarmed = rollback_group(cd, ["DEPLOYMENT_STOP_ON_ALARM"])
    codedeploy_state().alarm_stop(alarmed, "web-5xx")
    info = cd.get_deployment(deploymentId=alarmed)["deploymentInfo"]
    assert info["status"] == "Stopped" and info["errorInformation"]["code"] == "ALARM_ACTIVE"
    assert "web-5xx" in info["errorInformation"]["message"] and info["rollbackInfo"]["rollbackDeploymentId"]
    failed = deploy(cd)  # the prod group has no automatic rollback
    cd.put_lifecycle_event_hook_execution_status(deploymentId=failed, lifecycleEventHookExecutionId="h-1",
                                                 status="Failed")
    info = cd.get_deployment(deploymentId=failed)["deploymentInfo"]
    assert info["errorInformation"]["code"] == "HOOK_EXECUTION_FAILURE"
    assert "rollbackDeploymentId" not in info["rollbackInfo"]
