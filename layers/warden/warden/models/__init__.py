"""Typed models of every input Pipeline Warden reacts to, and parse_event to tell them apart.

Each model keeps unknown fields (extra="allow") and accepts both field names and the JSON names.
"""

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
