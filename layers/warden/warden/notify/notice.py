"""Classify a parsed event into a Notice: what happened, in contract terms (README, "The embedded world and `warden`").

Events that no audience cares about (stage STARTED, action SUCCEEDED of a build, ...) classify to
None: they are recorded by other functions but never notified.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from warden.core import links
from warden.core.kinds import FAILURE_EVENTS
from warden.models import (
    ActionExecutionStateChange,
    ActionState,
    CodeDeployDeploymentStateChange,
    PipelineExecutionStateChange,
    PipelineState,
    StageExecutionStateChange,
    StageState,
)


@dataclass
class Notice:
    event: str
    event_id: str
    time: datetime
    account: str
    region: str
    state: str
    pipeline: str | None = None
    execution_id: str | None = None
    stage: str | None = None
    action: str | None = None
    trigger: str | None = None
    commit: str | None = None
    commit_message: str | None = None
    author: str | None = None
    error: str | None = None
    deployment_id: str | None = None
    application: str | None = None
    deployment_group: str | None = None
    duration: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    # Pending approvals (warden.approvals.store): how long it waits, until when, what it says, who decided.
    age: str | None = None
    expires: str | None = None
    custom_data: str | None = None
    approver: str | None = None
    comment: str | None = None
    # Said when Warden could not confirm a fact with CodePipeline (and why), instead of staying silent.
    unconfirmed: str | None = None
    # Why the commit or author is not known (warden.notify.release): said, never left out silently.
    release_unknown: str | None = None
    # Alarm-triggered rollbacks (warden.rollback): the alarm, why it fired, what was rolled back to, and for a
    # skipped rollback why Warden held back and what it would have done.
    alarm: str | None = None
    alarm_reason: str | None = None
    rollback_target: str | None = None
    skipped_because: str | None = None
    would_have: str | None = None
    not_acted_on: str | None = None  # what the alarm named that Warden may not act on (no tag grant covers it)
    # Artifact buckets (warden.artifacts): the bucket, the pipelines using it, one line per finding.
    bucket: str | None = None
    pipelines: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    # CodeDeploy: who stopped the deployment, when a person did (GetDeployment says; the event does not).
    stopped_by: str | None = None
    # A configuration document that does not validate: its SSM parameter, and what runs instead of it.
    parameter: str | None = None
    using: str | None = None
    # An escalation of several approvals of one execution (warden.approvals.escalator): the others waiting.
    also_waiting: list[str] = field(default_factory=list)
    # Paging is broken (warden.notify.paging): why PagerDuty, or its secret, refused this notice's page.
    not_paged: str | None = None
    # A pending approval's token (approval.needed only): never shown or logged (kept out of repr); the chat
    # message carries it for Amazon Q Developer's Approve and Reject buttons (warden.notify.render.chat_actions).
    approval_token: str | None = field(default=None, repr=False)

    @property
    def short_commit(self) -> str | None:
        return self.commit[:7] if self.commit else None

    @property
    def commit_fact(self) -> str | None:
        """`abc1234 Fix the build` (short commit, first line of its message), or why it is unknown."""
        if not self.commit:
            return f"unknown ({self.release_unknown})" if self.release_unknown else None
        first = (self.commit_message or "").strip().splitlines()
        return f"{self.short_commit} {first[0]}" if first else self.short_commit

    @property
    def error_fact(self) -> str | None:
        """The error, or for a failure, that none was reported: a blank would read as "nothing wrong"."""
        if self.error or self.event not in REPORTS_ERRORS:
            return self.error
        return "not reported by the event" + (" or CodePipeline" if self.pipeline else "")

    @property
    def author_fact(self) -> str | None:
        if not self.author:
            return f"unknown ({self.release_unknown})" if self.release_unknown else None
        return self.author

    @property
    def where(self) -> str:
        """`payments-api / Build / Compile`, as far as the event goes."""
        parts = [p for p in (self.pipeline or self.application, self.stage or self.deployment_group, self.action)
                 if p]
        return " / ".join(parts)

    @property
    def subject_name(self) -> str:
        """What routing globs match: the pipeline, or the CodeDeploy application."""
        return self.pipeline or self.application or self.bucket or ""


REPORTS_ERRORS = FAILURE_EVENTS | {"deployment.failed", "deployment.rolled_back", "rollback.started"}
PIPELINE_EVENTS = {
    "STARTED": "pipeline.started",
    "SUCCEEDED": "pipeline.succeeded",
    "FAILED": "pipeline.failed",
    "STOPPED": "pipeline.stopped",
    "SUPERSEDED": "pipeline.superseded",
}
DEPLOYMENT_EVENTS = {
    "SUCCESS": "deployment.succeeded",
    # CodeDeploy rolls a failed or stopped deployment back (when enabled): on-call must know either way.
    "FAILURE": "deployment.rolled_back",
    "STOP": "deployment.rolled_back",
}


def classify(event: Any) -> Notice | None:
    if isinstance(event, PipelineExecutionStateChange):
        return _pipeline(event)
    if isinstance(event, StageExecutionStateChange):
        return _base(event, "stage.failed") if event.detail.state == "FAILED" else None
    if isinstance(event, ActionExecutionStateChange):
        return _action(event)
    if isinstance(event, CodeDeployDeploymentStateChange):
        return _deployment(event)
    return None


def _base(event: Any, kind: str) -> Notice:
    d = event.detail
    pipeline = getattr(d, "pipeline", None)
    execution_id = getattr(d, "execution_id", None)
    notice = Notice(
        event=kind, event_id=event.id, time=event.time, account=event.account, region=event.region,
        state=d.state, pipeline=pipeline, execution_id=execution_id,
        stage=getattr(d, "stage", None), action=getattr(d, "action", None),
    )
    url = pipeline and execution_id and links.execution(event.region, pipeline, execution_id)
    if url:
        notice.links["execution"] = url
    trigger = getattr(d, "execution_trigger", None)
    if trigger is not None:
        notice.trigger = trigger.trigger_type
        notice.commit = trigger.commit_id
        notice.commit_message = trigger.commit_message
        notice.author = trigger.author
        url = links.commit(trigger.provider_type, trigger.full_repository_name, trigger.commit_id, event.region)
        if url:
            notice.links["commit"] = url
    start = getattr(d, "start_time", None)
    if start is not None and d.state in TERMINAL_STATES:
        notice.duration = _duration(event.time - start)
    return notice


TERMINAL_STATES = PipelineState.TERMINAL | StageState.TERMINAL | ActionState.TERMINAL


def _duration(delta: timedelta) -> str | None:
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return None
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60:02d}m" if hours else f"{rest // 60}m {rest % 60:02d}s"


def _pipeline(event: PipelineExecutionStateChange) -> Notice | None:
    state = event.detail.state
    if event.detail.is_rollback and state == "STARTED":
        return _base(event, "deployment.rolled_back")
    kind = PIPELINE_EVENTS.get(state)
    return _base(event, kind) if kind else None


def _action(event: ActionExecutionStateChange) -> Notice | None:
    d = event.detail
    if d.is_approval:
        return None  # ApprovalTracker owns approval.* (one approval.needed whichever input comes first)
    kind = "action.failed" if d.state == "FAILED" else None
    if kind is None:
        return None
    notice = _base(event, kind)
    result = d.execution_result
    if result is not None:
        notice.error = result.external_execution_summary or result.error_code
        logs = links.console(result.external_execution_url)
        if logs:
            notice.links["logs"] = logs
    return notice


def _deployment(event: CodeDeployDeploymentStateChange) -> Notice | None:
    d = event.detail
    kind = DEPLOYMENT_EVENTS.get(d.state)
    if kind is None:
        return None
    url = links.deployment(event.region, d.deployment_id)
    return Notice(
        event=kind, event_id=event.id, time=event.time, account=event.account, region=event.region,
        state=d.state, application=d.application, deployment_group=d.deployment_group,
        deployment_id=d.deployment_id,
        # The deployment's page lists its lifecycle events and their logs.
        links={"execution": url, "logs": url + "#events"} if url else {},
    )
