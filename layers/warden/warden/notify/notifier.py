"""Telling people: routing decision, one SNS publish per audience, and PagerDuty pages.

Shared by every function that notifies (router, approvals, and whatever comes next), so that rules,
bodies and pages are the same whoever speaks. `deliver` is the way to notify: each audience's publish
and each page is an effect of its own (warden.notify.effects), recorded when done, so that a retry redoes
only what did not happen and no channel's failure silences or delays another. Publishes go first: a
PagerDuty outage retries with backoff and must not hold a message back.
"""

from __future__ import annotations

from typing import Any

from warden.core.documents import Documents
from warden.core.log import logger
from warden.core.text import LIMITS, clean
from warden.notify.effects import Delivery, EffectLog, MemoryLog, count_failure
from warden.notify.notice import Notice
from warden.notify.pagerduty import PagerDuty
from warden.notify.render import all_links, render, render_chat, title
from warden.notify.rules import Decision, RoutingConfig, decide
from warden.notify.sns import Publisher

# The longest text of each PagerDuty custom detail (warden.core.text.LIMITS).
DETAIL_LIMITS = {"pipeline": LIMITS["name"], "stage": LIMITS["name"], "action": LIMITS["name"],
                 "commit": LIMITS["error"], "commit_id": LIMITS["id"], "author": LIMITS["author"],
                 "execution": LIMITS["id"], "error": LIMITS["error"]}


class Notifier:
    def __init__(self, *, publisher: Publisher, config: Documents, pagerduty: PagerDuty | None = None) -> None:
        self._publisher = publisher
        self._config = config
        self._pagerduty = pagerduty

    def decide(self, notice: Notice) -> Decision:
        routing: RoutingConfig = self._config.get("routing")  # type: ignore[assignment]
        return decide(routing, event=notice.event, pipeline=notice.subject_name, state=notice.state,
                      stage=notice.stage, account=notice.account or None)

    def send(self, notice: Notice, decision: Decision | None = None) -> list[str]:
        """Publish to every audience of the decision (none when muted); returns the audiences reached.
        Every audience is tried; a failure is raised after the others went out (`deliver` records them)."""
        delivery = self.deliver(notice, decision)
        delivery.check()
        return delivery.sent

    def deliver(self, notice: Notice, decision: Decision | None = None, *, log: EffectLog | None = None,
                page: str | None = None, summary: str | None = None) -> Delivery:
        """Publish to every audience, then trigger the page `page` (a dedup key; only when on-call is an
        audience), each at most once per `log`; returns what happened. `Delivery.check()` raises what
        failed, once everything was tried."""
        decision = decision or self.decide(notice)
        log = log if log is not None else MemoryLog()
        delivery = Delivery()
        if decision.muted:
            logger.info("muted by routing rule", extra={"event": notice.event, "rule": decision.rule})
            return delivery
        for audience in decision.audiences:
            if self._publisher.has(audience) and _once(
                    delivery, log, f"sns:{audience}", lambda a=audience: self._publish(notice, decision, a)):
                delivery.sent.append(audience)
        if page and self._pages(decision):
            delivery.paged = _once(delivery, log, f"page:trigger:{page}",
                                   lambda: self.page(page, notice, decision, summary))
        return delivery

    def settle(self, dedup_key: str, *, log: EffectLog | None = None) -> Delivery:
        """Resolve a page at most once per `log` (resolving is harmless when there is nothing open)."""
        delivery = Delivery()
        if self._pagerduty is not None:
            delivery.resolved = _once(delivery, log if log is not None else MemoryLog(),
                                      f"page:resolve:{dedup_key}", lambda: self._pagerduty.resolve(dedup_key))
        return delivery

    def _publish(self, notice: Notice, decision: Decision, audience: str) -> None:
        chat = audience == "chat"
        rendered = render_chat(notice, decision) if chat else render(notice, decision)
        self._publisher.publish(audience, rendered, structured=not chat)

    def _pages(self, decision: Decision) -> bool:
        return self._pagerduty is not None and not decision.muted and "oncall" in decision.audiences

    def page(self, dedup_key: str, notice: Notice, decision: Decision, summary: str | None = None) -> bool:
        """Trigger a PagerDuty incident when on-call is an audience and paging is configured."""
        if not self._pages(decision):
            return False
        if summary is None:
            summary = title(notice) + (f": {clean(notice.error, LIMITS['error'])}" if notice.error else "")
        from warden.notify.page import custom_details, grouping, page_links

        # PagerDuty shows these as text: cleaned and clipped like every fact (warden.core.text).
        # The author limit is for a name; without one the detail is Warden's "unknown (why)", clipped like
        # the commit's (the same reason, which must be readable in full on both).
        limits = DETAIL_LIMITS if notice.author else DETAIL_LIMITS | {"author": LIMITS["error"]}
        details = {k: clean(v, limits.get(k, LIMITS["other"])) for k, v in custom_details(notice).items()}
        self._pagerduty.trigger(
            dedup_key=dedup_key, summary=clean(summary, 1024),
            source=clean(notice.subject_name or notice.account, LIMITS["name"]) or "pipeline-warden",
            severity=decision.severity, custom_details={k: v for k, v in details.items() if v},
            links=page_links(all_links(notice, decision)),
            **{k: clean(v, LIMITS["name"]) or None if v else v for k, v in grouping(notice).items()})
        return True

    def resolve(self, dedup_key: str) -> None:
        """Resolve a page (harmless when there is none, or it is resolved already)."""
        if self._pagerduty is not None:
            self._pagerduty.resolve(dedup_key)


def _once(delivery: Delivery, log: EffectLog, name: str, effect: Any) -> bool:
    """Run `effect` unless `log` says it happened; record it when it does. A failure is counted and kept
    on `delivery` (raised by its `check()` after every other effect had its turn)."""
    if name in log.done:
        return True
    try:
        effect()
    except Exception as exc:  # noqa: BLE001 (each channel fails on its own)
        count_failure(name, exc)
        delivery.failures.append((name, exc))
        return False
    log.mark(name)
    return True
