"""parse_event: any input Pipeline Warden accepts -> its typed model, or InvalidEvent (one clear line).

Recognised: EventBridge events by `detail-type` (+ `source`), also in the "processed" notification-rule form
(`detailType`); an approval SNS message body (`approval` + `consoleLink`); a CodeDeploy lifecycle-hook payload
(`DeploymentId` + `LifecycleEventHookExecutionId`); a CloudWatch alarm notification (`AlarmName` + `NewStateValue`,
the Message an alarm action publishes to SNS). SNS-to-Lambda envelopes go through parse_sns_event.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from warden.models.base import reject_unencodable
from warden.models.errors import InvalidEvent

if TYPE_CHECKING:
    from warden.models.approval import ManualApprovalMessage
    from warden.models.cloudtrail import CloudTrailApiCallEvent
    from warden.models.cloudwatch import CloudWatchAlarmNotification, CloudWatchAlarmStateChange
    from warden.models.codedeploy import CodeDeployDeploymentStateChange
    from warden.models.codepipeline import (
        ActionExecutionStateChange,
        PipelineExecutionStateChange,
        StageExecutionStateChange,
    )
    from warden.models.lifecycle import CodeDeployLifecycleHookEvent

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

# Each model is imported when an input of its kind first arrives: a function compiles and builds only the
# models of what it is sent. The names are the modules' own constants (tests/unit/models check them).
# detail-type -> the name of its model in warden.models.
_DETAIL_TYPES: dict[str, str] = {
    "CodePipeline Pipeline Execution State Change": "PipelineExecutionStateChange",
    "CodePipeline Stage Execution State Change": "StageExecutionStateChange",
    "CodePipeline Action Execution State Change": "ActionExecutionStateChange",
    "CodeDeploy Deployment State-change Notification": "CodeDeployDeploymentStateChange",
    "CloudWatch Alarm State Change": "CloudWatchAlarmStateChange",
    "AWS API Call via CloudTrail": "CloudTrailApiCallEvent",
}
APPROVAL_KIND = "manual approval message"  # warden.models.approval.APPROVAL_KIND
LIFECYCLE_KIND = "CodeDeploy lifecycle hook invocation"  # warden.models.lifecycle.LIFECYCLE_KIND
ALARM_NOTIFICATION_KIND = "CloudWatch alarm notification"  # warden.models.cloudwatch.ALARM_NOTIFICATION_KIND


def _model(name: str) -> type[BaseModel]:
    """A model by its name in warden.models (which imports only its module)."""
    import warden.models

    return getattr(warden.models, name)


class _Models(Mapping[str, type[BaseModel]]):
    """detail-type -> model class, read-only; a model's module is imported on its first lookup."""

    def __init__(self, table: dict[str, str]) -> None:
        self._table = table

    def __getitem__(self, detail_type: str) -> type[BaseModel]:
        return _model(self._table[detail_type])

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)


# detail-type -> model class (read-only).
KNOWN_DETAIL_TYPES: Mapping[str, type[BaseModel]] = _Models(_DETAIL_TYPES)

# The source each service event must carry (CloudTrail events carry the called service's, any aws.*).
EXPECTED_SOURCES: MappingProxyType[str, str] = MappingProxyType({
    "CodePipeline Pipeline Execution State Change": "aws.codepipeline",
    "CodePipeline Stage Execution State Change": "aws.codepipeline",
    "CodePipeline Action Execution State Change": "aws.codepipeline",
    "CodeDeploy Deployment State-change Notification": "aws.codedeploy",
    "CloudWatch Alarm State Change": "aws.cloudwatch",
})


def __getattr__(name: str) -> Any:
    if name == "Event":  # the union of every model parse_event returns (built on request: it imports them all)
        from warden.models import (
            ActionExecutionStateChange,
            CloudTrailApiCallEvent,
            CloudWatchAlarmNotification,
            CloudWatchAlarmStateChange,
            CodeDeployDeploymentStateChange,
            CodeDeployLifecycleHookEvent,
            ManualApprovalMessage,
            PipelineExecutionStateChange,
            StageExecutionStateChange,
        )

        union = (PipelineExecutionStateChange | StageExecutionStateChange | ActionExecutionStateChange
                 | CodeDeployDeploymentStateChange | CloudWatchAlarmStateChange | CloudTrailApiCallEvent
                 | ManualApprovalMessage | CodeDeployLifecycleHookEvent | CloudWatchAlarmNotification)
        globals()["Event"] = union  # once: the same object every time
        return union
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse_event(raw: Any) -> Event:
    """Classify and validate one input. Raises InvalidEvent (a ValueError) for anything else."""
    if not isinstance(raw, dict):
        raise InvalidEvent(f"invalid event: expected a JSON object, got {_type_name(raw)}")
    if "detail-type" in raw or "detailType" in raw:
        return _eventbridge(raw)
    if "approval" in raw and ("consoleLink" in raw or isinstance(raw.get("approval"), dict)):
        return _validate(_model("ManualApprovalMessage"), raw, APPROVAL_KIND)
    if "DeploymentId" in raw or "LifecycleEventHookExecutionId" in raw:
        return _validate(_model("CodeDeployLifecycleHookEvent"), raw, LIFECYCLE_KIND)
    if "AlarmName" in raw and "NewStateValue" in raw:
        return _validate(_model("CloudWatchAlarmNotification"), raw, ALARM_NOTIFICATION_KIND)
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
    from warden.models.approval import sns_message

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
    if detail_type not in _DETAIL_TYPES:
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
    return _validate(_model(_DETAIL_TYPES[detail_type]), raw, detail_type)


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
