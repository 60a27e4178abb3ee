"""CodeDeploy deployment state-change events (EventBridge, source aws.codedeploy).

Documented shape: https://docs.aws.amazon.com/codedeploy/latest/userguide/monitoring-cloudwatch-events.html and
https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-codedeploy.html - detail {instanceGroupId, region,
application, deploymentId, state, deploymentGroup}; states START | SUCCESS | FAILURE | STOP | READY (terse forms).
"""

from __future__ import annotations

from pydantic import Field

from warden.models.base import Region, WardenEventBridgeModel, WardenModel

SOURCE = "aws.codedeploy"
DEPLOYMENT_DETAIL_TYPE = "CodeDeploy Deployment State-change Notification"


class DeploymentState:
    START = "START"
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    STOP = "STOP"
    READY = "READY"  # blue/green: waiting to reroute traffic
    TERMINAL = frozenset({SUCCESS, FAILURE, STOP})


class CodeDeployDeploymentDetail(WardenModel):
    # CodeDeploy limits (names 1-100): keys built from them fit DynamoDB's key sizes.
    application: str = Field(min_length=1, max_length=100)
    deployment_group: str = Field(alias="deploymentGroup", min_length=1, max_length=100)
    deployment_id: str = Field(alias="deploymentId", min_length=1, max_length=200)
    state: str
    region: Region | None = None
    instance_group_id: str | None = Field(None, alias="instanceGroupId")

    @property
    def is_terminal(self) -> bool:
        return self.state in DeploymentState.TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.state == DeploymentState.SUCCESS


class CodeDeployDeploymentStateChange(WardenEventBridgeModel):
    detail: CodeDeployDeploymentDetail
