"""ApprovalTracker's domain: record pending approvals from either input, resolve them, tell once.

Inputs: the approval SNS message (token, expiry), the Approval action's state changes, and the
pipeline execution's STARTED (who is waiting) and terminal states (an execution that ends takes its
pending approvals with it, silently). CodePipeline is read in the pipeline's account and region
(warden.aws.codepipeline); when it cannot answer, the approval is built from what the inputs say rather
than dropped, and the sweep says later that it could not confirm it.
Any order converges: an approval closed by its execution's end (pipeline SUCCEEDED delivered first)
is still told as approved or rejected when the action's own outcome arrives. A request made again in
the same execution (the stage retried: new token, new action execution) is a new approval, with its
own announcement and tiers, keyed by that token or action execution id.

An approval message is checked, not trusted: anyone allowed to publish to the topic can write one,
and it names no account (the documented format has only the region). It is verified in this (tools)
account, in its region: the pipeline must exist there and GetPipelineState must show its token pending
at its action. A message that cannot be verified (no such pipeline or action here, which is also what a
workload account's message looks like; a token that is not pending; CodePipeline refusing to answer)
is recorded as `unverified`, with the reason, outside the pending index: nobody is told, no sweep
escalates or pages it. A workload account's approval is announced from its own Approval action event
instead, which EventBridge delivers with the account. A message whose expiry has passed is refused
(logged and counted, nothing recorded or told). Throttling past botocore's retries is raised, for
Lambda to retry. What approvers are shown (the note, the external link) comes from the pipeline's
definition (GetPipeline), and the review link is built by Warden from validated parts. The first
message for a token wins (its digest is stored with a conditional write); a later message that
disagrees is logged, counted (`ApprovalMessageConflicts`) and ignored, so a re-published message
cannot redirect a reminder. A redelivery has the same digest.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from warden.approvals.chat_store import chat_approver
from warden.approvals.store import (
    PENDING_STATUS,
    Approvals,
    approval_definition,
    approval_pk,
    gate,
    key_of,
    notice_of,
    resolve_page,
)
from warden.approvals.tiers import DEFAULT_APPROVAL_TIMEOUT
from warden.aws.codepipeline import CodePipelineGateway, Unknown, action_state
from warden.core import links
from warden.core.clock import iso, now
from warden.core.errors import RetryableError
from warden.core.log import logger
from warden.core.scope import PipelineScope
from warden.models import ActionExecutionStateChange, ManualApprovalMessage, PipelineExecutionStateChange
from warden.notify.notifier import Notifier
from warden.notify.release import CACHED_FACTS, from_execution, trigger_facts

if TYPE_CHECKING:
    from warden.approvals.posting import SlackPosting

OUTCOMES = {"SUCCEEDED": "approved", "FAILED": "rejected", "ABANDONED": "abandoned", "CANCELED": "canceled"}
TOLD = {"approved": "approval.approved", "rejected": "approval.rejected"}
ENDED = frozenset({"STOPPED", "SUPERSEDED", "FAILED", "SUCCEEDED", "CANCELED"})
# The other input may already have set these, better: the message's token (checked) wins.
FROM_MESSAGE = frozenset({"token", "review_link"})
DIGEST = "message_digest"  # of the first approval message for the approval's token


class ApprovalTracker:
    def __init__(self, *, approvals: Approvals, codepipeline: CodePipelineGateway, notifier: Notifier,
                 region: str, scope: PipelineScope | None = None, slack: SlackPosting | None = None) -> None:
        """`region`: Warden's own, for an approval message that names none; `scope`: the pipelines this stack
        owns (the EventBridge rules filter the events; an approval message is checked here)."""
        self._scope = scope or PipelineScope()
        self._slack = slack  # the Slack app's channel message with buttons, when one is configured
        self._approvals = approvals
        self._codepipeline = codepipeline
        self._notifier = notifier
        self._region = region

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
        state = getattr(getattr(event, "detail", None), "state", None)
        return {"status": "ignored", "reason": f"no approval is told of {type(event).__name__} {state}"}

    # -- requested ---------------------------------------------------------------------------------
    def requested_by_message(self, message: ManualApprovalMessage, delivery_id: str) -> dict[str, Any]:
        if not self._scope.covers(message.pipeline):
            # Another stack's pipeline (one account, two environments): its own stack tracks it.
            logger.info("approval message ignored: outside PipelineScope", extra={
                "pipeline": message.pipeline, "scope": str(self._scope), "delivery": delivery_id})
            return {"status": "ignored", "reason": f"{message.pipeline} is outside PipelineScope {self._scope}"}
        expires = message.expires_at
        if expires is not None and expires <= now():
            # CodePipeline has failed the approval already: nothing to track or tell (logged and counted).
            reason = f"the approval expired at {iso(expires)}, before its message was handled"
            logger.warning("approval message refused: expired", extra={
                "pipeline": message.pipeline, "stage": message.stage, "action": message.action,
                "delivery": delivery_id, "reason": reason})
            return {"status": "expired", "reason": reason}
        region = message.region or self._region
        # Verified in this account only: the message names none (see the module's docstring).
        account = self._codepipeline.own_account
        pipeline, stage, action, token = message.pipeline, message.stage, message.action, message.token
        state = self._codepipeline.state(account, region, pipeline)
        if isinstance(state, Unknown):
            if state.code == "throttled":
                raise RetryableError(state.reason)
            return self._unverified(message, region, delivery_id, f"CodePipeline cannot confirm it: {state.reason}")
        current = action_state(state, stage, action)
        if current is None:
            return self._unverified(message, region, delivery_id,
                                    f"pipeline {pipeline} in {region} of this account has no action {stage}/{action}")
        execution_id = current.execution_id if current.token == token else None
        # Which run of the action this token belongs to, as CodePipeline says (a stage retried asks again).
        attempt = current.action_execution_id if execution_id else None
        items = self._approvals.at_gate(account, region, pipeline, stage, action)
        item = _match(items, execution_id, token, attempt)
        if item is None and execution_id is None and not any(i.get("token") == token for i in items):
            # Not the latest at its stage (PARALLEL): the one pending approval there still without a token,
            # recorded from its verified Approval action event.
            waiting = [i for i in items if i["status"] == PENDING_STATUS and not i.get("token")]
            if len(waiting) != 1:
                return self._unverified(message, region, delivery_id,
                                        "CodePipeline shows no pending approval with this token")
            item = waiting[0]
        definition = self._definition(account, region, pipeline, stage, action)
        if definition is None:
            return self._unverified(message, region, delivery_id,
                                    f"{pipeline} has no approval action {stage}/{action}")
        digest = _digest(message)
        if item and item.get(DIGEST, digest) != digest:
            return self._conflict(item, message, delivery_id)
        fields = {"kind": "approval", "pipeline": pipeline, "stage": stage, "action": action, "region": region,
                  "account": account or None, "execution_id": execution_id, "token": token,
                  "action_execution_id": attempt,
                  "review_link": links.approval_review(region, pipeline, stage, action, token),
                  "expires": _expires(message.expires_at), **definition,
                  "console_link": links.pipeline(region, pipeline)}
        key = key_of(item) if item else _key(account, region, pipeline, stage, action, execution_id or "",
                                             attempt or token)
        return self._record(key, fields, since=None, owner=delivery_id, keep=frozenset({"action_execution_id"}),
                            first=(DIGEST, digest),
                            message=message)

    def _unverified(self, message: ManualApprovalMessage, region: str, delivery_id: str,
                    reason: str) -> dict[str, Any]:
        """Kept, with why, where no sweep looks (nobody is told); logged and counted by the handler."""
        logger.warning("approval message not verified: recorded as unverified, nobody told", extra={
            "pipeline": message.pipeline, "stage": message.stage, "action": message.action, "region": region,
            "delivery": delivery_id, "reason": reason})
        key = self._approvals.unverified(region, message.pipeline, message.stage, message.action,
                                         token=message.token, reason=reason, digest=_digest(message),
                                         delivery=delivery_id)
        return {"status": "unverified", "approval": key["sk"], "reason": reason}

    def _definition(self, account: str, region: str, pipeline: str, stage: str, action: str) -> dict[str, Any] | None:
        """The approval action as the pipeline defines it (GetPipeline); None when the pipeline has no
        such approval action; {} when CodePipeline cannot answer (the approval is then recorded without a
        note or external link: nothing is shown from the inputs)."""
        definition = self._codepipeline.definition(account, region, pipeline)
        if isinstance(definition, Unknown):
            return {}
        return approval_definition(definition, stage, action)

    def _conflict(self, item: dict[str, Any], message: ManualApprovalMessage, delivery_id: str) -> dict[str, Any]:
        logger.warning("approval message disagrees with the first one for its token: ignored", extra={
            "pipeline": message.pipeline, "stage": message.stage, "action": message.action,
            "approval": item.get("sk"), "delivery": delivery_id,
            "review_link": (message.approval.approval_review_link or "")[:200],
            "external_link": (message.approval.external_entity_link or "")[:200]})
        return {"status": "conflict", "approval": item.get("sk"),
                "reason": "a different approval message for this token came first"}

    def requested_by_event(self, event: ActionExecutionStateChange) -> dict[str, Any]:
        d = event.detail
        # When CodePipeline cannot be read, the approval is built from the event alone (no token).
        state = self._codepipeline.state(event.account, event.region, d.pipeline)
        current = None if isinstance(state, Unknown) else action_state(state, d.stage, d.action)
        # The token of this execution's approval, when GetPipelineState shows this execution at the stage.
        mine = current is not None and current.execution_id == d.execution_id and current.status == "InProgress" \
            and current.action_execution_id in (None, d.action_execution_id)  # not a later request's token
        token = current.token if mine and current else None
        items = self._approvals.at_gate(event.account, event.region, d.pipeline, d.stage, d.action)
        item = _match(items, d.execution_id, token, d.action_execution_id)
        definition = self._definition(event.account, event.region, d.pipeline, d.stage, d.action) or {}
        fields = {"kind": "approval", "pipeline": d.pipeline, "stage": d.stage, "action": d.action,
                  "region": event.region, "account": event.account, "execution_id": d.execution_id,
                  "token": token, "action_execution_id": d.action_execution_id, **definition,
                  "review_link": token and links.approval_review(event.region, d.pipeline, d.stage, d.action, token)}
        key = key_of(item) if item else _key(event.account, event.region, d.pipeline, d.stage, d.action,
                                             d.execution_id, d.action_execution_id or token)
        return self._record(key, fields, since=event.time, owner=event.id, keep=FROM_MESSAGE)

    def _record(self, key: dict[str, str], fields: dict[str, Any], *, since: Any, owner: str,
                keep: frozenset[str], first: tuple[str, str] | None = None,
                message: ManualApprovalMessage | None = None) -> dict[str, Any]:
        item = self._approvals.record(key, fields, since=since, keep=keep, first=first, claim=("needed", owner))
        if item is None:
            current = self._approvals.get(key) if first else {}
            if message is not None and first and current.get(first[0], first[1]) != first[1]:
                return self._conflict(current, message, owner)  # another message won the race
            return {"status": "late", "approval": key["sk"],
                    "reason": "the approval was resolved before this input arrived"}
        if item.get("needed_sent"):
            return {"status": "merged", "approval": key["sk"], "reason": "approval.needed was told already"}
        # Claimed in the record's own write when nobody held it; else held by another delivery (its retry,
        # or a claim stale enough to take over, is one more conditional write).
        claimed = item if item.get("needed_owner") == owner else self._approvals.claim(key, "needed", owner)
        if claimed is None:
            return {"status": "merged", "approval": key["sk"]}
        who = {} if claimed.get("author") else self._who(claimed)
        delivery = self._notifier.deliver(notice_of(claimed | who, "approval.needed", event_id=owner),
                                          log=self._approvals.effects(key, "needed", claimed))
        if delivery.complete:
            # The Slack post is owed from this same write (warden.approvals.posting): posted now, or by a sweep.
            owed = self._slack.owed_fields(claimed) if self._slack is not None else {}
            self._approvals.sent(key, "needed", **who, **owed)
            if self._slack is not None and owed:
                self._slack.needed(claimed | who | owed, owner)
        delivery.check()
        return {"status": "sent", "event": "approval.needed", "approval": key["sk"], "audiences": delivery.sent}

    def _who(self, item: dict[str, Any]) -> dict[str, str]:
        """Who is waiting: the commit and author of the execution (its STARTED event), else what
        GetPipelineExecution knows (the commit, and the caller of a manual start), cached per execution
        beside the STARTED facts (warden.notify.release). What stays unknown is said, with the reason,
        and kept on the approval so that its escalations say it too without asking again."""
        execution_id, account = item.get("execution_id"), item.get("account", "")
        if not execution_id:
            return {"release_unknown": "the approval names no pipeline execution"}
        saved = self._approvals.trigger(account, item["region"], item["pipeline"], execution_id)
        if not (saved.get("commit") or saved.get("author") or saved.get("unknown")):
            saved = self._from_codepipeline(item, account, execution_id)
        who = {k: v for k, v in saved.items() if k in ("author", "commit", "commit_message", "trigger", "commit_link")}
        if not (who.get("commit") and who.get("author")):
            who["release_unknown"] = saved.get("unknown") or "not recorded at the execution's start"
        return who

    def _from_codepipeline(self, item: dict[str, Any], account: str, execution_id: str) -> dict[str, Any]:
        execution = self._codepipeline.execution(account, item["region"], item["pipeline"], execution_id)
        if isinstance(execution, Unknown):
            # The message goes out without who waits, saying why.
            return {"unknown": f"the execution's start was not seen and {execution.reason}"}
        found = from_execution(execution)
        # Cached for the execution's other approvals and pages; the STARTED event's facts are never replaced.
        self._approvals.save_trigger(account, item["region"], item["pipeline"], execution_id,
                                     {k: v for k, v in found.items() if k in CACHED_FACTS}, only_if_absent=True)
        return found

    # -- resolved ----------------------------------------------------------------------------------
    def decided(self, event: ActionExecutionStateChange) -> dict[str, Any]:
        d = event.detail
        outcome = OUTCOMES[d.state]
        item = _match(self._approvals.at_gate(event.account, event.region, d.pipeline, d.stage, d.action),
                      d.execution_id, None, d.action_execution_id) or {}
        # An approval Warden never saw is recorded with what CodePipeline says of it (its execution and
        # action execution), under a key of its own: a later request of the same execution is another one.
        key = key_of(item) if item else _key(event.account, event.region, d.pipeline, d.stage, d.action,
                                             d.execution_id, d.action_execution_id)
        result = d.execution_result
        fields = {"kind": "approval", "pipeline": d.pipeline, "stage": d.stage, "action": d.action,
                  "region": event.region, "account": event.account, "execution_id": d.execution_id,
                  "action_execution_id": d.action_execution_id,
                  "comment": result.external_execution_summary if result else None,
                  # Decided from chat: the person (CodePipeline's updatedBy is the gateway's role).
                  "approver": (chat_approver(item) or self._approver(event, d.stage, d.action))
                  if outcome in TOLD else None}
        resolve_page(self._notifier, item, self._approvals)
        tell = outcome in TOLD
        before = self._approvals.resolve(key, outcome, fields, owner=event.id, tell=tell)
        if before is None:
            return {"status": "duplicate", "approval": key["sk"],
                    "reason": "the approval's outcome was recorded already"}
        if not tell:
            return {"status": "resolved", "outcome": outcome, "approval": key["sk"]}
        notice = notice_of(before | {k: v for k, v in fields.items() if v}, TOLD[outcome], event_id=event.id,
                           state=d.state)
        delivery = self._notifier.deliver(notice, log=self._approvals.effects(key, "told", before))
        if delivery.complete:
            self._approvals.sent(key, "told")
        delivery.check()
        return {"status": "sent", "event": TOLD[outcome], "approval": key["sk"], "audiences": delivery.sent}

    def _approver(self, event: ActionExecutionStateChange, stage: str, action: str) -> str | None:
        """`updatedBy` of the action execution (the event does not say who approved); None when unknown."""
        found = self._codepipeline.approver(event.account, event.region, event.detail.pipeline,
                                            event.detail.execution_id, stage, action, event.detail.action_execution_id)
        return None if isinstance(found, Unknown) else found

    # -- executions --------------------------------------------------------------------------------
    def started(self, event: PipelineExecutionStateChange) -> dict[str, Any]:
        trigger = event.detail.execution_trigger
        if trigger is None:
            return {"status": "ignored", "reason": "the execution's start names no trigger: nobody to record"}
        facts = trigger_facts(trigger, event.region)
        self._approvals.save_trigger(event.account, event.region, event.detail.pipeline, event.detail.execution_id,
                                     facts)
        # An approval requested before this event arrived said "release unknown": it learns it now.
        healed = self._approvals.heal_release(event.account, event.region, event.detail.pipeline,
                                              event.detail.execution_id, facts)
        return {"status": "recorded", "execution": event.detail.execution_id} | (
            {"healed": healed} if healed else {})

    def ended(self, event: PipelineExecutionStateChange) -> dict[str, Any]:
        d = event.detail
        closed = []
        for item in self._approvals.of_execution(event.account, event.region, d.pipeline, d.execution_id):
            if item.get("since", "") > iso(event.time):
                continue  # asked again after this end (the stage retried, the execution resumed): still pending
            resolve_page(self._notifier, item, self._approvals)
            if self._approvals.resolve(key_of(item), "closed", {"reason": f"execution {d.state}"}, owner=event.id,
                                       tell=False) is not None:
                closed.append(item["sk"])
        return {"status": "closed", "approvals": closed} if closed else {
            "status": "ignored", "approvals": [], "reason": f"execution {d.state} left no pending approval to close"}


def _digest(message: ManualApprovalMessage) -> str:
    """The message as published, canonical: a redelivery has the same digest, any change another."""
    body = json.dumps(message.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()


def _expires(at: datetime | None) -> str | None:
    """The message's expiry, never later than CodePipeline's longest timeout from now, with a day's
    slack for clocks (a forged far-future expiry must not hold an approval open)."""
    if at is None:
        return None
    return iso(min(at, now() + DEFAULT_APPROVAL_TIMEOUT + timedelta(days=1)))


def _key(account: str, region: str, pipeline: str, stage: str, action: str, execution_id: str,
         attempt: str | None = None) -> dict[str, str]:
    """An approval is keyed by what CodePipeline says of it: the execution and the action execution id
    (else the token), so that a request made again in the same execution (the stage retried) is another
    approval whichever of its inputs, or of the first request's, arrives first."""
    sk = gate(stage, action) + execution_id + (f"#{attempt}" if attempt else "")
    return {"pk": approval_pk(account, region, pipeline), "sk": sk}


def _match(items: list[dict[str, Any]], execution_id: str | None, token: str | None,
           action_execution_id: str | None = None) -> dict[str, Any] | None:
    """The approval these inputs speak of: the same token or action execution id; else the same execution,
    unless what CodePipeline says tells them apart: another action execution id, or, once decided, another
    token (a request made again after a decision must not be swallowed by it). A pending one first. While
    pending, the message's token may replace the one recorded."""
    def fits(item: dict[str, Any]) -> bool:
        if token and item.get("token") == token:
            return True
        if action_execution_id and item.get("action_execution_id") == action_execution_id and \
                item.get("execution_id") in (None, execution_id):
            return True
        if not execution_id or item.get("execution_id") != execution_id:
            return False
        if action_execution_id and item.get("action_execution_id") not in (None, action_execution_id):
            return False
        if item.get("status") == PENDING_STATUS:
            return True
        return not (token and item.get("token") not in (None, token))

    found = [i for i in items if fits(i)]
    found.sort(key=lambda i: (bool(token) and i.get("token") == token,
                              bool(action_execution_id) and i.get("action_execution_id") == action_execution_id,
                              i.get("status") == PENDING_STATUS), reverse=True)
    return found[0] if found else None
