"""ApprovalTracker's domain: record pending approvals from either input, resolve them, tell once.

Inputs: the approval SNS message (token, review link, expiry, customData), the Approval action's
state changes, and the pipeline execution's STARTED (who is waiting) and terminal states (an
execution that ends takes its pending approvals with it, silently).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from warden.approvals.store import (
    PENDING_STATUS,
    Approvals,
    action_state,
    approval_pk,
    gate,
    key_of,
    notice_of,
    pipeline_state,
    read_errors,
    resolve_page,
)
from warden.core import links
from warden.core.clock import iso
from warden.core.log import logger
from warden.models import ActionExecutionStateChange, ManualApprovalMessage, PipelineExecutionStateChange
from warden.notify.notifier import Notifier

OUTCOMES = {"SUCCEEDED": "approved", "FAILED": "rejected", "ABANDONED": "abandoned", "CANCELED": "canceled"}
TOLD = {"approved": "approval.approved", "rejected": "approval.rejected"}
ENDED = frozenset({"STOPPED", "SUPERSEDED", "FAILED", "SUCCEEDED", "CANCELED"})
# The other input may already have set these, better: the message's token and review link win.
FROM_MESSAGE = frozenset({"token", "review_link"})


class ApprovalTracker:
    def __init__(self, *, approvals: Approvals, codepipeline_in: Callable[[str], Any], notifier: Notifier,
                 region: str, account: str = "") -> None:
        """`codepipeline_in(account)`: the CodePipeline client of that account, None when it cannot be read
        (warden.clients.CodePipelineIn). `account`: this account, the one approval messages come from."""
        self._approvals = approvals
        self._codepipeline_in = codepipeline_in
        self._notifier = notifier
        self._region = region
        self._account = account

    def handle(self, event: Any, delivery_id: str) -> dict[str, Any]:
        """`event` is a parsed model; `delivery_id` the EventBridge event id or SNS message id."""
        if isinstance(event, ManualApprovalMessage):
            return self.requested_by_message(event, delivery_id)
        if isinstance(event, ActionExecutionStateChange) and event.detail.is_approval:
            if event.detail.state == "STARTED":
                return self.requested_by_event(event)
            if event.detail.state in OUTCOMES:
                return self.decided(event)
        if isinstance(event, PipelineExecutionStateChange):
            if event.detail.state == "STARTED":
                return self.started(event)
            if event.detail.state in ENDED:
                return self.ended(event)
        return {"status": "ignored"}

    # -- requested ---------------------------------------------------------------------------------
    def requested_by_message(self, message: ManualApprovalMessage, delivery_id: str) -> dict[str, Any]:
        region = message.region or self._region
        account = self._account  # the approval topic is this account's: so is the pipeline that published
        pipeline, stage, action, token = message.pipeline, message.stage, message.action, message.token
        state = self._state(account, pipeline)
        if state is None:
            return {"status": "ignored", "reason": f"no pipeline {pipeline} in this account"}
        current = action_state(state, stage, action) or {}
        execution_id = current.get("execution_id") if current.get("token") == token else None
        items = self._approvals.at_gate(account, region, pipeline, stage, action)
        item = _match(items, execution_id, token)
        if item is None and execution_id is None:
            # Not the latest at its stage (PARALLEL): the one pending approval there still without a token.
            waiting = [i for i in items if i["status"] == PENDING_STATUS and not i.get("token")]
            if len(waiting) != 1:
                return {"status": "stale", "reason": "CodePipeline shows no pending approval with this token"}
            item = waiting[0]
        review = message.approval.approval_review_link or links.approval_review(region, pipeline, stage, action, token)
        fields = {"kind": "approval", "pipeline": pipeline, "stage": stage, "action": action, "region": region,
                  "account": account or None, "execution_id": execution_id, "token": token, "review_link": review,
                  "expires": iso(message.expires_at) if message.expires_at else None,
                  "custom_data": message.approval.custom_data or None, "console_link": message.console_link or None}
        key = key_of(item) if item else _key(account, region, pipeline, stage, action, execution_id or "")
        return self._record(key, fields, since=None, owner=delivery_id, keep=frozenset())

    def requested_by_event(self, event: ActionExecutionStateChange) -> dict[str, Any]:
        d = event.detail
        # Without read access to the event's account, the approval is built from the event alone (no token).
        current = action_state(self._state(event.account, d.pipeline), d.stage, d.action) or {}
        # The token of this execution's approval, when GetPipelineState shows this execution at the stage.
        mine = current.get("execution_id") == d.execution_id and current.get("status") == "InProgress"
        token = current.get("token") if mine else None
        item = _match(self._approvals.at_gate(event.account, event.region, d.pipeline, d.stage, d.action),
                      d.execution_id, token)
        fields = {"kind": "approval", "pipeline": d.pipeline, "stage": d.stage, "action": d.action,
                  "region": event.region, "account": event.account, "execution_id": d.execution_id,
                  "token": token, "action_execution_id": d.action_execution_id,
                  "review_link": token and links.approval_review(event.region, d.pipeline, d.stage, d.action, token)}
        key = key_of(item) if item else _key(event.account, event.region, d.pipeline, d.stage, d.action,
                                             d.execution_id)
        return self._record(key, fields, since=event.time, owner=event.id, keep=FROM_MESSAGE)

    def _is_own(self, account: str) -> bool:
        return not account or not self._account or account == self._account

    def _state(self, account: str, pipeline: str) -> dict[str, Any] | None:
        """GetPipelineState in the pipeline's account; None when the pipeline does not exist there, or
        when that account cannot be read (no read role, or the role failed: a workload account's
        trouble must not hold back the approval, which is then built from what the inputs say)."""
        codepipeline = self._codepipeline_in(account)
        if codepipeline is None:
            logger.info("no read access to the account: approval from the event alone",
                        extra={"account": account, "pipeline": pipeline})
            return None
        try:
            return pipeline_state(codepipeline, pipeline)
        except read_errors() as exc:
            if self._is_own(account):
                raise  # this account's own CodePipeline: Lambda retries
            logger.warning("could not read the pipeline state in the workload account",
                           extra={"account": account, "pipeline": pipeline, "error": str(exc)})
            return None

    def _record(self, key: dict[str, str], fields: dict[str, Any], *, since: Any, owner: str,
                keep: frozenset[str]) -> dict[str, Any]:
        item = self._approvals.record(key, fields, since=since, keep=keep)
        if item is None:
            return {"status": "late", "approval": key["sk"]}  # resolved before this input arrived
        if not self._approvals.claim(key, "needed", owner):
            return {"status": "merged", "approval": key["sk"]}
        who = {} if item.get("author") else self._who(item)
        sent = self._notifier.send(notice_of(item | who, "approval.needed", event_id=owner))
        self._approvals.sent(key, "needed", **who)
        return {"status": "sent", "event": "approval.needed", "approval": key["sk"], "audiences": sent}

    def _who(self, item: dict[str, Any]) -> dict[str, str]:
        """Who is waiting: the commit and author of the execution (its STARTED event), else what
        GetPipelineExecution knows (the commit, and the caller of a manual start)."""
        execution_id, account = item.get("execution_id"), item.get("account", "")
        if not execution_id:
            return {}
        saved = self._approvals.trigger(account, item["region"], item["pipeline"], execution_id)
        if saved:
            return {k: v for k, v in saved.items() if k in ("author", "commit", "commit_message", "trigger")}
        codepipeline = self._codepipeline_in(account)
        if codepipeline is None:
            return {}  # a workload account without a read role: the message goes out without who waits
        try:
            execution = codepipeline.get_pipeline_execution(
                pipelineName=item["pipeline"], pipelineExecutionId=execution_id)["pipelineExecution"]
        except (codepipeline.exceptions.PipelineExecutionNotFoundException,
                codepipeline.exceptions.PipelineNotFoundException):
            return {}  # gone: the message goes out without who waits
        except read_errors() as exc:
            if self._is_own(account):
                raise
            logger.warning("could not read the execution in the workload account",
                           extra={"account": account, "pipeline": item["pipeline"], "error": str(exc)})
            return {}
        trigger = execution.get("trigger", {})
        revision = next(iter(execution.get("artifactRevisions", [])), {})
        found = {"trigger": trigger.get("triggerType"), "commit": revision.get("revisionId"),
                 "commit_message": revision.get("revisionSummary"),
                 "author": trigger.get("triggerDetail") if trigger.get("triggerType") == "StartPipelineExecution"
                 else None}
        return {k: v for k, v in found.items() if v}

    # -- resolved ----------------------------------------------------------------------------------
    def decided(self, event: ActionExecutionStateChange) -> dict[str, Any]:
        d = event.detail
        outcome = OUTCOMES[d.state]
        item = _match(self._approvals.at_gate(event.account, event.region, d.pipeline, d.stage, d.action),
                      d.execution_id, None) or {}
        key = key_of(item) if item else _key(event.account, event.region, d.pipeline, d.stage, d.action,
                                             d.execution_id)
        result = d.execution_result
        fields = {"kind": "approval", "pipeline": d.pipeline, "stage": d.stage, "action": d.action,
                  "region": event.region, "account": event.account, "execution_id": d.execution_id,
                  "comment": result.external_execution_summary if result else None,
                  "approver": self._approver(event.account, d.pipeline, d.execution_id, d.stage, d.action)
                  if outcome in TOLD else None}
        resolve_page(self._notifier, item)
        tell = outcome in TOLD
        before = self._approvals.resolve(key, outcome, fields, owner=event.id, tell=tell)
        if before is None:
            return {"status": "duplicate", "approval": key["sk"]}
        if not tell:
            return {"status": "resolved", "outcome": outcome, "approval": key["sk"]}
        notice = notice_of(before | {k: v for k, v in fields.items() if v}, TOLD[outcome], event_id=event.id,
                           state=d.state)
        sent = self._notifier.send(notice)
        self._approvals.sent(key, "told")
        return {"status": "sent", "event": TOLD[outcome], "approval": key["sk"], "audiences": sent}

    def _approver(self, account: str, pipeline: str, execution_id: str, stage: str, action: str) -> str | None:
        """`updatedBy` of the action execution (the event does not say who approved); None when unknown,
        or when the pipeline's account cannot be read."""
        codepipeline = self._codepipeline_in(account)
        if codepipeline is None:
            return None
        try:
            pages = codepipeline.get_paginator("list_action_executions").paginate(
                pipelineName=pipeline, filter={"pipelineExecutionId": execution_id})
            for page in pages:
                for run in page.get("actionExecutionDetails", []):
                    if (run.get("stageName"), run.get("actionName")) == (stage, action):
                        return run.get("updatedBy")
        except read_errors() as exc:
            logger.warning("could not read the approver", extra={"account": account, "pipeline": pipeline,
                                                                  "error": str(exc)})
        return None

    # -- executions --------------------------------------------------------------------------------
    def started(self, event: PipelineExecutionStateChange) -> dict[str, Any]:
        trigger = event.detail.execution_trigger
        if trigger is None:
            return {"status": "ignored"}
        self._approvals.save_trigger(event.account, event.region, event.detail.pipeline, event.detail.execution_id, {
            "author": trigger.author, "commit": trigger.commit_id, "commit_message": trigger.commit_message,
            "trigger": trigger.trigger_type})
        return {"status": "recorded", "execution": event.detail.execution_id}

    def ended(self, event: PipelineExecutionStateChange) -> dict[str, Any]:
        d = event.detail
        closed = []
        for item in self._approvals.of_execution(event.account, event.region, d.pipeline, d.execution_id):
            resolve_page(self._notifier, item)
            if self._approvals.resolve(key_of(item), "closed", {"reason": f"execution {d.state}"}, owner=event.id,
                                       tell=False) is not None:
                closed.append(item["sk"])
        return {"status": "closed" if closed else "ignored", "approvals": closed}


def _key(account: str, region: str, pipeline: str, stage: str, action: str, execution_id: str) -> dict[str, str]:
    return {"pk": approval_pk(account, region, pipeline), "sk": gate(stage, action) + execution_id}


def _match(items: list[dict[str, Any]], execution_id: str | None, token: str | None) -> dict[str, Any] | None:
    """The approval these inputs speak of: same execution, or same token."""
    return next((i for i in items if (execution_id and i.get("execution_id") == execution_id)
                 or (token and i.get("token") == token)), None)
