"""ApprovalEscalator's domain: the scheduled sweep that reminds and escalates pending approvals.

It reads only the pending index, so its cost follows what is pending, not how many pipelines the
account has. An approval with a tier reached is first checked with CodePipeline, in the pipeline's
own account and region (warden.aws.codepipeline). It is resolved silently only on evidence: the
action shows a final status, or runs with another token. When CodePipeline cannot answer (no read
role, the pipeline not found where the approval says it is, access denied, throttled), the tier
still fires and its message says that Warden could not confirm the approval, and why; once past its
expiry, CodePipeline has failed it for sure, and it is resolved. Each tier is claimed with a
conditional write before it is sent, so two sweeps running at once, or a retried sweep, send it once;
a claim whose sweep died is taken over by a later sweep (warden.approvals.store), and an
approval.needed that its input never got out is announced by the sweep. Each channel of each
notification is recorded as it goes out (warden.notify.effects): a retry sends only what is missing.
An approval request whose Slack post failed stays owed, and each sweep pays what is due (claimed, and
looked for in the channel first: warden.approvals.posting), before its reminders, which then thread under it.

Paging follows incidents, not items: the approvals of one pipeline execution that reach a tier in one
sweep are one notification, told and paged once (dedup key of the execution), listing the others waiting.
Their claims and their "sent" marks are written in transactions of up to 100 (a transaction that a
resolved or concurrently claimed approval cancels falls back to one claim each). The page is resolved
when the last approval it lists leaves pending (warden.approvals.store.resolve_page). A tier whose page
PagerDuty refused is not marked sent: the next sweep pages again (its messages are not repeated).
A sweep keeps an eye on the invocation's remaining time (`time_left`, the Lambda context's): once less
than RESERVE_MS is left it starts nothing new, and what it did not reach stays due for the next sweep
(tiers are "reached and not fired", so none is lost); it says how many it left.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from warden.approvals.store import (
    TIER,
    Approvals,
    age_text,
    expires_of,
    key_of,
    notice_of,
    page_key,
    resolve_page,
)
from warden.approvals.tiers import EscalationConfig, Tier
from warden.aws.codepipeline import ApprovalStatus, CodePipelineGateway, Unknown
from warden.core.clock import now, parse_iso
from warden.core.documents import Documents
from warden.core.errors import Skip, one_by_one
from warden.core.log import logger
from warden.core.scope import PipelineScope
from warden.notify.effects import Delivery
from warden.notify.notifier import Notifier
from warden.notify.release import Releases
from warden.notify.render import title
from warden.notify.rules import Decision

if TYPE_CHECKING:
    from warden.approvals.posting import SlackPosting

RESERVE_MS = 20_000  # left for the slow-execution sweep and the metrics flush, out of a 120 s timeout
UNCONFIRMED = "Warden could not confirm with CodePipeline that this approval is still pending ({reason})"


class ApprovalEscalator:
    def __init__(self, *, approvals: Approvals, codepipeline: CodePipelineGateway, notifier: Notifier,
                 config: Documents, releases: Releases | None = None, skip: Skip | None = None,
                 scope: PipelineScope | None = None, slack: SlackPosting | None = None) -> None:
        """`skip(item, error)`: what happens to a stored item the sweep cannot handle (dead-lettered with
        its reason, warden.runtime.container); the sweep goes on with the others. `scope`: the pipelines this
        stack owns; a pending item of any other pipeline is left alone (it is another stack's)."""
        self._skip = skip
        self._slack = slack  # reminders and escalations in the thread of the Slack request, when there is one
        self._scope = scope or PipelineScope()
        self._approvals = approvals
        self._codepipeline = codepipeline
        self._failed: list[tuple[str, BaseException]] = []
        self._notifier = notifier
        self._config = config
        self._releases = releases  # names the commit and author when the approval item does not
        self._told_unreconciled: set[tuple[str, str]] = set()  # logged once per approval per container
        # The invocation's remaining milliseconds (the handler sets the Lambda context's); None: no limit.
        self.time_left: Callable[[], int] | None = None

    def handle(self, scheduled: Any, sweep_id: str) -> dict[str, Any]:
        """A scheduled event: sweep, claiming tiers as `sweep_id` (a retried invocation is the same sweep)."""
        return self.sweep(sweep_id)

    def sweep(self, sweep_id: str, items: list[dict[str, Any]] | None = None,
              also: Callable[[], dict[str, Any]] | None = None) -> dict[str, Any]:
        """Escalate `items` (default: the pending index), then run `also` (another sweep sharing this
        schedule), then raise the channels that failed: the retry (or the next sweep, once the claim is
        stale) sends only what is missing. Failures are per sweep: the escalator lives as long as its
        container, and one sweep's failures must neither leak into the next nor be dropped."""
        self._failed = []
        self._sweep_id = sweep_id
        items = self._approvals.pending() if items is None else items
        result = self.escalate([i for i in items if self._owns(i)], sweep_id)
        if also is not None:
            result |= also()
        Delivery(failures=self._failed).check()
        return result

    def _owns(self, item: Any) -> bool:
        """An item of a pipeline outside this stack's scope is another stack's; one without a readable pipeline
        is escalated (and set aside with its reason there), never dropped silently."""
        pipeline = item.get("pipeline") if isinstance(item, dict) else None
        return not isinstance(pipeline, str) or self._scope.covers(pipeline)

    def escalate(self, items: list[dict[str, Any]], sweep_id: str) -> dict[str, Any]:
        """Escalate `items` (pending as the index said); returns what was done and the oldest age."""
        self._sweep_id = sweep_id
        escalation: EscalationConfig = self._config.get("escalation")  # type: ignore[assignment]
        at = now()
        states: dict[tuple[str, str, str], Any] = {}  # one GetPipelineState per pipeline per sweep
        done: dict[str, list[str]] = {"escalated": [], "reconciled": [], "unconfirmed": [], "announced": [],
                                      "posted": [], "left": []}
        since_of: list[datetime] = []
        due: dict[tuple[str, str, str], list[tuple[dict[str, Any], Tier, str | None]]] = {}

        def one(item: dict[str, Any]) -> None:
            if self._out_of_time():
                done["left"].append(str(item.get("sk", "?")) if isinstance(item, dict) else "?")
                return
            self._one(item, escalation, at, states, done, since_of, due)

        # One item that cannot be read (written by another version, or from a forged input) is skipped,
        # dead-lettered with its reason and counted; the others are still escalated.
        skipped = one_by_one(items, one, self._set_aside if self._skip else None)
        for group in due.values():  # one notification per execution and tier
            if self._out_of_time():
                done["left"] += [f"{item['sk']}:{tier.name}" for item, tier, _ in group]
                continue
            done["escalated"] += self._fire(group, sweep_id)
        if done["left"]:
            logger.warning("sweep out of time: the rest is left for the next sweep", extra={
                "left": len(done["left"]), "escalated": len(done["escalated"])})
        oldest = min(since_of, default=None)
        return {"pending": len(items) - len(done["reconciled"]) - len(skipped), **done,
                "skipped": [str(i.get("sk", "?")) if isinstance(i, dict) else "?" for i in skipped],
                "oldest_age_seconds": _age(at, oldest)}

    def _out_of_time(self) -> bool:
        return self.time_left is not None and self.time_left() < RESERVE_MS

    def _one(self, item: dict[str, Any], escalation: EscalationConfig, at: datetime,
             states: dict[tuple[str, str, str], Any], done: dict[str, list[str]], since_of: list[datetime],
             due: dict[tuple[str, str, str], list[tuple[dict[str, Any], Tier, str | None]]]) -> None:
        sweep_id = self._sweep_id
        since, expires = parse_iso(item["since"]), expires_of(item)
        reached = escalation.reached(since=since, expires=expires, at=at, fired=set(item.get("fired", ())))
        # Also looked at once past its expiry, when no tier is left, so that it is not pending forever.
        look = reached or at >= expires
        found = self._status(item, states) if look else None
        if isinstance(found, ApprovalStatus) and not found.pending:
            self._resolve(item, {"reason": "not pending in CodePipeline", "status_seen": found.status}, sweep_id)
            done["reconciled"].append(item["sk"])
            return
        if isinstance(found, Unknown) and at >= expires:
            self._resolve(item, {"reason": "past its expiry", "unconfirmed": found.reason}, sweep_id)
            done["reconciled"].append(item["sk"])
            return
        if isinstance(found, Unknown) and found.code == "not_found":
            # The pipeline, or its approval action, is not where the approval says: nothing can be pending
            # there, and nobody is reminded or paged of it.
            self._resolve(item, {"reason": "not found in CodePipeline", "unconfirmed": found.reason}, sweep_id)
            done["reconciled"].append(item["sk"])
            return
        why = found.reason if isinstance(found, Unknown) else None
        if why:
            done["unconfirmed"].append(item["sk"])
        since_of.append(since)
        if not item.get("needed_sent") and self._announce(item, sweep_id):
            done["announced"].append(item["sk"])
        elif self._slack is not None and self._slack.owed(item, sweep_id):
            done["posted"].append(item["sk"])  # its Slack post, owed since an earlier attempt failed
        for tier in reached:
            if tier.open_at(at):
                notice_of(item, "approval.escalated", event_id=sweep_id)  # an item that cannot be told is skipped here
                group = (item["pk"], item.get("execution_id") or item["sk"], tier.name)
                due.setdefault(group, []).append((item, tier, why))

    def _set_aside(self, item: dict[str, Any], error: BaseException) -> None:
        """A pending item that cannot be escalated leaves the index (once), then is dead-lettered with why."""
        if isinstance(item, dict) and isinstance(item.get("pk"), str) and isinstance(item.get("sk"), str):
            self._approvals.set_aside(item, f"{type(error).__name__}: {error}")
        if self._skip is not None:
            self._skip(item, error)

    def _status(self, item: dict[str, Any], states: dict[tuple[str, str, str], Any]) -> ApprovalStatus | Unknown:
        where = (item.get("account", ""), item["region"], item["pipeline"])
        if where not in states:
            states[where] = self._codepipeline.state(*where)
        found = self._codepipeline.approval(*where, item["stage"], item["action"],
                                            execution_id=item.get("execution_id"), token=item.get("token"),
                                            state=states[where], action_execution_id=item.get("action_execution_id"))
        if isinstance(found, Unknown):
            self._unreconciled(item, found.reason)
        return found

    def _resolve(self, item: dict[str, Any], why: dict[str, Any], sweep_id: str) -> None:
        resolve_page(self._notifier, item, self._approvals)
        self._approvals.resolve(key_of(item), "reconciled", why, owner=sweep_id, tell=False)

    def _unreconciled(self, item: dict[str, Any], why: str) -> None:
        key = (item["pk"], item["sk"])
        if key not in self._told_unreconciled:
            self._told_unreconciled.add(key)
            logger.info("cannot reconcile the approval with CodePipeline: escalating from the tracked state",
                        extra={"account": item.get("account"), "pipeline": item["pipeline"],
                               "approval": item["sk"], "reason": why})

    def _fire(self, group: list[tuple[dict[str, Any], Tier, str | None]], sweep_id: str) -> list[str]:
        """One tier for the approvals of one execution: claimed together, told and paged once. Returns the
        `<sk>:<tier>` of those this sweep claimed (another sweep, or a resolution, may hold the others)."""
        tier = group[0][1]
        flag = TIER + tier.name
        items = sorted({item["sk"]: item for item, _, _ in group}.values(), key=lambda i: i["sk"])
        claimed_keys = self._approvals.claim_many([key_of(i) for i in items], flag, sweep_id)
        claimed = [i for i in items if key_of(i) in claimed_keys]
        if not claimed:
            return []  # another sweep has them, or they were resolved meanwhile
        lead, unconfirmed = claimed[0], next((why for _, _, why in group if why), None)
        notice = notice_of(lead, "approval.escalated", event_id=f"{sweep_id}:{tier.name}",
                           unconfirmed=UNCONFIRMED.format(reason=unconfirmed) if unconfirmed else None)
        notice.also_waiting = [_waiting(i) for i in claimed[1:]]
        if self._releases is not None and not notice.release_unknown:  # said already: no need to ask again
            self._releases.fill(notice)  # never raises: the escalation goes out either way
        routed = self._notifier.decide(notice)  # routing still mutes and adds the runbook
        escalation: EscalationConfig = self._config.get("escalation")  # type: ignore[assignment]
        urgency, why = escalation.urgency(tier, now())  # low outside business hours, unless configured otherwise
        # Who is paged is then the routing document's paging rules' (applied by the notifier to every page).
        decision = Decision(tuple(tier.audiences), tier.severity, muted=routed.muted, runbook=routed.runbook,
                            rule=f"escalation tier {tier.name}", urgency=urgency, why_urgency=why)
        page = page_key(lead)
        more = f" (and {len(claimed) - 1} more approvals of this execution)" if len(claimed) > 1 else ""
        delivery = self._notifier.deliver(notice, decision, log=self._approvals.effects(key_of(lead), flag, lead),
                                          page=page, summary=f"{title(notice)} for {notice.age}{more}")
        keys = [key_of(i) for i in claimed]
        if delivery.complete and not delivery.page_failed:
            self._approvals.sent_many(keys, flag, **({"paged": True, "page_key": page} if delivery.paged else {}))
            if self._slack is not None:
                for item in claimed:
                    self._slack.thread(item, f"{title(notice)}: waiting for {notice.age}, {tier.name}"
                                             f" (expires {notice.expires})")
        else:
            if delivery.paged:
                for key in keys:
                    self._approvals.mark_paged(key, page)
            self._failed.extend(delivery.failures)  # raised once every execution had its turn
        return [f"{i['sk']}:{tier.name}" for i in claimed]

    def _announce(self, item: dict[str, Any], sweep_id: str) -> bool:
        """The approval.needed of an approval whose input died before announcing it (its claim is stale, or
        was never taken): the sweep finishes it."""
        key = key_of(item)
        claimed = self._approvals.claim(key, "needed", sweep_id)
        if claimed is None:
            return False  # an input is announcing it right now
        delivery = self._notifier.deliver(notice_of(claimed, "approval.needed", event_id=f"{sweep_id}:needed"),
                                          log=self._approvals.effects(key, "needed", claimed))
        if delivery.complete:
            owed = self._slack.owed_fields(claimed) if self._slack is not None else {}
            self._approvals.sent(key, "needed", **owed)
            if self._slack is not None and owed:
                ts = self._slack.needed(claimed | owed, sweep_id)
                if ts:  # its message: this sweep's reminder threads under it
                    item |= {"slack_channel": owed["slack_owed"], "slack_ts": ts}
        self._failed.extend(delivery.failures)
        return True


def _waiting(item: dict[str, Any]) -> str:
    """One more approval of the execution, as the escalation lists it."""
    return f"{item['stage']}/{item['action']}, waiting for {age_text(now() - parse_iso(item['since']))}"


def _age(at: datetime, oldest: datetime | None) -> float:
    return max(0.0, (at - oldest).total_seconds()) if oldest else 0.0
