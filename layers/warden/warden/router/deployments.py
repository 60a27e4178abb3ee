"""Why a CodeDeploy deployment stopped or failed, from GetDeployment: a person, an alarm, or a failure.

The state-change event says only STOP or FAILURE. On-call must be paged for an alarm stop or a failed
deployment, and must not be for a person who pressed Stop (paging for that teaches people to ignore
pages). GetDeployment says which: `errorInformation.code` (MANUAL_STOP, ALARM_ACTIVE, ...),
`rollbackInfo` (a rollback deployment was started) and `creator`. When the deployment cannot be read
(another account, or the call fails) the cause is unknown and the notice says so: it is then treated
as the event alone suggests (a page), since silence is the worse failure. A read is repeatable, so
redelivery classifies the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from warden.core.log import logger
from warden.core.text import LIMITS, clean

PERSON = "person"
ALARM = "alarm"
FAILURE = "failure"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Cause:
    kind: str  # PERSON, ALARM, FAILURE or UNKNOWN
    rolled_back: bool
    code: str | None = None
    message: str | None = None
    creator: str | None = None


def cause(codedeploy: Any | None, deployment_id: str, state: str) -> Cause:
    if codedeploy is None:
        return Cause(UNKNOWN, rolled_back=True, message="cause unknown: no read access to the deployment's account")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    except (ClientError, BotoCoreError) as exc:
        logger.warning("GetDeployment failed", extra={"deployment": deployment_id, "error": str(exc)})
        return Cause(UNKNOWN, rolled_back=True, message=clean(f"cause unknown: GetDeployment failed: {exc}", 300))
    error = info.get("errorInformation") or {}
    code = error.get("code")
    rolled_back = bool((info.get("rollbackInfo") or {}).get("rollbackDeploymentId"))
    message = clean(error["message"], LIMITS["error"]) if error.get("message") else None
    if code == "MANUAL_STOP":
        kind = PERSON
    elif code == "ALARM_ACTIVE":
        kind = ALARM
    elif state == "STOP" and not code:
        kind = UNKNOWN
    else:
        kind = FAILURE
    return Cause(kind, rolled_back=rolled_back, code=code, message=message, creator=info.get("creator"))
