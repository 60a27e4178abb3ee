"""Typed models of every input Pipeline Warden reacts to, and parse_event to tell them apart.

Each model keeps unknown fields (extra="allow") and accepts both field names and the JSON names.

The names below are imported on first use (PEP 562), each from its own module: a function imports the
models it parses, not every model of every input (a cold start compiles and builds only those). For a
type checker they are the ordinary imports.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from warden.models.approval import (
        ApprovalDetails,
        ManualApprovalMessage,
        approvals_from_sns_event,
        sns_message,
    )
    from warden.models.cloudtrail import CloudTrailApiCallEvent, CloudTrailDetail, UserIdentity
    from warden.models.cloudwatch import (
        AlarmConfiguration,
        AlarmMetric,
        AlarmMetricQuery,
        AlarmMetricStat,
        AlarmState,
        AlarmValue,
        CloudWatchAlarmDetail,
        CloudWatchAlarmNotification,
        CloudWatchAlarmStateChange,
    )
    from warden.models.codedeploy import CodeDeployDeploymentDetail, CodeDeployDeploymentStateChange, DeploymentState
    from warden.models.codepipeline import (
        ActionCategory,
        ActionExecutionDetail,
        ActionExecutionStateChange,
        ActionState,
        ActionType,
        Artifact,
        ExecutionResult,
        ExecutionTrigger,
        PipelineExecutionDetail,
        PipelineExecutionStateChange,
        PipelineState,
        S3Location,
        StageExecutionDetail,
        StageExecutionStateChange,
        StageState,
        TriggerType,
    )
    from warden.models.errors import InvalidEvent
    from warden.models.lifecycle import CodeDeployLifecycleHookEvent
    from warden.models.parse import (
        EXPECTED_SOURCES,
        KNOWN_DETAIL_TYPES,
        Event,
        parse_event,
        parse_sns_event,
        parse_sns_record,
    )

# name -> the module of this package that defines it
_EXPORTS: dict[str, str] = {
    "ActionCategory": "codepipeline",
    "ActionExecutionDetail": "codepipeline",
    "ActionExecutionStateChange": "codepipeline",
    "ActionState": "codepipeline",
    "ActionType": "codepipeline",
    "AlarmConfiguration": "cloudwatch",
    "AlarmMetric": "cloudwatch",
    "AlarmMetricQuery": "cloudwatch",
    "AlarmMetricStat": "cloudwatch",
    "AlarmState": "cloudwatch",
    "AlarmValue": "cloudwatch",
    "ApprovalDetails": "approval",
    "Artifact": "codepipeline",
    "CloudTrailApiCallEvent": "cloudtrail",
    "CloudTrailDetail": "cloudtrail",
    "CloudWatchAlarmDetail": "cloudwatch",
    "CloudWatchAlarmNotification": "cloudwatch",
    "CloudWatchAlarmStateChange": "cloudwatch",
    "CodeDeployDeploymentDetail": "codedeploy",
    "CodeDeployDeploymentStateChange": "codedeploy",
    "CodeDeployLifecycleHookEvent": "lifecycle",
    "DeploymentState": "codedeploy",
    "EXPECTED_SOURCES": "parse",
    "Event": "parse",
    "ExecutionResult": "codepipeline",
    "ExecutionTrigger": "codepipeline",
    "InvalidEvent": "errors",
    "KNOWN_DETAIL_TYPES": "parse",
    "ManualApprovalMessage": "approval",
    "PipelineExecutionDetail": "codepipeline",
    "PipelineExecutionStateChange": "codepipeline",
    "PipelineState": "codepipeline",
    "S3Location": "codepipeline",
    "StageExecutionDetail": "codepipeline",
    "StageExecutionStateChange": "codepipeline",
    "StageState": "codepipeline",
    "TriggerType": "codepipeline",
    "UserIdentity": "cloudtrail",
    "approvals_from_sns_event": "approval",
    "parse_event": "parse",
    "parse_sns_event": "parse",
    "parse_sns_record": "parse",
    "sns_message": "approval",
}

__all__ = [
    "EXPECTED_SOURCES",
    "KNOWN_DETAIL_TYPES",
    "ActionCategory",
    "ActionExecutionDetail",
    "ActionExecutionStateChange",
    "ActionState",
    "ActionType",
    "AlarmConfiguration",
    "AlarmMetric",
    "AlarmMetricQuery",
    "AlarmMetricStat",
    "AlarmState",
    "AlarmValue",
    "ApprovalDetails",
    "Artifact",
    "CloudTrailApiCallEvent",
    "CloudTrailDetail",
    "CloudWatchAlarmDetail",
    "CloudWatchAlarmNotification",
    "CloudWatchAlarmStateChange",
    "CodeDeployDeploymentDetail",
    "CodeDeployDeploymentStateChange",
    "CodeDeployLifecycleHookEvent",
    "DeploymentState",
    "Event",
    "ExecutionResult",
    "ExecutionTrigger",
    "InvalidEvent",
    "ManualApprovalMessage",
    "PipelineExecutionDetail",
    "PipelineExecutionStateChange",
    "PipelineState",
    "S3Location",
    "StageExecutionDetail",
    "StageExecutionStateChange",
    "StageState",
    "TriggerType",
    "UserIdentity",
    "approvals_from_sns_event",
    "parse_event",
    "parse_sns_event",
    "parse_sns_record",
    "sns_message",
]


def _load(module: str) -> ModuleType:
    """The submodule, imported by name (each import written out, so the layering test sees it)."""
    match module:
        case "approval":
            from warden.models import approval as loaded
        case "cloudtrail":
            from warden.models import cloudtrail as loaded
        case "cloudwatch":
            from warden.models import cloudwatch as loaded
        case "codedeploy":
            from warden.models import codedeploy as loaded
        case "codepipeline":
            from warden.models import codepipeline as loaded
        case "errors":
            from warden.models import errors as loaded
        case "lifecycle":
            from warden.models import lifecycle as loaded
        case "parse":
            from warden.models import parse as loaded
        case _:
            raise AttributeError(module)
    return loaded


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_load(module), name)
    globals()[name] = value  # once: the next lookup is an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
