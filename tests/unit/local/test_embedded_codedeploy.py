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
