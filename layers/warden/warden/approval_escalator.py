"""ApprovalEscalator's domain: the scheduled sweep over pending approvals.

It reads only the pending index, so its cost follows what is pending, not how many pipelines the
account has. An approval with a tier reached is first reconciled with CodePipeline (still
InProgress, same token?); one that is not is resolved silently: its outcome event was lost, the
pipeline was deleted or moved on. Each tier is claimed with a conditional write before it is sent,
so two sweeps running at once send it once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from warden.approvals import (
    TIER,
    Approvals,
    action_in_progress,
    action_state,
    expires_of,
    key_of,
    notice_of,
    page_key,
    pipeline_state,
    resolve_page,
)
from warden.clock import now, parse_iso
from warden.config import ConfigStore
from warden.escalation import EscalationConfig, Tier
from warden.messages import title
from warden.notifier import Notifier
from warden.routing import Decision


class ApprovalEscalator:
    def __init__(self, *, approvals: Approvals, codepipeline: Any, notifier: Notifier, config: ConfigStore) -> None:
        self._approvals = approvals
        self._codepipeline = codepipeline
        self._notifier = notifier
        self._config = config

    def sweep(self, sweep_id: str) -> dict[str, Any]:
        return self.escalate(self._approvals.pending(), sweep_id)

    def escalate(self, items: list[dict[str, Any]], sweep_id: str) -> dict[str, Any]:
        """Escalate `items` (pending as the index said); returns what was done and the oldest age."""
        escalation: EscalationConfig = self._config.get("escalation")  # type: ignore[assignment]
        at = now()
        states: dict[str, Any] = {}  # one GetPipelineState per pipeline per sweep
        escalated, reconciled, oldest = [], [], None
        for item in items:
            since = parse_iso(item["since"])
            reached = escalation.reached(since=since, expires=expires_of(item), at=at,
                                         fired=set(item.get("fired", ())))
            if reached and not self._still_pending(item, states):
                resolve_page(self._notifier, item)
                self._approvals.resolve(key_of(item), "reconciled", {"reason": "not pending in CodePipeline"},
                                        owner=sweep_id, tell=False)
                reconciled.append(item["sk"])
                continue
            oldest = since if oldest is None else min(oldest, since)
            escalated += [f"{item['sk']}:{t.name}" for t in reached
                          if t.open_at(at) and self._fire(item, t, sweep_id)]
        return {"pending": len(items) - len(reconciled), "escalated": escalated, "reconciled": reconciled,
                "oldest_age_seconds": _age(at, oldest)}

    def _still_pending(self, item: dict[str, Any], states: dict[str, Any]) -> bool:
        pipeline = item["pipeline"]
        if pipeline not in states:
            states[pipeline] = pipeline_state(self._codepipeline, pipeline)
        current = action_state(states[pipeline], item["stage"], item["action"])
        if current is None:
            return False  # pipeline deleted, or the action removed from it
        if item.get("execution_id") and current["execution_id"] != item["execution_id"]:
            # Another execution is the stage's latest (PARALLEL mode): ask about this one.
            try:
                return action_in_progress(self._codepipeline, item)
            except self._codepipeline.exceptions.PipelineExecutionNotFoundException:
                return False
        return current["status"] == "InProgress" and current["token"] == item.get("token", current["token"])

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
