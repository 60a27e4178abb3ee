"""DeploymentValidationHook's domain: a CodeDeploy lifecycle hook that fails the deployment while an alarm that
guards its deployment group is in ALARM, so that CodeDeploy stops and rolls back.

The alarms guarding a group: its own `alarmConfiguration`, alarms tagged `pipeline-warden:deployment-group` =
APPLICATION/GROUP that a `tag_grants` entry covers, and the `rollback` document's rules for that group. The hook
always reports: when it cannot check, it reports what `hook_on_error` says (Failed by default), never leaving
CodeDeploy waiting an hour. A redelivered invocation finds the status reported already
(LifecycleEventAlreadyCompletedException): that is the same outcome, not an error.

A transient failure to read (throttling, 5xx, a network error, an unreadable `rollback` document) is not a
reason to fail a healthy deployment: the attempt raises, and Lambda retries the asynchronous invocation (one
and two minutes later, well inside CodeDeploy's hour). Only the last attempt reports `hook_on_error`. Lambda
tells no attempt its number, so the hook counts them itself: one conditional ADD per failed attempt on an
item keyed on the hook execution id (kept a day), against HOOK_ATTEMPTS (1 + MaximumRetryAttempts of
template.yaml). Counting by the deployment's age was the other way, but its retry delays are Lambda's to
choose; a count is exact. A count that cannot be written is treated as the last attempt: reporting
`hook_on_error` now beats a deployment that waits for an answer that may never come. A permanent failure
(access denied, an unknown group, an invalid document) reports `hook_on_error` at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from warden.core.log import logger
from warden.rollback.config import RollbackConfig
from warden.rollback.mapping import TAG_GROUP

GLOB = re.compile(r"[*?\[]")
GONE = {"DeploymentDoesNotExistException", "InvalidDeploymentIdException"}
TRANSIENT_CODES = {"Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
                   "TooManyRequestsException", "ProvisionedThroughputExceededException", "RequestThrottled",
                   "RequestThrottledException", "ServiceUnavailable", "InternalFailure", "InternalError",
                   "InternalServerError", "RequestTimeout", "RequestTimeoutException"}
ATTEMPTS_KEEP_SECONDS = 24 * 3600


def transient(exc: BaseException) -> bool:
    """Whether another attempt may succeed: throttling, 5xx, the network, an unreadable configuration."""
    from botocore.exceptions import BotoCoreError, ClientError

    from warden.core.documents import ConfigUnreadable

    if isinstance(exc, ConfigUnreadable | BotoCoreError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return exc.response.get("Error", {}).get("Code") in TRANSIENT_CODES or status >= 500
    return False


class TransientHookFailure(Exception):
    """This attempt could not check, and a later one may: Lambda retries the invocation."""


class ValidationHook:
    def __init__(self, *, codedeploy: Any, cloudwatch: Any, config: Callable[[], RollbackConfig],
                 tagging: Any | None = None, account: str = "", attempts: Any = None,
                 gate: Callable[[dict[str, Any]], tuple[bool, str]] | None = None) -> None:
        """`attempts`: an AttemptCounter (None: every attempt is the last, as without retries). `gate`: the
        deployment gate (warden.freeze), asked first with the deployment's info: a freeze fails the hook."""
        self._gate = gate
        self._attempts = attempts
        self._codedeploy = codedeploy
        self._cloudwatch = cloudwatch
        self._tagging = tagging
        self._config = config
        self._account = account

    def run(self, event: Any) -> dict[str, Any]:
        """`event` is a CodeDeployLifecycleHookEvent."""
        try:
            status, detail = self._check(event.deployment_id)
        except Exception as exc:  # noqa: BLE001 (whatever went wrong, CodeDeploy must hear an answer)
            if transient(exc) and self._attempts is not None and not self._attempts.last(
                    event.lifecycle_event_hook_execution_id):
                logger.warning("validation could not run: Lambda retries this attempt",
                               extra={"deployment": event.deployment_id, "error": f"{type(exc).__name__}: {exc}"})
                raise TransientHookFailure(f"{type(exc).__name__}: {exc}") from exc
            on_error = self._on_error()
            status = "Succeeded" if on_error == "succeed" else "Failed"
            detail = {"error": f"{type(exc).__name__}: {exc}", "hook_on_error": on_error}
            logger.error("validation could not run: reporting hook_on_error",
                         extra={"deployment": event.deployment_id, "status": status, **detail})
        reported = self._report(event, status)
        return {"status": status, "deployment_id": event.deployment_id, "reported": reported, **detail}

    def _on_error(self) -> str:
        try:
            return self._config().hook_on_error
        except Exception:  # noqa: BLE001 (the configuration itself may be what failed)
            return "fail"

    def _check(self, deployment_id: str) -> tuple[str, dict[str, Any]]:
        info = self._codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
        app, group = info["applicationName"], info["deploymentGroupName"]
        if self._gate is not None:
            allow, why = self._gate(info | {"deploymentId": deployment_id})
            if not allow:
                logger.warning("the deployment gate denies: failing the lifecycle hook",
                               extra={"deployment": deployment_id, "group": f"{app}/{group}", "frozen": why})
                return "Failed", {"group": f"{app}/{group}", "frozen": why}
        alarms = sorted(self.alarms_of(app, group))
        if not alarms:
            logger.warning("no alarm guards this deployment group: nothing to validate",
                           extra={"deployment": deployment_id, "group": f"{app}/{group}"})
            return "Succeeded", {"group": f"{app}/{group}", "alarms": []}
        firing = []
        for start in range(0, len(alarms), 100):
            answer = self._cloudwatch.describe_alarms(AlarmNames=alarms[start:start + 100],
                                                      AlarmTypes=["MetricAlarm", "CompositeAlarm"])
            for alarm in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", []):
                if alarm.get("StateValue") == "ALARM":
                    firing.append({"alarm": alarm["AlarmName"], "reason": alarm.get("StateReason")})
        detail = {"group": f"{app}/{group}", "alarms": alarms, "firing": firing}
        if firing:
            logger.warning("alarm in ALARM: failing the lifecycle hook",
                           extra={"deployment": deployment_id, **detail})
            return "Failed", detail
        return "Succeeded", detail

    def alarms_of(self, app: str, group: str) -> set[str]:
        names: set[str] = set()
        info = self._codedeploy.get_deployment_group(applicationName=app, deploymentGroupName=group)
        configuration = info["deploymentGroupInfo"].get("alarmConfiguration") or {}
        if configuration.get("enabled", True):
            names |= {a["name"] for a in configuration.get("alarms", []) if a.get("name")}
        config = self._config()
        if self._tagging is not None and config.tag_grants:  # tags count only within a grant, as for rollbacks
            pages = self._tagging.get_paginator("get_resources").paginate(
                TagFilters=[{"Key": TAG_GROUP, "Values": [f"{app}/{group}"]}],
                ResourceTypeFilters=["cloudwatch:alarm"])
            for arn in (m["ResourceARN"] for p in pages for m in p["ResourceTagMappingList"]):
                parts, name = arn.split(":"), arn.split(":alarm:", 1)[1]
                if config.grants_group(name, parts[4], parts[3], f"{app}/{group}"):
                    names.add(name)
                else:
                    logger.warning("alarm tagged with the group, and no tag grant covers it: not checked",
                                   extra={"alarm": arn, "group": f"{app}/{group}"})
        for rule in config.rules:
            if rule.deployment_group != f"{app}/{group}" or (rule.accounts and self._account not in rule.accounts):
                continue
            for glob in rule.alarms:
                if not GLOB.search(glob):
                    names.add(glob)
                    continue
                prefix = GLOB.split(glob, 1)[0]
                kwargs = {"AlarmNamePrefix": prefix} if prefix else {}
                for page in self._cloudwatch.get_paginator("describe_alarms").paginate(
                        AlarmTypes=["MetricAlarm", "CompositeAlarm"], **kwargs):
                    names |= {a["AlarmName"] for a in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
                              if fnmatchcase(a["AlarmName"], glob)}
        return names

    def _report(self, event: Any, status: str) -> bool:
        try:
            self._codedeploy.put_lifecycle_event_hook_execution_status(**event.status_params(status))
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code == "LifecycleEventAlreadyCompletedException":
                logger.info("hook already reported (a redelivered invocation)", extra={"status": status})
                return False
            if code in GONE:
                # No deployment waits for this answer: retrying cannot help, and nothing is left waiting.
                logger.error("the deployment is unknown to CodeDeploy: nothing to report to",
                             extra={"deployment": event.deployment_id, "error": str(exc)})
                return False
            raise  # Lambda retries: CodeDeploy waits for the answer up to an hour
        return True


class AttemptCounter:
    """Failed attempts per hook execution, counted in the state table (see the module's note)."""

    def __init__(self, dynamodb: Any, table: str, attempts: int) -> None:
        self._ddb = dynamodb
        self._table = table
        self._attempts = attempts

    def last(self, hook_execution_id: str) -> bool:
        """Count this failed attempt; True when it is the last Lambda makes (or the count cannot be kept)."""
        import time

        try:
            answer = self._ddb.update_item(
                TableName=self._table, Key={"pk": {"S": f"HOOK#{hook_execution_id}"}, "sk": {"S": "attempts"}},
                UpdateExpression="ADD attempts :one SET expires_at = if_not_exists(expires_at, :ttl)",
                ExpressionAttributeValues={":one": {"N": "1"},
                                           ":ttl": {"N": str(int(time.time()) + ATTEMPTS_KEEP_SECONDS)}},
                ReturnValues="UPDATED_NEW")
        except Exception as exc:  # noqa: BLE001 (no count: answer now rather than maybe never)
            logger.error("hook attempts cannot be counted: this attempt reports", extra={"error": str(exc)})
            return True
        return int(answer["Attributes"]["attempts"]["N"]) >= self._attempts
