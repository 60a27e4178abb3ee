"""parse_event: any input Pipeline Warden accepts -> its typed model, or InvalidEvent (one clear line).

Recognised: EventBridge events by `detail-type` (+ `source`), also in the "processed" notification-rule form
(`detailType`); an approval SNS message body (`approval` + `consoleLink`); a CodeDeploy lifecycle-hook payload
(`DeploymentId` + `LifecycleEventHookExecutionId`); a CloudWatch alarm notification (`AlarmName` + `NewStateValue`,
the Message an alarm action publishes to SNS). SNS-to-Lambda envelopes go through parse_sns_event.
"""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError

from warden.models.approval import APPROVAL_KIND, ManualApprovalMessage, sns_message
from warden.models.base import reject_unencodable
from warden.models.cloudtrail import CLOUDTRAIL_DETAIL_TYPE, CloudTrailApiCallEvent
from warden.models.cloudwatch import (
    ALARM_DETAIL_TYPE,
    ALARM_NOTIFICATION_KIND,
    CloudWatchAlarmNotification,
    CloudWatchAlarmStateChange,
)
from warden.models.cloudwatch import SOURCE as CLOUDWATCH_SOURCE
from warden.models.codedeploy import DEPLOYMENT_DETAIL_TYPE, CodeDeployDeploymentStateChange
from warden.models.codedeploy import SOURCE as CODEDEPLOY_SOURCE
from warden.models.codepipeline import (
    ACTION_DETAIL_TYPE,
    PIPELINE_DETAIL_TYPE,
    STAGE_DETAIL_TYPE,
    ActionExecutionStateChange,
    PipelineExecutionStateChange,
    StageExecutionStateChange,
)
from warden.models.codepipeline import SOURCE as CODEPIPELINE_SOURCE
from warden.models.errors import InvalidEvent
from warden.models.lifecycle import LIFECYCLE_KIND, CodeDeployLifecycleHookEvent

# detail-type -> model class (read-only).
KNOWN_DETAIL_TYPES: MappingProxyType[str, type[BaseModel]] = MappingProxyType({
    PIPELINE_DETAIL_TYPE: PipelineExecutionStateChange,
    STAGE_DETAIL_TYPE: StageExecutionStateChange,
    ACTION_DETAIL_TYPE: ActionExecutionStateChange,
    DEPLOYMENT_DETAIL_TYPE: CodeDeployDeploymentStateChange,
    ALARM_DETAIL_TYPE: CloudWatchAlarmStateChange,
    CLOUDTRAIL_DETAIL_TYPE: CloudTrailApiCallEvent,
})

# The source each service event must carry (CloudTrail events carry the called service's, any aws.*).
EXPECTED_SOURCES: MappingProxyType[str, str] = MappingProxyType({
    PIPELINE_DETAIL_TYPE: CODEPIPELINE_SOURCE,
    STAGE_DETAIL_TYPE: CODEPIPELINE_SOURCE,
    ACTION_DETAIL_TYPE: CODEPIPELINE_SOURCE,
    DEPLOYMENT_DETAIL_TYPE: CODEDEPLOY_SOURCE,
    ALARM_DETAIL_TYPE: CLOUDWATCH_SOURCE,
})

Event = (
    PipelineExecutionStateChange
    | StageExecutionStateChange
    | ActionExecutionStateChange
    | CodeDeployDeploymentStateChange
    | CloudWatchAlarmStateChange
    | CloudTrailApiCallEvent
    | ManualApprovalMessage
    | CodeDeployLifecycleHookEvent
    | CloudWatchAlarmNotification
)


def parse_event(raw: Any) -> Event:
    """Classify and validate one input. Raises InvalidEvent (a ValueError) for anything else."""
    if not isinstance(raw, dict):
        raise InvalidEvent(f"invalid event: expected a JSON object, got {_type_name(raw)}")
    if "detail-type" in raw or "detailType" in raw:
        return _eventbridge(raw)
    if "approval" in raw and ("consoleLink" in raw or isinstance(raw.get("approval"), dict)):
        return _validate(ManualApprovalMessage, raw, APPROVAL_KIND)
    if "DeploymentId" in raw or "LifecycleEventHookExecutionId" in raw:
        return _validate(CodeDeployLifecycleHookEvent, raw, LIFECYCLE_KIND)
    if "AlarmName" in raw and "NewStateValue" in raw:
        return _validate(CloudWatchAlarmNotification, raw, ALARM_NOTIFICATION_KIND)
    if isinstance(raw.get("Records"), list):
        raise InvalidEvent("invalid event: a Lambda Records envelope, not one event (use parse_sns_event)")
    keys = ", ".join(sorted(str(k) for k in raw)[:6]) or "none"
    raise InvalidEvent(
        "unrecognised event: not an EventBridge event (no detail-type), an approval message (no approval) "
        f"or a lifecycle hook invocation (no DeploymentId); keys: {keys}"
    )


def parse_sns_event(event: Any) -> list[Event]:
    """Every record of an SNS-to-Lambda event, each Message (JSON) parsed through parse_event."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise InvalidEvent("invalid SNS event: Records: expected a non-empty list", kind="SNS event")
    return [parse_sns_record(record, index) for index, record in enumerate(records)]


def parse_sns_record(record: Any, index: int = 0) -> Event:
    """One record of an SNS-to-Lambda event (`{"EventSource": "aws:sns", "Sns": {"Message": ...}}`): its
    Message (JSON) parsed through parse_event; InvalidEvent naming the record otherwise."""
    if not isinstance(record, dict) or not isinstance(record.get("Sns"), dict):
        raise InvalidEvent(f"invalid SNS event: Records[{index}].Sns: missing", kind="SNS event")
    # The envelope too: its MessageId is the delivery's idempotency key.
    reject_unencodable(record, "SNS event", prefix=f"Records[{index}]")
    message = sns_message(record)
    if isinstance(message, (str, bytes)):
        try:
            message = json.loads(message)
        except (ValueError, RecursionError):
            raise InvalidEvent(
                f"invalid SNS event: Records[{index}].Sns.Message: not JSON", kind="SNS event"
            ) from None
    if isinstance(message, dict) and "Records" in message:
        raise InvalidEvent(f"invalid SNS event: Records[{index}].Sns.Message: a nested Records envelope",
                           kind="SNS event")
    return parse_event(message)


def _eventbridge(raw: dict[str, Any]) -> Event:
    detail_type = raw.get("detail-type", raw.get("detailType"))
    source = raw.get("source")
    if not isinstance(detail_type, str):
        raise InvalidEvent(f"invalid event: detail-type: expected a string, got {_type_name(detail_type)}")
    model = KNOWN_DETAIL_TYPES.get(detail_type)
    if model is None:
        known = ", ".join(repr(k) for k in KNOWN_DETAIL_TYPES)
        raise InvalidEvent(
            f"unsupported event: detail-type {detail_type!r} from source {source!r} is not one of {known}",
            kind=detail_type,
        )
    expected = EXPECTED_SOURCES.get(detail_type)
    if isinstance(source, str) and (
        (expected is not None and source != expected) or (expected is None and not source.startswith("aws."))
    ):
        wanted = repr(expected) if expected else "'aws.*'"
        raise InvalidEvent(f"invalid {detail_type}: source: expected {wanted}, got {source!r}",
                           kind=detail_type, fields=("source",))
    return _validate(model, raw, detail_type)


def _validate(model: type[BaseModel], raw: dict[str, Any], kind: str) -> Any:
    reject_unencodable(raw, kind)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InvalidEvent.from_validation_error(kind, exc) from None
    except (TypeError, ValueError, ArithmeticError, RecursionError) as exc:  # defensive: never leak others
        raise InvalidEvent(f"invalid {kind}: {exc}", kind=kind) from None


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__
