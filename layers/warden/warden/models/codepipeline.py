"""CodePipeline execution state-change events (EventBridge, source aws.codepipeline).

Documented shapes: https://docs.aws.amazon.com/codepipeline/latest/userguide/detect-state-changes-cloudwatch-events.html
(pipeline/stage/action samples, emitted and "processed" forms; V2 `execution-trigger` with author-display-name,
author-id, author-email, author-date, commit-id, commit-message, full-repository-name, provider-type,
connection-arn and branch-name or tag-name, sometimes without trigger-type; stop-execution-comments;
stage-last-retry-attempt-time; `version` and `pipeline-execution-attempt` are numbers such as 1.0).
Trigger types: https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_ExecutionTrigger.html
(... WebhookV2 | ManualRollback | AutomatedRollback). Rollback executions: PipelineExecution.executionType
(STANDARD | ROLLBACK) and rollbackMetadata in the API; not shown in the event samples, so accepted leniently
as `execution-type`/`executionType` and `rollback-metadata`/`rollbackMetadata`.
"""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field

from warden.models.base import Moment, Region, Text, WardenEventBridgeModel, WardenModel

SOURCE = "aws.codepipeline"
NAME_LIMIT = 100  # pipeline, stage and action names (CodePipeline API)
ID_LIMIT = 200  # execution ids are 36-character UUIDs; a margin, far below DynamoDB's 1 KB sort key
PIPELINE_DETAIL_TYPE = "CodePipeline Pipeline Execution State Change"
STAGE_DETAIL_TYPE = "CodePipeline Stage Execution State Change"
ACTION_DETAIL_TYPE = "CodePipeline Action Execution State Change"


class PipelineState:
    """Documented pipeline execution states (a str field: AWS may add more)."""

    CANCELED = "CANCELED"
    FAILED = "FAILED"
    RESUMED = "RESUMED"
    STARTED = "STARTED"
    STOPPED = "STOPPED"
    STOPPING = "STOPPING"
    SUCCEEDED = "SUCCEEDED"
    SUPERSEDED = "SUPERSEDED"
    TERMINAL = frozenset({CANCELED, FAILED, STOPPED, SUCCEEDED, SUPERSEDED})


class StageState:
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    RESUMED = "RESUMED"
    STARTED = "STARTED"
    STOPPED = "STOPPED"
    STOPPING = "STOPPING"
    SUCCEEDED = "SUCCEEDED"
    TERMINAL = frozenset({CANCELED, FAILED, STOPPED, SUCCEEDED})


class ActionState:
    ABANDONED = "ABANDONED"
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    STARTED = "STARTED"
    SUCCEEDED = "SUCCEEDED"
    TERMINAL = frozenset({ABANDONED, CANCELED, FAILED, SUCCEEDED})


class TriggerType:
    CREATE_PIPELINE = "CreatePipeline"
    START_PIPELINE_EXECUTION = "StartPipelineExecution"
    POLL_FOR_SOURCE_CHANGES = "PollForSourceChanges"
    WEBHOOK = "Webhook"
    CLOUDWATCH_EVENT = "CloudWatchEvent"
    PUT_ACTION_REVISION = "PutActionRevision"
    WEBHOOK_V2 = "WebhookV2"
    MANUAL_ROLLBACK = "ManualRollback"
    AUTOMATED_ROLLBACK = "AutomatedRollback"
    ROLLBACK = frozenset({MANUAL_ROLLBACK, AUTOMATED_ROLLBACK})


class ActionCategory:
    SOURCE = "Source"
    BUILD = "Build"
    TEST = "Test"
    DEPLOY = "Deploy"
    APPROVAL = "Approval"
    INVOKE = "Invoke"
    COMPUTE = "Compute"


class ExecutionTrigger(WardenModel):
    """`detail.execution-trigger`: what started the execution; V2 git triggers add the commit and author."""

    trigger_type: str | None = Field(None, alias="trigger-type")
    trigger_detail: str | None = Field(None, alias="trigger-detail")
    commit_id: str | None = Field(None, alias="commit-id")
    commit_message: str | None = Field(None, alias="commit-message")
    author_display_name: str | None = Field(None, alias="author-display-name")
    author_id: str | None = Field(None, alias="author-id")
    author_email: str | None = Field(None, alias="author-email")
    author_date: str | None = Field(None, alias="author-date")
    full_repository_name: str | None = Field(None, alias="full-repository-name")
    provider_type: str | None = Field(None, alias="provider-type")
    connection_arn: str | None = Field(None, alias="connection-arn")
    branch_name: str | None = Field(None, alias="branch-name")
    tag_name: str | None = Field(None, alias="tag-name")

    @property
    def is_rollback(self) -> bool:
        return self.trigger_type in TriggerType.ROLLBACK

    @property
    def author(self) -> str | None:
        return self.author_display_name or self.author_id or self.author_email

    @property
    def ref(self) -> str | None:
        """The branch or tag that triggered a V2 git execution."""
        return self.branch_name or self.tag_name


class S3Location(WardenModel):
    bucket: str | None = None
    key: str | None = None


class Artifact(WardenModel):
    name: str | None = None
    s3location: S3Location | None = None


class ActionType(WardenModel):
    """`detail.type` of an action event: {owner, category, provider, version}."""

    owner: str | None = None
    category: str | None = None
    provider: str | None = None
    version: Text | None = None  # "1"; 1 in older samples


class ExecutionResult(WardenModel):
    """`detail.execution-result` of an action event (present on SUCCEEDED/FAILED)."""

    external_execution_url: str | None = Field(None, alias="external-execution-url")
    external_execution_summary: str | None = Field(None, alias="external-execution-summary")
    external_execution_id: str | None = Field(None, alias="external-execution-id")
    error_code: str | None = Field(None, alias="error-code")


class _ExecutionDetail(WardenModel):
    # AWS limits (CodePipeline: names 1-100, execution ids are UUIDs): a key Warden builds from them then
    # fits DynamoDB's key sizes, and an event outside them is invalid at once instead of failing every retry.
    pipeline: str = Field(min_length=1, max_length=NAME_LIMIT)
    execution_id: str = Field(alias="execution-id", min_length=1, max_length=ID_LIMIT)
    state: str
    start_time: Moment | None = Field(None, alias="start-time")
    version: float | None = None  # the pipeline structure version
    pipeline_execution_attempt: float | None = Field(None, alias="pipeline-execution-attempt")

    @property
    def attempt(self) -> int | None:
        return None if self.pipeline_execution_attempt is None else int(self.pipeline_execution_attempt)


class PipelineExecutionDetail(_ExecutionDetail):
    execution_trigger: ExecutionTrigger | None = Field(None, alias="execution-trigger")
    stop_execution_comments: str | None = Field(None, alias="stop-execution-comments")
    execution_type: str | None = Field(
        None, validation_alias=AliasChoices("execution-type", "executionType"), serialization_alias="execution-type"
    )
    rollback_metadata: dict[str, Any] | None = Field(
        None,
        validation_alias=AliasChoices("rollback-metadata", "rollbackMetadata"),
        serialization_alias="rollback-metadata",
    )

    @property
    def trigger_type(self) -> str | None:
        return self.execution_trigger.trigger_type if self.execution_trigger else None

    @property
    def is_rollback(self) -> bool:
        return (
            (self.execution_type or "").upper() == "ROLLBACK"
            or self.rollback_metadata is not None
            or (self.execution_trigger is not None and self.execution_trigger.is_rollback)
        )

    @property
    def commit_id(self) -> str | None:
        return self.execution_trigger.commit_id if self.execution_trigger else None

    @property
    def author(self) -> str | None:
        return self.execution_trigger.author if self.execution_trigger else None

    @property
    def is_terminal(self) -> bool:
        return self.state in PipelineState.TERMINAL


class StageExecutionDetail(_ExecutionDetail):
    stage: str = Field(min_length=1, max_length=NAME_LIMIT)
    stage_last_retry_attempt_time: Moment | None = Field(None, alias="stage-last-retry-attempt-time")

    @property
    def is_terminal(self) -> bool:
        return self.state in StageState.TERMINAL


class ActionExecutionDetail(_ExecutionDetail):
    stage: str = Field(min_length=1, max_length=NAME_LIMIT)
    action: str = Field(min_length=1, max_length=NAME_LIMIT)
    action_execution_id: str | None = Field(None, alias="action-execution-id", max_length=ID_LIMIT)
    region: Region | None = None  # the action's Region (may differ from the event's)
    action_type: ActionType | None = Field(None, alias="type")
    execution_result: ExecutionResult | None = Field(None, alias="execution-result")
    input_artifacts: list[Artifact] | None = Field(None, alias="input-artifacts")
    output_artifacts: list[Artifact] | None = Field(None, alias="output-artifacts")

    @property
    def category(self) -> str | None:
        return self.action_type.category if self.action_type else None

    @property
    def provider(self) -> str | None:
        return self.action_type.provider if self.action_type else None

    @property
    def is_approval(self) -> bool:
        return self.category == ActionCategory.APPROVAL

    @property
    def error_code(self) -> str | None:
        return self.execution_result.error_code if self.execution_result else None

    @property
    def is_terminal(self) -> bool:
        return self.state in ActionState.TERMINAL


class PipelineExecutionStateChange(WardenEventBridgeModel):
    detail: PipelineExecutionDetail


class StageExecutionStateChange(WardenEventBridgeModel):
    detail: StageExecutionDetail


class ActionExecutionStateChange(WardenEventBridgeModel):
    detail: ActionExecutionDetail
