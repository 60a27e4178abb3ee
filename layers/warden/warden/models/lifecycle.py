"""The payload CodeDeploy invokes a lifecycle-hook Lambda function with (ECS/Lambda compute platforms).

Documented: https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html
- the event is {"DeploymentId": ..., "LifecycleEventHookExecutionId": ...}; the function answers with
PutLifecycleEventHookExecutionStatus(deploymentId, lifecycleEventHookExecutionId, status=Succeeded|Failed).
"""

from __future__ import annotations

from pydantic import Field

from warden.models.base import WardenModel

LIFECYCLE_KIND = "CodeDeploy lifecycle hook invocation"


class CodeDeployLifecycleHookEvent(WardenModel):
    # CodeDeploy answers "DeploymentIdRequired" to an empty id: an invocation without one is invalid input.
    deployment_id: str = Field(alias="DeploymentId", min_length=1, max_length=200)
    lifecycle_event_hook_execution_id: str = Field(alias="LifecycleEventHookExecutionId", min_length=1,
                                                   max_length=4096)

    def status_params(self, status: str) -> dict[str, str]:
        """Parameters for codedeploy.put_lifecycle_event_hook_execution_status."""
        return {
            "deploymentId": self.deployment_id,
            "lifecycleEventHookExecutionId": self.lifecycle_event_hook_execution_id,
            "status": status,
        }
