"""Embedded CodePipeline: executions and the calls moto 5.2 lacks, answering from state that fed events drive.

moto keeps pipeline definitions (Create/Get/Update/ListPipelines, tags) but never runs anything. This
module owns everything that happens to a pipeline: executions (StartPipelineExecution, Get/List
PipelineExecution(s)), what the fed events say happened (stage and action executions, approval tokens)
and the outcomes of PutApprovalResult, StopPipelineExecution and RollbackStage. An approval token is the
one this CodePipeline issued: at the Approval action's STARTED event, or, when the approval message
happened first, the message's; a message with another token is not this pipeline's and changes nothing,
so that a forged message replayed is refused as it is in AWS. It serves them through
moto's own request handling, so boto3 calls go through real botocore serialization and parsing. Of moto's
models it reads only a pipeline's stored declaration (fakes/moto_model.py, checked against each moto
release). The state hangs off moto's backend object, so moto's reset clears it too.
"""

from __future__ import annotations

import calendar
import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError
from moto.codepipeline.responses import CodePipelineResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import JsonRESTError
from moto.core.utils import utcnow
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

from . import artifacts, moto_model

PIPELINE_EVENT = "CodePipeline Pipeline Execution State Change"
STAGE_EVENT = "CodePipeline Stage Execution State Change"
ACTION_EVENT = "CodePipeline Action Execution State Change"

# Event states -> the API enums (PipelineExecutionStatus, StageExecutionStatus, ActionExecutionStatus).
PIPELINE_STATUS = {
    "STARTED": "InProgress", "RESUMED": "InProgress", "QUEUED": "InProgress", "SUCCEEDED": "Succeeded",
    "FAILED": "Failed", "STOPPING": "Stopping", "STOPPED": "Stopped", "SUPERSEDED": "Superseded",
    "CANCELED": "Cancelled",
}
STAGE_STATUS = {
    "STARTED": "InProgress", "RESUMED": "InProgress", "SUCCEEDED": "Succeeded", "FAILED": "Failed",
    "STOPPING": "Stopping", "STOPPED": "Stopped", "CANCELED": "Cancelled",
}
# ActionExecutionStatus has no Cancelled: a canceled action is reported as Abandoned.
ACTION_STATUS = {
    "STARTED": "InProgress", "SUCCEEDED": "Succeeded", "FAILED": "Failed", "ABANDONED": "Abandoned",
    "CANCELED": "Abandoned",
}
ROLLBACK_TRIGGERS = {"ManualRollback", "AutomatedRollback"}
_STATE_ATTR = "_warden_embedded_state"


def _error(code: str, message: str) -> JsonRESTError:
    return JsonRESTError(code, message)


def _naive_utc(value: datetime) -> datetime:
    # moto stores naive UTC datetimes; mixing aware ones in would break its sorting and formatting.
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def parse_time(value: str | datetime | None) -> datetime:
    if isinstance(value, datetime):
        return _naive_utc(value)
    if not value:
        return utcnow()
    return _naive_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


def epoch(value: datetime) -> float:
    """JSON-protocol timestamps are epoch seconds; naive values are UTC."""
    return calendar.timegm(value.utctimetuple()) + value.microsecond // 1000 / 1000


def _clean(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


@dataclass
class ActionRun:
    """One action execution (what ListActionExecutions lists)."""

    action_execution_id: str
    pipeline_execution_id: str
    stage: str
    action: str
    status: str
    start: datetime
    last_update: datetime
    token: str | None = None
    summary: str | None = None
    updated_by: str | None = None
    external_id: str | None = None
    external_url: str | None = None
    external_summary: str | None = None
    error_code: str | None = None
    token_from_message: bool = False
    # Events are ordered among themselves only: API calls stamp wall-clock time, events their own.
    last_event: datetime | None = None


@dataclass
class ExecutionRecord:
    """What the events and API calls said about one pipeline execution."""

    execution_id: str
    status: str
    start: datetime
    last_update: datetime
    pipeline_version: int = 1
    variables: list[dict[str, str]] = field(default_factory=list)
    trigger: dict[str, str] = field(default_factory=dict)
    execution_type: str = "STANDARD"
    rollback_target: str | None = None
    stop_reason: str | None = None
    stages: dict[str, str] = field(default_factory=dict)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    source_revisions: list[dict[str, Any]] = field(default_factory=list)
    # Made up for an approval message that named no known execution; replaced once events name one.
    synthetic: bool = False
    last_event: datetime | None = None


@dataclass
class PipelineRecord:
    executions: dict[str, ExecutionRecord] = field(default_factory=dict)
    runs: list[ActionRun] = field(default_factory=list)
    stage_latest: dict[str, str] = field(default_factory=dict)
    # The latest run of each stage's beforeEntry condition (GetPipelineState's beforeEntryConditionState).
    entry: dict[str, dict[str, Any]] = field(default_factory=dict)

    def latest_run(self, stage: str, action: str, execution_id: str | None = None) -> ActionRun | None:
        for run in reversed(self.runs):
            if (run.stage, run.action) == (stage, action) and (
                execution_id in (None, run.pipeline_execution_id)
            ):
                return run
        return None


# A pipeline declaration (the `pipeline` structure of GetPipeline), as moto stores it.
Pipeline = dict[str, Any]


class EmbeddedCodePipeline:
    """CodePipeline state of one account and region, alongside moto's backend."""

    def __init__(self, account_id: str, region: str):
        self.account_id = account_id
        self.region = region
        self.pipelines: dict[str, PipelineRecord] = {}
        # Plain-data views for tests and for the replay's "calls" effects.
        self.approval_results: list[dict[str, Any]] = []
        self.stops: list[dict[str, Any]] = []
        self.rollbacks: list[dict[str, Any]] = []
        # Stage-condition rule jobs (LambdaInvoke) this CodePipeline issued, and the answers they got.
        self.jobs: dict[str, dict[str, Any]] = {}
        self.overrides: list[dict[str, Any]] = []
        self.emitted: list[dict[str, Any]] = []  # events CodePipeline emitted on its own (a failed entry condition)

    @property
    def backend(self) -> Any:
        return moto_model.codepipeline_backend(self.account_id, self.region)

    # ---- lookups -------------------------------------------------------------------------------
    def definition(self, name: Any) -> Pipeline | None:
        return moto_model.pipeline_definition(self.account_id, self.region, name)

    def _pipeline(self, name: str) -> Pipeline:
        pipeline = self.definition(name)
        if pipeline is None:
            raise _error(
                "PipelineNotFoundException",
                f"Account '{self.account_id}' does not have a pipeline with name '{name}'",
            )
        return pipeline

    def _record(self, name: str) -> PipelineRecord:
        return self.pipelines.setdefault(name, PipelineRecord())

    @staticmethod
    def _stage_def(pipeline: Pipeline, stage: str | None) -> dict[str, Any] | None:
        return next((s for s in pipeline["stages"] if s["name"] == stage), None)

    @staticmethod
    def _action_def(stage_def: dict[str, Any], action: str | None) -> dict[str, Any] | None:
        return next((a for a in stage_def["actions"] if a["name"] == action), None)

    def _execution(
        self, pipeline: Pipeline, execution_id: str, when: datetime, status: str = "InProgress",
        variables: list[dict[str, str]] | None = None,
    ) -> ExecutionRecord:
        """The record for an execution, creating it the first time it is named."""
        record = self._record(pipeline["name"])
        if execution_id in record.executions:
            return record.executions[execution_id]
        execution = ExecutionRecord(
            execution_id, status, when, when, pipeline_version=pipeline["version"], variables=variables or [],
            trigger={"triggerType": "StartPipelineExecution", "triggerDetail": ""},
        )
        record.executions[execution_id] = execution
        # Listed newest first by start time, whatever order late-arriving events named them in.
        record.executions = dict(sorted(record.executions.items(), key=lambda kv: kv[1].start))
        return execution

    @staticmethod
    def _set_status(pipeline: Pipeline, execution: ExecutionRecord, status: str, when: datetime):
        execution.status = status
        execution.last_update = max(execution.last_update, when)

    def _set_stage(self, name: str, execution: ExecutionRecord, stage: str, status: str) -> None:
        execution.stages[stage] = status
        self._record(name).stage_latest[stage] = execution.execution_id

    def _now_running(self, pipeline: Pipeline, stage: str, when: datetime) -> ExecutionRecord:
        """The execution an approval message belongs to: the stage's or pipeline's running one."""
        record = self._record(pipeline["name"])
        latest = record.stage_latest.get(stage)
        if latest and record.executions[latest].stages.get(stage) == "InProgress":
            return record.executions[latest]
        running = [e for e in record.executions.values() if e.status == "InProgress"]
        if running:
            return max(running, key=lambda e: e.start)
        execution = self._execution(pipeline, str(uuid.uuid4()), when)
        execution.synthetic = True
        return execution

    # ---- events --------------------------------------------------------------------------------
    def apply_event(self, event: dict[str, Any], at: datetime | str | None = None) -> bool:
        """Treat an EventBridge CodePipeline event or an approval SNS message as having happened.

        Returns False when it names a pipeline, stage or action that does not exist here.
        """
        if "approval" in event and "detail-type" not in event:
            return self._apply_approval_message(event["approval"], parse_time(at))
        detail = event.get("detail") or {}
        kind = event.get("detail-type")
        pipeline = self.definition(detail.get("pipeline"))
        execution_id = detail.get("execution-id")
        if pipeline is None or not execution_id or kind not in (PIPELINE_EVENT, STAGE_EVENT, ACTION_EVENT):
            return False
        when = parse_time(at or event.get("time"))
        name, state = pipeline["name"], detail.get("state")
        if kind == PIPELINE_EVENT:
            if state not in PIPELINE_STATUS:
                return False
            execution = self._execution(pipeline, execution_id, when)
            trigger = detail.get("execution-trigger") or {}
            if trigger.get("trigger-type"):
                execution.trigger = _clean(
                    triggerType=trigger["trigger-type"], triggerDetail=trigger.get("trigger-detail", "")
                )
            if trigger.get("trigger-type") in ROLLBACK_TRIGGERS or detail.get("execution-type") == "ROLLBACK":
                execution.execution_type = "ROLLBACK"
            if execution.last_event is None or when >= execution.last_event:  # late events don't undo
                execution.last_event = when
                self._set_status(pipeline, execution, PIPELINE_STATUS[state], when)
            return True
        stage_def = self._stage_def(pipeline, detail.get("stage"))
        if stage_def is None:
            return False
        stage = stage_def["name"]
        if kind == STAGE_EVENT:
            if state not in STAGE_STATUS:
                return False
            execution = self._execution(pipeline, execution_id, when)
            self._set_stage(name, execution, stage, STAGE_STATUS[state])
            return True
        action_def = self._action_def(stage_def, detail.get("action"))
        if action_def is None or state not in ACTION_STATUS:
            return False
        execution = self._execution(pipeline, execution_id, when)
        if stage not in execution.stages:
            self._set_stage(name, execution, stage, "InProgress")
        run = self._run_for_event(pipeline, execution, stage, action_def, ACTION_STATUS[state], when,
                                  detail.get("action-execution-id"))
        result = detail.get("execution-result") or {}
        run.external_id = result.get("external-execution-id", run.external_id)
        run.external_url = result.get("external-execution-url", run.external_url)
        run.external_summary = result.get("external-execution-summary", run.external_summary)
        run.error_code = result.get("error-code", run.error_code)
        if run.status == "Succeeded" and _category(action_def) == "Source" and run.external_id:
            self._record_revision(execution, action_def, run)
        if run.status == "Succeeded":
            artifacts.write_outputs(self, pipeline, action_def, run)  # fakes/artifacts.py
        return True

    def _run_for_event(
        self, pipeline: Pipeline, execution: ExecutionRecord, stage: str, action_def: dict[str, Any],
        status: str, when: datetime, action_execution_id: str | None = None,
    ) -> ActionRun:
        """The action run an event speaks of: the one with its action execution id (a stage retried runs the
        action again, under a new id), else the execution's latest run of the action."""
        record = self._record(pipeline["name"])
        action = action_def["name"]
        known = next((r for r in reversed(record.runs) if action_execution_id and (
            r.action_execution_id, r.pipeline_execution_id) == (action_execution_id, execution.execution_id)), None)
        run = known or record.latest_run(stage, action, execution.execution_id)
        if status == "InProgress":
            if known is not None or run is not None and (
                    run.status == "InProgress" or run.last_event and when < run.last_event):
                if run.token_from_message and run.status == "InProgress" and action_execution_id:
                    run.action_execution_id = action_execution_id  # the message's run, now named by its event
                return run  # duplicate, or an older STARTED arriving after the outcome
            pending = record.latest_run(stage, action)
            if pending and pending.token_from_message and pending.status == "InProgress":
                # The approval message came first and its execution was guessed: adopt this one.
                self._adopt(pipeline, pending, execution)
                pending.action_execution_id = action_execution_id or pending.action_execution_id
                return pending
            token = str(uuid.uuid4()) if _category(action_def) == "Approval" else None
            run = self._new_run(record, execution, stage, action, when, token, action_execution_id)
            run.last_event = when
            return run
        if run is not None and known is None and action_execution_id and run.last_event and when < run.last_event:
            # The outcome of an earlier run, delivered after a later run began: recorded before it.
            earlier = self._new_run(record, execution, stage, action, when, None, action_execution_id)
            record.runs.remove(earlier)
            record.runs.insert(record.runs.index(run), earlier)
            run = earlier
        if run is None:
            run = self._new_run(record, execution, stage, action, when, None, action_execution_id)
        if run.last_event is None or when >= run.last_event or run.status == "InProgress":
            run.status, run.last_update = status, max(run.last_update, when)
        run.last_event = max(run.last_event or when, when)
        return run

    @staticmethod
    def _new_run(
        record: PipelineRecord, execution: ExecutionRecord, stage: str, action: str, when: datetime,
        token: str | None, action_execution_id: str | None = None,
    ) -> ActionRun:
        run = ActionRun(
            action_execution_id or str(uuid.uuid4()), execution.execution_id, stage, action, "InProgress", when,
            when, token,
        )
        record.runs.append(run)
        return run

    def _adopt(self, pipeline: Pipeline, run: ActionRun, execution: ExecutionRecord) -> None:
        record = self._record(pipeline["name"])
        guessed = record.executions.get(run.pipeline_execution_id)
        run.pipeline_execution_id = execution.execution_id
        execution.stages.setdefault(run.stage, "InProgress")
        record.stage_latest[run.stage] = execution.execution_id
        if guessed and guessed.synthetic and not any(
            r.pipeline_execution_id == guessed.execution_id for r in record.runs
        ):
            del record.executions[guessed.execution_id]

    def _apply_approval_message(self, approval: dict[str, Any], when: datetime) -> bool:
        pipeline = self.definition(approval.get("pipelineName"))
        stage_def = pipeline and self._stage_def(pipeline, approval.get("stageName"))
        action_def = stage_def and self._action_def(stage_def, approval.get("actionName"))
        if not action_def or not approval.get("token"):
            return False
        record = self._record(pipeline["name"])
        stage, action = stage_def["name"], action_def["name"]
        run = record.latest_run(stage, action)
        if run is None or run.status != "InProgress":
            execution = self._now_running(pipeline, stage, when)
            self._set_stage(pipeline["name"], execution, stage, "InProgress")
            run = self._new_run(record, execution, stage, action, when, None)
            run.token_from_message = True
        if run.token is None:
            # No token was issued for this action execution yet (its STARTED event has not happened here):
            # the message is CodePipeline's, so its token is the pending one.
            run.token = approval["token"]
        # Otherwise this CodePipeline issued the token already: a message with another one is not its own
        # (forged, or of an earlier request), and changes nothing here, as in AWS.
        return run.token == approval["token"]

    @staticmethod
    def _record_revision(execution: ExecutionRecord, action_def: dict[str, Any], run: ActionRun) -> None:
        artifact = (action_def.get("outputArtifacts") or [{"name": action_def["name"]}])[0]["name"]
        execution.revisions = [r for r in execution.revisions if r["name"] != artifact] + [_clean(
            name=artifact, revisionId=run.external_id, revisionChangeIdentifier=run.external_id,
            revisionSummary=run.external_summary, created=run.last_update, revisionUrl=run.external_url,
        )]
        execution.source_revisions = [
            r for r in execution.source_revisions if r["actionName"] != run.action
        ] + [_clean(actionName=run.action, revisionId=run.external_id,
                    revisionSummary=run.external_summary, revisionUrl=run.external_url)]

    # ---- API -----------------------------------------------------------------------------------
    def get_pipeline_state(self, name: str) -> dict[str, Any]:
        pipeline = self._pipeline(name)
        record = self._record(name)
        stage_states = []
        for index, stage_def in enumerate(pipeline["stages"]):
            stage = stage_def["name"]
            state: dict[str, Any] = {"stageName": stage}
            if index:  # the first stage has no inbound transition
                state["inboundTransitionState"] = {"enabled": True}
            state["actionStates"] = [self._action_state(record, stage, a) for a in stage_def["actions"]]
            if stage in record.stage_latest:
                execution = record.executions[record.stage_latest[stage]]
                state["latestExecution"] = {
                    "pipelineExecutionId": execution.execution_id,
                    "status": execution.stages[stage],
                    "type": execution.execution_type,
                }
            if stage in record.entry:
                ran = record.entry[stage]
                state["beforeEntryConditionState"] = {
                    "latestExecution": {"status": ran["status"], "summary": ran["summary"]},
                    "conditionStates": [{
                        "latestExecution": {"status": ran["status"], "summary": ran["summary"],
                                            "lastStatusChange": epoch(ran["at"])},
                        "ruleStates": [{"ruleName": ran["rule"], "latestExecution": {
                            "status": ran["status"], "summary": ran["summary"],
                            "lastStatusChange": epoch(ran["at"])}}]}]}
            stage_states.append(state)
        return {
            "pipelineName": name,
            "pipelineVersion": pipeline["version"],
            "stageStates": stage_states,
        } | self._times(name)

    def _times(self, name: str) -> dict[str, float]:
        times = moto_model.pipeline_times(self.account_id, self.region, name)
        return {"created": epoch(times[0]), "updated": epoch(times[1])} if times else {}

    def _action_state(self, record: PipelineRecord, stage: str, action_def: dict[str, Any]) -> dict[str, Any]:
        state = _clean(actionName=action_def["name"], entityUrl=entity_url(action_def, self.region))
        run = record.latest_run(stage, action_def["name"])
        if run is None:
            return state
        state["latestExecution"] = _clean(
            actionExecutionId=run.action_execution_id,
            status=run.status,
            summary=run.summary or run.external_summary,
            lastStatusChange=epoch(run.last_update),
            token=run.token if run.status == "InProgress" else None,
            lastUpdatedBy=run.updated_by,
            externalExecutionId=run.external_id,
            externalExecutionUrl=run.external_url,
            errorDetails=_error_details(run),
        )
        if _category(action_def) == "Source" and run.status == "Succeeded" and run.external_id:
            state["currentRevision"] = {
                "revisionId": run.external_id, "revisionChangeId": run.external_id,
                "created": epoch(run.last_update),
            }
        return state

    def list_action_executions(
        self, name: str, filter_: dict[str, Any] | None, max_results: int | None, next_token: str | None
    ) -> dict[str, Any]:
        pipeline = self._pipeline(name)
        record = self._record(name)
        filter_ = filter_ or {}
        latest = filter_.get("latestInPipelineExecution") or {}
        execution_id = filter_.get("pipelineExecutionId") or latest.get("pipelineExecutionId")
        if execution_id and execution_id not in record.executions:
            raise _error(
                "PipelineExecutionNotFoundException",
                f"Pipeline execution with id '{execution_id}' does not exist in pipeline '{name}'",
            )
        runs = [r for r in record.runs if execution_id in (None, r.pipeline_execution_id)]
        if latest.get("startTimeRange") == "Latest":
            runs = [r for r in runs if record.latest_run(r.stage, r.action, r.pipeline_execution_id) is r]
        runs.sort(key=lambda r: r.start, reverse=True)
        page, token = _page(runs, next_token, max_results)
        return _clean(actionExecutionDetails=[self._action_detail(pipeline, r) for r in page], nextToken=token)

    def _action_detail(self, pipeline: Pipeline, run: ActionRun) -> dict[str, Any]:
        action_def = self._action_def(self._stage_def(pipeline, run.stage), run.action)
        result = _clean(
            externalExecutionId=run.external_id,
            externalExecutionSummary=run.external_summary,
            externalExecutionUrl=run.external_url,
            errorDetails=_error_details(run),
        )
        output: dict[str, Any] = {"outputVariables": {}}
        if run.status == "Succeeded":
            output["outputArtifacts"] = artifacts.detail(  # with s3location (fakes/artifacts.py)
                self, pipeline, run, [a["name"] for a in action_def.get("outputArtifacts", [])])
        if result:
            output["executionResult"] = result
        return _clean(
            pipelineExecutionId=run.pipeline_execution_id,
            actionExecutionId=run.action_execution_id,
            pipelineVersion=pipeline["version"],
            stageName=run.stage,
            actionName=run.action,
            startTime=epoch(run.start),
            lastUpdateTime=epoch(run.last_update),
            updatedBy=run.updated_by,
            status=run.status,
            input=_clean(
                actionTypeId=action_def["actionTypeId"],
                configuration=action_def.get("configuration", {}),
                resolvedConfiguration=action_def.get("configuration", {}),
                roleArn=action_def.get("roleArn"),
                region=action_def.get("region", self.region),
                inputArtifacts=artifacts.detail(self, pipeline, run,
                                                [a["name"] for a in action_def.get("inputArtifacts", [])]),
                namespace=action_def.get("namespace"),
            ),
            output=output,
        )

    def put_approval_result(
        self, name: str, stage: str, action: str, result: dict[str, str], token: str, caller: str
    ) -> datetime:
        pipeline = self._pipeline(name)
        stage_def = self._stage_def(pipeline, stage)
        if stage_def is None:
            raise _error("StageNotFoundException", f"Stage '{stage}' not found in pipeline '{name}'")
        action_def = self._action_def(stage_def, action)
        if action_def is None:
            raise _error("ActionNotFoundException", f"Action '{action}' not found in stage '{stage}'")
        record = self._record(name)
        run = record.latest_run(stage, action)
        if run is None or _category(action_def) != "Approval" or run.token != token:
            raise _error(
                "InvalidApprovalTokenException",
                f"The approval token {token} is not valid for action {action} in stage {stage}",
            )
        if run.status != "InProgress":
            raise _error("ApprovalAlreadyCompletedException", f"Approval {action} is already completed")
        now = utcnow()
        approved = result["status"] == "Approved"
        run.status = "Succeeded" if approved else "Failed"
        run.summary = run.external_summary = result.get("summary")
        run.updated_by, run.last_update = caller, now
        execution = record.executions[run.pipeline_execution_id]
        if not approved:
            # A rejection fails the stage and with it the pipeline execution.
            self._set_stage(name, execution, stage, "Failed")
            self._set_status(pipeline, execution, "Failed", now)
        elif all(
            (r := record.latest_run(stage, a["name"], execution.execution_id)) and r.status == "Succeeded"
            for a in stage_def["actions"]
        ):
            self._set_stage(name, execution, stage, "Succeeded")
        self.approval_results.append({
            "pipelineName": name, "stageName": stage, "actionName": action, "token": token,
            "status": result["status"], "summary": result.get("summary"), "updatedBy": caller,
            "pipelineExecutionId": execution.execution_id, "approvedAt": now,
        })
        return now

    def stop_pipeline_execution(self, name: str, execution_id: str, abandon: bool, reason: str | None) -> str:
        pipeline = self._pipeline(name)
        if execution_id not in self._record(name).executions:
            raise _error(
                "PipelineExecutionNotStoppableException",
                f"Unable to stop pipeline execution {execution_id}: it does not exist in pipeline '{name}'",
            )
        now = utcnow()
        execution = self._execution(pipeline, execution_id, now)
        if execution.status == "Stopping" and not abandon:
            raise _error("DuplicatedStopRequestException", f"Execution {execution_id} is already stopping")
        if execution.status not in ("InProgress", "Stopping"):
            raise _error(
                "PipelineExecutionNotStoppableException",
                f"Unable to stop pipeline execution {execution_id} with status {execution.status}",
            )
        status = "Stopped" if abandon else "Stopping"
        execution.stop_reason = reason or execution.stop_reason
        self._set_status(pipeline, execution, status, now)
        for stage, stage_status in execution.stages.items():
            if stage_status in ("InProgress", "Stopping"):
                execution.stages[stage] = status
        if abandon:
            for run in self._record(name).runs:
                if run.pipeline_execution_id == execution_id and run.status == "InProgress":
                    run.status, run.last_update = "Abandoned", now
        self.stops.append({
            "pipelineName": name, "pipelineExecutionId": execution_id, "abandon": abandon, "reason": reason,
        })
        return execution_id

    def rollback_stage(self, name: str, stage: str, target_id: str, caller: str) -> str:
        pipeline = self._pipeline(name)
        if self._stage_def(pipeline, stage) is None:
            raise _error("StageNotFoundException", f"Stage '{stage}' not found in pipeline '{name}'")
        if target_id not in self._record(name).executions:
            raise _error(
                "PipelineExecutionNotFoundException",
                f"Pipeline execution with id '{target_id}' does not exist in pipeline '{name}'",
            )
        now = utcnow()
        target = self._execution(pipeline, target_id, now)
        # A Succeeded execution ran every stage, unless events say this stage ended otherwise.
        if target.status != "Succeeded" or target.stages.get(stage, "Succeeded") != "Succeeded":
            raise _error(
                "UnableToRollbackStageException",
                f"Target pipeline execution {target_id} did not succeed in stage {stage}",
            )
        self._refuse_rollback(pipeline, stage, target)
        ordinal = sum(1 for r in self.rollbacks if (r["pipelineName"], r["stageName"]) == (name, stage))
        execution = self._execution(pipeline, rollback_execution_id(name, stage, target_id, ordinal), now)
        execution.execution_type = "ROLLBACK"
        execution.rollback_target = target_id
        execution.trigger = {"triggerType": "ManualRollback", "triggerDetail": caller}
        execution.revisions = [dict(r) for r in target.revisions]
        execution.source_revisions = [dict(r) for r in target.source_revisions]
        self._set_stage(name, execution, stage, "InProgress")
        self.rollbacks.append({
            "pipelineName": name, "stageName": stage, "targetPipelineExecutionId": target_id,
            "pipelineExecutionId": execution.execution_id,
        })
        return execution.execution_id

    # ---- RollbackStage: what CodePipeline refuses (documented limits) ----------------------------
    def _refuse_rollback(self, pipeline: Pipeline, stage: str, target: ExecutionRecord) -> None:
        name = pipeline["name"]
        stage_def = self._stage_def(pipeline, stage)
        if any(_category(a) == "Source" for a in stage_def["actions"]):
            raise _error("UnableToRollbackStageException", f"Stage {stage} is a source stage: it cannot be rolled back")
        if target.execution_type == "ROLLBACK":
            raise _error("UnableToRollbackStageException",
                         f"Target pipeline execution {target.execution_id} is a rollback execution")
        if target.pipeline_version != pipeline["version"]:
            raise _error("PipelineExecutionOutdatedException",
                         f"Target pipeline execution {target.execution_id} ran on pipeline version "
                         f"{target.pipeline_version}; the pipeline is now version {pipeline['version']}")
        record = self._record(name)
        latest = record.executions.get(record.stage_latest.get(stage, ""))
        if latest is not None and latest.stages.get(stage) in ("InProgress", "Stopping"):
            if latest.execution_type == "ROLLBACK":
                raise _error("ConflictException", f"A rollback of stage {stage} is already in progress "
                             f"({latest.execution_id})")
            raise _error("UnableToRollbackStageException",
                         f"Stage {stage} is running execution {latest.execution_id}: it cannot be rolled back now")

    # -- stage conditions: LambdaInvoke rule jobs and OverrideStageCondition -----------------------------
    def issue_rule_job(self, name: str, stage: str, execution_id: str) -> dict[str, Any]:
        """The job of the stage's beforeEntry `LambdaInvoke` rule for `execution_id`: the event CodePipeline
        invokes the rule's function with (the documented `CodePipeline.job` shape, its configuration the rule's),
        kept until it is answered with PutJobSuccessResult or PutJobFailureResult."""
        pipeline = self._pipeline(name)
        stage_def = self._stage_def(pipeline, stage)
        if stage_def is None:
            raise _error("StageNotFoundException", f"stage {stage} not found in pipeline {name}")
        rules = [r for c in (stage_def.get("beforeEntry") or {}).get("conditions", []) for r in c.get("rules", [])
                 if (r.get("ruleTypeId") or {}).get("provider") == "LambdaInvoke"]
        if not rules:
            raise _error("ValidationException", f"stage {stage} of {name} has no beforeEntry LambdaInvoke rule")
        configuration = {k: v.replace("#{codepipeline.PipelineExecutionId}", execution_id)
                         for k, v in (rules[0].get("configuration") or {}).items()}
        job_id = str(uuid.uuid4())
        self.jobs[job_id] = {"id": job_id, "pipeline": name, "stage": stage, "execution_id": execution_id,
                             "rule": rules[0]["name"], "status": "InProgress"}
        return {"CodePipeline.job": {"id": job_id, "accountId": self.account_id,
                                     "data": {"actionConfiguration": {"configuration": configuration},
                                              "inputArtifacts": [], "outputArtifacts": []}}}

    def _job(self, job_id: str) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise _error("JobNotFoundException", f"job {job_id} not found")
        if job["status"] != "InProgress":
            raise _error("InvalidJobStateException", f"job {job_id} is {job['status']} already")
        return job

    def put_job_result(self, job_id: str, success: bool, failure: dict[str, Any] | None) -> None:
        job = self._job(job_id)
        job["status"] = "Succeeded" if success else "Failed"
        job["answered_at"] = utcnow()
        if failure:
            job["failure"] = failure

    def settle_entry(self, job_id: str, when: datetime | str | None = None) -> list[dict[str, Any]]:
        """What CodePipeline does with the answer of a beforeEntry rule's job (result FAIL): a success lets the
        stage enter (its STARTED follows, fed as an event); a failure, or a job never answered, fails the stage
        and the pipeline execution: the stage's latest execution is Failed with no action execution, the
        condition's state is Failed with the rule's message, and the Stage and Pipeline Execution State Change
        FAILED events CodePipeline emits are returned (the documented shapes), to be delivered."""
        job = self.jobs[job_id]
        when = parse_time(when)
        name, stage, execution_id = job["pipeline"], job["stage"], job["execution_id"]
        pipeline = self._pipeline(name)
        succeeded = job["status"] == "Succeeded"
        summary = (job.get("failure") or {}).get("message") or (
            "the rule succeeded" if succeeded else f"the rule's job is {job['status']}")
        self._record(name).entry[stage] = {"status": "Succeeded" if succeeded else "Failed",
                                           "summary": summary[:2048], "rule": job["rule"], "at": when,
                                           "execution_id": execution_id}
        if succeeded:
            return []
        execution = self._execution(pipeline, execution_id, when)
        self._set_stage(name, execution, stage, "Failed")
        execution.last_event = max(execution.last_event or when, when)
        self._set_status(pipeline, execution, "Failed", when)
        arn = f"arn:{get_partition(self.region)}:codepipeline:{self.region}:{self.account_id}:{name}"
        common = {"pipeline": name, "execution-id": execution_id,
                  "start-time": execution.start.isoformat(timespec="milliseconds") + "Z",
                  "version": float(pipeline["version"]), "pipeline-execution-attempt": 1.0}
        stamp = when.isoformat(timespec="seconds") + "Z"
        events = [{"version": "0", "id": str(uuid.uuid4()), "detail-type": kind, "source": "aws.codepipeline",
                   "account": self.account_id, "time": stamp, "region": self.region, "resources": [arn],
                   "detail": detail | {"state": "FAILED"}}
                  for kind, detail in ((STAGE_EVENT, common | {"stage": stage}), (PIPELINE_EVENT, common))]
        self.emitted.extend(events)
        return events

    def get_job_details(self, job_id: str) -> dict[str, Any]:
        job = self.jobs.get(job_id)
        if job is None:
            raise _error("JobNotFoundException", f"job {job_id} not found")
        return {"id": job_id, "accountId": self.account_id, "data": {"pipelineContext": {
            "pipelineName": job["pipeline"], "stage": {"name": job["stage"]},
            "action": {"name": job["rule"]}, "pipelineExecutionId": job["execution_id"],
            "pipelineArn": f"arn:{get_partition(self.region)}:codepipeline:{self.region}:{self.account_id}:"
                           f"{job['pipeline']}"}}}

    def override_stage_condition(self, name: str, stage: str, execution_id: str, condition_type: str,
                                 caller: str) -> None:
        pipeline = self._pipeline(name)
        if self._stage_def(pipeline, stage) is None:
            raise _error("StageNotFoundException", f"stage {stage} not found in pipeline {name}")
        if self._record(name).executions.get(execution_id) is None:
            raise _error("PipelineExecutionNotFoundException", f"execution {execution_id} not found")
        self.overrides.append({"pipeline": name, "stage": stage, "execution_id": execution_id,
                               "condition_type": condition_type, "by": caller})

    def start_pipeline_execution(self, name: str, variables: list[dict[str, str]] | None) -> str:
        pipeline = self._pipeline(name)
        # Nothing runs an API-started execution here: like moto, it has succeeded as soon as it started.
        return self._execution(pipeline, str(uuid.uuid4()), utcnow(), "Succeeded", variables).execution_id

    def get_pipeline_execution(self, name: str, execution_id: str) -> dict[str, Any]:
        pipeline = self._pipeline(name)
        execution = self._record(name).executions.get(execution_id)
        if execution is None:
            raise _error(
                "PipelineExecutionNotFoundException",
                f"Account '{self.account_id}' does not have an execution with id '{execution_id}' "
                f"for pipeline '{name}'",
            )
        return _clean(
            pipelineName=name,
            pipelineVersion=execution.pipeline_version,
            pipelineExecutionId=execution_id,
            status=execution.status,
            artifactRevisions=[
                r | {"created": epoch(r["created"])} if "created" in r else r for r in execution.revisions
            ],
            # The response shape is ResolvedPipelineVariable (name/resolvedValue).
            variables=[{"name": v["name"], "resolvedValue": v["value"]} for v in execution.variables],
            trigger=execution.trigger,
            executionMode=pipeline.get("executionMode", "SUPERSEDED"),
            executionType=execution.execution_type,
            rollbackMetadata=execution.rollback_target and {
                "rollbackTargetPipelineExecutionId": execution.rollback_target
            },
        )

    def list_pipeline_executions(
        self, name: str, max_results: int | None, next_token: str | None
    ) -> dict[str, Any]:
        pipeline = self._pipeline(name)
        executions = list(reversed(self._record(name).executions.values()))  # newest first
        page, token = _page(executions, next_token, max_results)
        summaries = [_clean(
            pipelineExecutionId=e.execution_id,
            status=e.status,
            startTime=epoch(e.start),
            lastUpdateTime=epoch(e.last_update),
            sourceRevisions=e.source_revisions,
            trigger=e.trigger,
            stopTrigger=e.stop_reason and {"reason": e.stop_reason},
            executionMode=pipeline.get("executionMode", "SUPERSEDED"),
            executionType=e.execution_type,
            rollbackMetadata=e.rollback_target and {"rollbackTargetPipelineExecutionId": e.rollback_target},
        ) for e in page]
        return _clean(pipelineExecutionSummaries=summaries, nextToken=token)


def _page(items: list[Any], next_token: str | None, max_results: int | None) -> tuple[list[Any], str | None]:
    """One page of a List call and the next token (an offset, as CodePipeline's tokens are opaque)."""
    try:
        offset = int(next_token or 0)
    except ValueError:
        raise _error("InvalidNextTokenException", "The next token is not valid.") from None
    limit = max_results or 100
    return items[offset:offset + limit], str(offset + limit) if offset + limit < len(items) else None


def rollback_execution_id(pipeline: str, stage: str, target_id: str, ordinal: int = 0) -> str:
    """The id RollbackStage gives its execution here: derived from what it rolls back (and how many rollbacks
    of that stage came before), so that a scenario can feed the rollback execution's own events."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"rollback:{pipeline}/{stage}/{target_id}/{ordinal}"))


def _category(action_def: dict[str, Any]) -> str:
    return action_def["actionTypeId"]["category"]


def _error_details(run: ActionRun) -> dict[str, str] | None:
    if run.status != "Failed" and not run.error_code:
        return None
    return {"code": run.error_code or "JobFailed", "message": run.summary or run.external_summary or ""}


def entity_url(action_def: dict[str, Any], region: str) -> str | None:
    """The console link CodePipeline shows for the action's resource, for the providers it knows."""
    provider = action_def["actionTypeId"]["provider"]
    config = action_def.get("configuration", {})
    console = f"https://{region}.console.aws.amazon.com"
    if provider == "CodeBuild" and config.get("ProjectName"):
        return f"{console}/codebuild/home?region={region}#/projects/{config['ProjectName']}/view"
    if provider == "CodeDeploy" and config.get("ApplicationName"):
        return f"{console}/codedeploy/home?region={region}#/applications/{config['ApplicationName']}"
    if provider == "CodeStarSourceConnection" and config.get("FullRepositoryId"):
        return f"https://github.com/{config['FullRepositoryId']}"
    return None


def default_region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def default_account() -> str:
    # moto serves requests with MOTO_ACCOUNT_ID when set, so the default state must follow it.
    return os.environ.get("MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT_ID


def codepipeline_state(account_id: str | None = None, region: str | None = None) -> EmbeddedCodePipeline:
    """The embedded CodePipeline state for an account and region (created on first use)."""
    account_id, region = account_id or default_account(), region or default_region()
    try:
        backend = moto_model.codepipeline_backend(account_id, region)
    except KeyError:
        # A Region code of the right shape that AWS does not have: its endpoint does not resolve, as in AWS.
        from botocore.exceptions import EndpointConnectionError

        raise EndpointConnectionError(endpoint_url=f"https://codepipeline.{region}.amazonaws.com/") from None
    state = getattr(backend, _STATE_ATTR, None)
    if state is None:
        state = EmbeddedCodePipeline(account_id, region)
        setattr(backend, _STATE_ATTR, state)
    return state


def apply_event(
    event: dict[str, Any] | str, at: datetime | str | None = None, account_id: str | None = None
) -> bool:
    """Feed an EventBridge CodePipeline event or an approval SNS message body to the right state.

    EventBridge events carry their account and region; approval messages carry only a region,
    so their account is `account_id` (moto's current default account if not given).
    """
    if isinstance(event, str):
        event = json.loads(event)
    if not isinstance(event, dict):
        return False
    account = account_id or event.get("account")
    region = event.get("region")
    try:
        return codepipeline_state(account if isinstance(account, str) else None,
                                  region if isinstance(region, str) else None).apply_event(event, at)
    except (TypeError, AttributeError, KeyError, ValueError, BotoCoreError):
        return False  # a malformed event did not happen here (Warden's handlers dead-letter it)


# ---- moto response methods --------------------------------------------------------------------
def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body)


def _state(self: CodePipelineResponse) -> EmbeddedCodePipeline:
    return codepipeline_state(self.current_account, self.region)


def _caller_arn(self: CodePipelineResponse) -> str:
    sts = sts_backends[self.current_account][get_partition(self.region)]
    return sts.get_caller_identity(self.get_access_key(), self.region)[1]


def get_pipeline_state(self: CodePipelineResponse) -> str:
    return _dumps(_state(self).get_pipeline_state(self._get_param("name")))


def list_action_executions(self: CodePipelineResponse) -> str:
    return _dumps(_state(self).list_action_executions(
        self._get_param("pipelineName"), self._get_param("filter"),
        self._get_param("maxResults"), self._get_param("nextToken"),
    ))


def put_approval_result(self: CodePipelineResponse) -> str:
    approved_at = _state(self).put_approval_result(
        self._get_param("pipelineName"), self._get_param("stageName"), self._get_param("actionName"),
        self._get_param("result"), self._get_param("token"), _caller_arn(self),
    )
    return _dumps({"approvedAt": epoch(approved_at)})


def stop_pipeline_execution(self: CodePipelineResponse) -> str:
    execution_id = _state(self).stop_pipeline_execution(
        self._get_param("pipelineName"), self._get_param("pipelineExecutionId"),
        bool(self._get_param("abandon")), self._get_param("reason"),
    )
    return _dumps({"pipelineExecutionId": execution_id})


def rollback_stage(self: CodePipelineResponse) -> str:
    execution_id = _state(self).rollback_stage(
        self._get_param("pipelineName"), self._get_param("stageName"),
        self._get_param("targetPipelineExecutionId"), _caller_arn(self),
    )
    return _dumps({"pipelineExecutionId": execution_id})


def start_pipeline_execution(self: CodePipelineResponse) -> str:
    execution_id = _state(self).start_pipeline_execution(self._get_param("name"), self._get_param("variables"))
    return _dumps({"pipelineExecutionId": execution_id})


def get_pipeline_execution(self: CodePipelineResponse) -> str:
    body = _state(self).get_pipeline_execution(self._get_param("pipelineName"), self._get_param("pipelineExecutionId"))
    return _dumps({"pipelineExecution": body})


def list_pipeline_executions(self: CodePipelineResponse) -> str:
    return _dumps(_state(self).list_pipeline_executions(
        self._get_param("pipelineName"), self._get_param("maxResults"), self._get_param("nextToken")))


def put_job_success_result(self: CodePipelineResponse) -> str:
    _state(self).put_job_result(self._get_param("jobId"), True, None)
    return "{}"


def put_job_failure_result(self: CodePipelineResponse) -> str:
    _state(self).put_job_result(self._get_param("jobId"), False, self._get_param("failureDetails"))
    return "{}"


def get_job_details(self: CodePipelineResponse) -> str:
    return _dumps({"jobDetails": _state(self).get_job_details(self._get_param("jobId"))})


def override_stage_condition(self: CodePipelineResponse) -> str:
    _state(self).override_stage_condition(self._get_param("pipelineName"), self._get_param("stageName"),
                                          self._get_param("pipelineExecutionId"), self._get_param("conditionType"),
                                          _caller_arn(self))
    return "{}"


RESPONSE_METHODS = (
    put_job_success_result, put_job_failure_result, get_job_details, override_stage_condition,
    get_pipeline_state, list_action_executions, put_approval_result, stop_pipeline_execution,
    rollback_stage, start_pipeline_execution, get_pipeline_execution, list_pipeline_executions,
)


def install() -> None:
    """Add the missing actions to moto's CodePipeline handler (moto dispatches by method name)."""
    for method in RESPONSE_METHODS:
        setattr(CodePipelineResponse, method.__name__, method)
