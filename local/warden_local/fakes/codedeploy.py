"""Embedded CodeDeploy: StopDeployment, PutLifecycleEventHookExecutionStatus and GetDeploymentConfig.

moto 5.2 keeps deployments but lacks these calls. They act on moto's own deployment objects (so
GetDeployment shows the outcome) and record what was asked in plain data for tests.

Why a deployment ended is kept as CodeDeploy reports it, and GetDeployment / BatchGetDeployments
show it (moto returns empty `errorInformation` and `rollbackInfo`): a person's StopDeployment is
`MANUAL_STOP`; `alarm_stop()` is CodeDeploy stopping a deployment on its group's alarm
(`ALARM_ACTIVE`); a failed lifecycle hook is `HOOK_EXECUTION_FAILURE`. When rollback applies (the
StopDeployment `autoRollbackEnabled` flag, else the deployment's or group's autoRollbackConfiguration
events DEPLOYMENT_STOP_ON_REQUEST / DEPLOYMENT_STOP_ON_ALARM / DEPLOYMENT_FAILURE), a rollback
deployment is created (creator `codeDeployRollback`) and both sides' `rollbackInfo` name each other.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from moto.codedeploy.responses import CodeDeployResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.core.utils import utcnow

from . import moto_model
from .codepipeline import default_account, default_region

COMPLETED = ("Succeeded", "Failed", "Stopped")
_STATE_ATTR = "_warden_embedded_state"
# Predefined configurations have no creation call; give them one fixed, plausible creation time.
_PREDEFINED_CREATED = datetime(2014, 11, 12)


def _traffic(kind: str, percentage: int = 0, interval: int = 0) -> dict[str, Any]:
    if kind == "AllAtOnce":
        return {"type": "AllAtOnce"}
    key = "timeBasedCanary" if kind == "TimeBasedCanary" else "timeBasedLinear"
    prefix = "canary" if kind == "TimeBasedCanary" else "linear"
    return {"type": kind, key: {f"{prefix}Percentage": percentage, f"{prefix}Interval": interval}}


# name -> (computePlatform, minimumHealthyHosts, trafficRoutingConfig), as documented by AWS.
PREDEFINED_CONFIGS: dict[str, tuple[str, dict[str, Any] | None, dict[str, Any] | None]] = {
    "CodeDeployDefault.AllAtOnce": ("Server", {"type": "HOST_COUNT", "value": 0}, None),
    "CodeDeployDefault.HalfAtATime": ("Server", {"type": "FLEET_PERCENT", "value": 50}, None),
    "CodeDeployDefault.OneAtATime": ("Server", {"type": "HOST_COUNT", "value": 1}, None),
    "CodeDeployDefault.LambdaAllAtOnce": ("Lambda", None, _traffic("AllAtOnce")),
    "CodeDeployDefault.ECSAllAtOnce": ("ECS", None, _traffic("AllAtOnce")),
    **{
        f"CodeDeployDefault.LambdaCanary10Percent{m}Minutes": (
            "Lambda", None, _traffic("TimeBasedCanary", 10, m)
        )
        for m in (5, 10, 15, 30)
    },
    **{
        f"CodeDeployDefault.LambdaLinear10PercentEvery{m}Minute{'s' if m > 1 else ''}": (
            "Lambda", None, _traffic("TimeBasedLinear", 10, m)
        )
        for m in (1, 2, 3, 10)
    },
    **{
        f"CodeDeployDefault.ECSLinear10PercentEvery{m}Minutes": (
            "ECS", None, _traffic("TimeBasedLinear", 10, m)
        )
        for m in (1, 3)
    },
    **{
        f"CodeDeployDefault.ECSCanary10Percent{m}Minutes": ("ECS", None, _traffic("TimeBasedCanary", 10, m))
        for m in (5, 15)
    },
}


def _id_required() -> JsonRESTError:
    return JsonRESTError("DeploymentIdRequiredException", "At least one deployment ID must be specified.")


class EmbeddedCodeDeploy:
    """CodeDeploy state of one account and region, alongside moto's backend."""

    def __init__(self, account_id: str, region: str):
        self.account_id = account_id
        self.region = region
        self.hook_statuses: list[dict[str, Any]] = []
        self.stops: list[dict[str, Any]] = []
        self.errors: dict[str, dict[str, str]] = {}  # deployment id -> errorInformation
        self.rollbacks: dict[str, dict[str, str]] = {}  # deployment id -> rollbackInfo
        self.emitted: list[dict[str, Any]] = []  # the state-change events of deployments that ended here

    @property
    def backend(self) -> Any:
        return moto_model.codedeploy_backend(self.account_id, self.region)

    def hook_status(self, hook_execution_id: str) -> str | None:
        """The status reported for a lifecycle hook execution, if any."""
        reported = (h for h in self.hook_statuses if h["lifecycleEventHookExecutionId"] == hook_execution_id)
        return next((h["status"] for h in reported), None)

    def stop_deployment(self, deployment_id: str | None, auto_rollback: bool | None) -> dict[str, str]:
        if not deployment_id:
            raise _id_required()
        deployment = self.backend.get_deployment(deployment_id)  # DeploymentDoesNotExistException
        if deployment.status in COMPLETED:
            raise JsonRESTError(
                "DeploymentAlreadyCompletedException",
                f"The deployment {deployment_id} has already completed."
            )
        self.stops.append({"deploymentId": deployment_id, "autoRollbackEnabled": auto_rollback})
        rollback = auto_rollback if auto_rollback is not None else self._rolls_back(deployment,
                                                                                    "DEPLOYMENT_STOP_ON_REQUEST")
        self._end(deployment, "Stopped", "MANUAL_STOP", "The deployment was stopped by the user.", rollback)
        # Real CodeDeploy acknowledges first and stops asynchronously, hence "Pending".
        return {"status": "Pending", "statusMessage": f"Stopping deployment {deployment_id}."}

    def alarm_stop(self, deployment_id: str, alarm: str) -> None:
        """CodeDeploy stops a deployment because an alarm of its group went into ALARM."""
        deployment = self.backend.get_deployment(deployment_id)
        if deployment.status in COMPLETED:
            return
        self._end(deployment, "Stopped", "ALARM_ACTIVE",
                  f"One or more alarms have been activated according to the Amazon CloudWatch metrics you "
                  f"selected, and the affected deployments have been stopped. Activated alarms: <{alarm}>",
                  self._rolls_back(deployment, "DEPLOYMENT_STOP_ON_ALARM"))

    def _rolls_back(self, deployment: Any, event: str) -> bool:
        config = deployment.auto_rollback_configuration or deployment.deployment_group.auto_rollback_configuration
        return bool(config and config.get("enabled") and event in (config.get("events") or []))

    def _end(self, deployment: Any, status: str, code: str, message: str, rollback: bool) -> None:
        deployment.status = status
        deployment.complete_time = utcnow()
        self.errors[deployment.deployment_id] = {"code": code, "message": message}
        self.emitted.append(self.state_change(deployment, "FAILURE" if status == "Failed" else "STOP"))
        if rollback and deployment.creator != "codeDeployRollback":
            rollback_id = self.backend.create_deployment(
                deployment.application_name, deployment.deployment_group_name, deployment.revision,
                deployment_config_name=deployment.deployment_config_name)
            rollback_deployment = self.backend.get_deployment(rollback_id)
            rollback_deployment.creator = "codeDeployRollback"
            # Created on the world's clock, like every deployment (create_deployment below).
            from warden.core import clock

            rollback_deployment.create_time = clock.now().astimezone(UTC).replace(tzinfo=None)
            self.rollbacks[deployment.deployment_id] = {
                "rollbackDeploymentId": rollback_id,
                "rollbackMessage": f"Deployment {deployment.deployment_id} rolled back by {rollback_id}."}
            self.rollbacks[rollback_id] = {"rollbackTriggeringDeploymentId": deployment.deployment_id}
        elif not rollback:
            self.rollbacks[deployment.deployment_id] = {
                "rollbackMessage": "Automatic rollback is not enabled for this deployment."}

    def state_change(self, deployment: Any, state: str) -> dict[str, Any]:
        """The CodeDeploy Deployment State-change Notification CodeDeploy emits when a deployment ends (the
        documented shape), kept in `emitted` for a test or a replay to deliver."""
        from warden.core import clock

        application, group = deployment.application_name, deployment.deployment_group_name
        prefix = f"arn:aws:codedeploy:{self.region}:{self.account_id}"
        return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "CodeDeploy Deployment State-change "
                "Notification", "source": "aws.codedeploy", "account": self.account_id, "time": clock.iso(clock.now()),
                "region": self.region, "resources": [f"{prefix}:application:{application}",
                                                     f"{prefix}:deploymentgroup:{application}/{group}"],
                "detail": {"instanceGroupId": str(uuid.uuid4()), "region": self.region, "application": application,
                           "deploymentId": deployment.deployment_id, "state": state, "deploymentGroup": group}}

    def info(self, info: dict[str, Any]) -> dict[str, Any]:
        """moto's DeploymentInfo with what this deployment's end recorded."""
        deployment_id = info.get("deploymentId", "")
        if deployment_id in self.errors:
            info["errorInformation"] = self.errors[deployment_id]
        if deployment_id in self.rollbacks:
            info["rollbackInfo"] = self.rollbacks[deployment_id]
        return info

    def put_hook_status(
        self, deployment_id: str | None, hook_execution_id: str | None, status: str | None
    ) -> str:
        if not deployment_id:
            raise _id_required()
        deployment = self.backend.get_deployment(deployment_id)  # DeploymentDoesNotExistException
        if not hook_execution_id:
            raise JsonRESTError(
                "InvalidLifecycleEventHookExecutionIdException",
                "A lifecycle event hook execution ID is required.",
            )
        if status not in ("Succeeded", "Failed"):
            raise JsonRESTError(
                "InvalidLifecycleEventHookExecutionStatusException",
                f"The status {status} is not valid: use Succeeded or Failed.",
            )
        if self.hook_status(hook_execution_id) is not None:
            raise JsonRESTError(
                "LifecycleEventAlreadyCompletedException",
                f"The lifecycle event hook execution {hook_execution_id} has already completed.",
            )
        self.hook_statuses.append({
            "deploymentId": deployment_id,
            "lifecycleEventHookExecutionId": hook_execution_id,
            "status": status,
        })
        if status == "Failed" and deployment.status not in COMPLETED:
            # A failed validation hook fails the deployment (CodeDeploy then rolls back if configured).
            self._end(deployment, "Failed", "HOOK_EXECUTION_FAILURE",
                      f"The lifecycle event hook {hook_execution_id} reported Failed.",
                      self._rolls_back(deployment, "DEPLOYMENT_FAILURE"))
        return hook_execution_id

    @staticmethod
    def deployment_config(name: str | None) -> dict[str, Any]:
        if not name:
            raise JsonRESTError(
                "DeploymentConfigNameRequiredException",
                "A deployment config name is required."
            )
        if name not in PREDEFINED_CONFIGS:
            raise JsonRESTError(
                "DeploymentConfigDoesNotExistException",
                f"The deployment configuration {name} does not exist with the user or AWS account.",
            )
        platform, healthy_hosts, traffic = PREDEFINED_CONFIGS[name]
        info = {
            "deploymentConfigId": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
            "deploymentConfigName": name,
            "createTime": _PREDEFINED_CREATED,
            "computePlatform": platform,
        }
        if healthy_hosts:
            info["minimumHealthyHosts"] = healthy_hosts
        if traffic:
            info["trafficRoutingConfig"] = traffic
        return info


def codedeploy_state(account_id: str | None = None, region: str | None = None) -> EmbeddedCodeDeploy:
    """The embedded CodeDeploy state for an account and region (created on first use)."""
    account_id, region = account_id or default_account(), region or default_region()
    backend = moto_model.codedeploy_backend(account_id, region)
    state = getattr(backend, _STATE_ATTR, None)
    if state is None:
        state = EmbeddedCodeDeploy(account_id, region)
        setattr(backend, _STATE_ATTR, state)
    return state


# ---- moto response methods (moto serializes ActionResult through the botocore model) ----------
def _state(self: CodeDeployResponse) -> EmbeddedCodeDeploy:
    return codedeploy_state(self.current_account, self.region)


def stop_deployment(self: CodeDeployResponse) -> ActionResult:
    return ActionResult(
        _state(self).stop_deployment(self._get_param("deploymentId"), self._get_param("autoRollbackEnabled"))
    )


def put_lifecycle_event_hook_execution_status(self: CodeDeployResponse) -> ActionResult:
    hook_id = _state(self).put_hook_status(
        self._get_param("deploymentId"),
        self._get_param("lifecycleEventHookExecutionId"),
        self._get_param("status"),
    )
    return ActionResult({"lifecycleEventHookExecutionId": hook_id})


def get_deployment_config(self: CodeDeployResponse) -> ActionResult:
    info = _state(self).deployment_config(self._get_param("deploymentConfigName"))
    return ActionResult({"deploymentConfigInfo": info})


# ---- Deployment groups' alarmConfiguration (moto keeps it but answers {}), UpdateDeploymentGroup, and a
# deployment's createTime on the world's clock (a scenario step's time, so guards compare like with like).
_moto_get_group = CodeDeployResponse.get_deployment_group
_moto_batch_get_groups = getattr(CodeDeployResponse, "batch_get_deployment_groups", None)
_moto_create_deployment = CodeDeployResponse.create_deployment


def _alarm_configuration(group: Any) -> dict[str, Any]:
    found = group.alarm_configuration or {}
    if not isinstance(found, dict):  # moto's AlarmConfiguration object
        found = {"enabled": found.enabled, "alarms": found.alarms,
                 "ignorePollAlarmFailure": found.ignore_poll_alarm_failure}
    return {"enabled": bool(found.get("enabled", False)), "ignorePollAlarmFailure":
            bool(found.get("ignorePollAlarmFailure", False)), "alarms": list(found.get("alarms") or [])}


def _with_alarms(self: CodeDeployResponse, result: ActionResult, key: str, many: bool) -> ActionResult:
    body = result.result if hasattr(result, "result") else result
    infos = body.get(key) or []
    for info in infos if many else [infos]:
        group = self.codedeploy_backend.get_deployment_group(info["applicationName"], info["deploymentGroupName"])
        info["alarmConfiguration"] = _alarm_configuration(group)
    return result


def get_deployment_group(self: CodeDeployResponse) -> ActionResult:
    return _with_alarms(self, _moto_get_group(self), "deploymentGroupInfo", many=False)


def update_deployment_group(self: CodeDeployResponse) -> ActionResult:
    group = self.codedeploy_backend.get_deployment_group(
        self._get_param("applicationName"), self._get_param("currentDeploymentGroupName"))
    if self._get_param("alarmConfiguration") is not None:
        configuration = self._get_param("alarmConfiguration")
        if len(configuration.get("alarms") or []) > 10:
            raise JsonRESTError("AlarmsLimitExceededException", "The maximum number of alarms for a deployment "
                                "group (10) was exceeded.")
        group.alarm_configuration = configuration
    if self._get_param("autoRollbackConfiguration") is not None:
        group.auto_rollback_configuration = self._get_param("autoRollbackConfiguration")
    return ActionResult({"hooksNotCleanedUp": []})


def create_deployment(self: CodeDeployResponse) -> ActionResult:
    result = _moto_create_deployment(self)
    body = result.result if hasattr(result, "result") else result
    from warden.core import clock

    deployment = self.codedeploy_backend.get_deployment(body["deploymentId"])
    deployment.create_time = clock.now().astimezone(UTC).replace(tzinfo=None)
    return result


_moto_get_deployment = CodeDeployResponse.get_deployment
_moto_batch_get_deployments = CodeDeployResponse.batch_get_deployments


def get_deployment(self: CodeDeployResponse) -> ActionResult:
    result = _moto_get_deployment(self)
    _state(self).info(_result(result)["deploymentInfo"])
    return result


def batch_get_deployments(self: CodeDeployResponse) -> ActionResult:
    result = _moto_batch_get_deployments(self)
    for info in _result(result).get("deploymentsInfo", []):
        _state(self).info(info)
    return result


def _result(result: ActionResult) -> dict[str, Any]:
    return result.result  # type: ignore[return-value]


RESPONSE_METHODS = (stop_deployment, put_lifecycle_event_hook_execution_status, get_deployment_config,
                    get_deployment_group, update_deployment_group, create_deployment, get_deployment,
                    batch_get_deployments)


def install() -> None:
    """Add the missing actions to moto's CodeDeploy handler (moto dispatches by method name)."""
    for method in RESPONSE_METHODS:
        setattr(CodeDeployResponse, method.__name__, method)
