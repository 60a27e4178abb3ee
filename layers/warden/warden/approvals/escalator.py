"""ApprovalEscalator's domain: the scheduled sweep over pending approvals.

It reads only the pending index, so its cost follows what is pending, not how many pipelines the
account has. An approval with a tier reached is first reconciled with CodePipeline in the
pipeline's account (still InProgress, same token?); one that is not is resolved silently: its
outcome event was lost, the pipeline was deleted or moved on. An approval of a workload account
that cannot be read (no read role, or the role fails) cannot be reconciled: it keeps escalating
from what is tracked, and is only resolved once past its expiry, when CodePipeline has failed it
for sure. Each tier is claimed with a conditional write before it is sent, so two sweeps running
at once send it once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from warden.approvals.store import (
    TIER,
    Approvals,
    action_in_progress,
    action_state,
    expires_of,
    key_of,
    notice_of,
    page_key,
    pipeline_state,
    read_errors,
    resolve_page,
)
from warden.approvals.tiers import EscalationConfig, Tier
from warden.aws.config import ConfigStore
from warden.core.clock import now, parse_iso
from warden.core.log import logger
from warden.notify.notifier import Notifier
from warden.notify.render import title
from warden.notify.rules import Decision

UNKNOWN = None  # _still_pending: CodePipeline cannot be asked


class ApprovalEscalator:
    def __init__(self, *, approvals: Approvals, codepipeline_in: Callable[[str], Any], notifier: Notifier,
                 config: ConfigStore, account: str = "") -> None:
        """`codepipeline_in(account)`: the CodePipeline client of that account, None when it cannot be read
        (warden.clients.CodePipelineIn). `account`: this account (its read failures are raised)."""
        self._approvals = approvals
        self._codepipeline_in = codepipeline_in
        self._notifier = notifier
        self._config = config
        self._account = account
        self._told_unreconciled: set[tuple[str, str]] = set()  # logged once per approval per container

    def sweep(self, sweep_id: str) -> dict[str, Any]:
        return self.escalate(self._approvals.pending(), sweep_id)

    def escalate(self, items: list[dict[str, Any]], sweep_id: str) -> dict[str, Any]:
        """Escalate `items` (pending as the index said); returns what was done and the oldest age."""
        escalation: EscalationConfig = self._config.get("escalation")  # type: ignore[assignment]
        at = now()
        states: dict[tuple[str, str], Any] = {}  # one GetPipelineState per pipeline per sweep
        escalated, reconciled, oldest = [], [], None
        for item in items:
            since, expires = parse_iso(item["since"]), expires_of(item)
            reached = escalation.reached(since=since, expires=expires, at=at, fired=set(item.get("fired", ())))
            # A workload account's approval is also looked at once past its expiry, when no tier is left.
            look = reached or (at >= expires and not self._is_own(item.get("account", "")))
            pending = self._still_pending(item, states) if look else True
            # Unknown, but past its expiry: CodePipeline has failed it by now, wherever it is.
            expired = pending is UNKNOWN and at >= expires
            if expired or pending is False:
                resolve_page(self._notifier, item)
                reason = "past its expiry" if expired else "not pending in CodePipeline"
                self._approvals.resolve(key_of(item), "reconciled", {"reason": reason}, owner=sweep_id, tell=False)
                reconciled.append(item["sk"])
                continue
            oldest = since if oldest is None else min(oldest, since)
            escalated += [f"{item['sk']}:{t.name}" for t in reached
                          if t.open_at(at) and self._fire(item, t, sweep_id)]
        return {"pending": len(items) - len(reconciled), "escalated": escalated, "reconciled": reconciled,
                "oldest_age_seconds": _age(at, oldest)}

    def _still_pending(self, item: dict[str, Any], states: dict[tuple[str, str], Any]) -> bool | None:
        """Whether CodePipeline still shows the approval pending; UNKNOWN (None) when the pipeline's
        account cannot be read."""
        account, pipeline = item.get("account", ""), item["pipeline"]
        codepipeline = self._codepipeline_in(account)
        if codepipeline is None:
            self._unreconciled(item, "no read access to the account")
            return UNKNOWN
        try:
            if (account, pipeline) not in states:
                states[(account, pipeline)] = pipeline_state(codepipeline, pipeline)
            current = action_state(states[(account, pipeline)], item["stage"], item["action"])
            if current is None:
                return False  # pipeline deleted, or the action removed from it
            if item.get("execution_id") and current["execution_id"] != item["execution_id"]:
                # Another execution is the stage's latest (PARALLEL mode): ask about this one.
                try:
                    return action_in_progress(codepipeline, item)
                except codepipeline.exceptions.PipelineExecutionNotFoundException:
                    return False
        except read_errors() as exc:
            if self._is_own(account):
                raise  # this account's own CodePipeline: the sweep is retried
            # A workload account's role missing or failing must not stop the sweep of every approval.
            self._unreconciled(item, f"the read role failed: {exc}")
            return UNKNOWN
        return current["status"] == "InProgress" and current["token"] == item.get("token", current["token"])

    def _is_own(self, account: str) -> bool:
        return not account or not self._account or account == self._account

    def _unreconciled(self, item: dict[str, Any], why: str) -> None:
        key = (item["pk"], item["sk"])
        if key not in self._told_unreconciled:
            self._told_unreconciled.add(key)
            logger.info("cannot reconcile the approval with CodePipeline: escalating from the tracked state",
                        extra={"account": item.get("account"), "pipeline": item["pipeline"],
                               "approval": item["sk"], "reason": why})

    def _fire(self, item: dict[str, Any], tier: Tier, sweep_id: str) -> bool:
        key, flag = key_of(item), TIER + tier.name
        if not self._approvals.claim(key, flag, sweep_id):
            return False  # another sweep has it, or the approval was resolved meanwhile
        notice = notice_of(item, "approval.escalated", event_id=f"{sweep_id}:{tier.name}")
        routed = self._notifier.decide(notice)  # routing still mutes and adds the runbook
        decision = Decision(tuple(tier.audiences), tier.severity, muted=routed.muted, runbook=routed.runbook,
                            rule=f"escalation tier {tier.name}")
        self._notifier.send(notice, decision)
        paged = self._notifier.page(page_key(item), notice, decision,
                                     summary=f"{title(notice)} for {notice.age}")
        self._approvals.sent(key, flag, **({"paged": True} if paged else {}))
        return True


def _age(at: datetime, oldest: datetime | None) -> float:
    return max(0.0, (at - oldest).total_seconds()) if oldest else 0.0
