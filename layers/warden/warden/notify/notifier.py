"""Telling people: routing decision, one SNS publish per audience, and PagerDuty pages.

Shared by every function that notifies (router, approvals, and whatever comes next), so that rules,
bodies and pages are the same whoever speaks. `deliver` is the way to notify: each audience's publish
and each page is an effect of its own (warden.notify.effects), recorded when done, so that a retry redoes
only what did not happen and no channel's failure silences or delays another. Publishes go first: a
PagerDuty outage retries with backoff and must not hold a message back.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from warden.core.documents import Documents
from warden.core.log import logger
from warden.core.text import LIMITS, clean
from warden.notify.effects import Delivery, EffectLog, MemoryLog, count_failure, is_permanent
from warden.notify.notice import Notice
from warden.notify.pagerduty import PagerDuty
from warden.notify.paging import PagingHealth
from warden.notify.render import all_links, render, render_chat, runbook_text, title
from warden.notify.rules import Decision, RoutingConfig, decide, page_policy
from warden.notify.runbooks import with_runbook
from warden.notify.sns import Publisher

# The longest text of each PagerDuty custom detail (warden.core.text.LIMITS).
DETAIL_LIMITS = {"pipeline": LIMITS["name"], "stage": LIMITS["name"], "action": LIMITS["name"],
                 "commit": LIMITS["error"], "commit_id": LIMITS["id"], "author": LIMITS["author"],
                 "execution": LIMITS["id"], "error": LIMITS["error"]}


# A page of low urgency: sent at a severity that a PagerDuty service with severity-based urgency treats as low
# urgency (critical and error are high urgency; warning and info low).
LOW_URGENCY = {"critical": "warning", "high": "warning"}


class Notifier:
    def __init__(self, *, publisher: Publisher, config: Documents, pagerduty: PagerDuty | None = None,
                 paging: PagingHealth | None = None, runbook_base: str | None = None,
                 chat_actions_account: str | None = None) -> None:
        """`paging`: where a refused page is recorded, so that the team hears once per reason that paging
        is broken (warden.notify.paging); without it a refusal is only logged and counted. `runbook_base`:
        where the runbooks are published (RunbookBaseUrl); without it a message names the runbook's file.
        `chat_actions_account`: the account whose Amazon Q Developer Approve and Reject actions the stack
        created (QDeveloperApprovalActions); approval.needed chat messages of its pipelines carry what the
        buttons need (warden.notify.render.chat_actions). None: no chat message carries it."""
        self._publisher = publisher
        self._config = config
        self._pagerduty = pagerduty
        self._paging = paging
        self._runbook_base = runbook_base or None
        self._chat_actions_account = chat_actions_account or None

    def decide(self, notice: Notice) -> Decision:
        routing: RoutingConfig = self._config.get("routing")  # type: ignore[assignment]
        return decide(routing, event=notice.event, pipeline=notice.subject_name, state=notice.state,
                      stage=notice.stage, account=notice.account or None)

    def policy(self, notice: Notice, decision: Decision) -> Decision:
        """`decision` under the routing document's paging rules (warden.notify.rules): whoever chose the
        audiences (a routing rule, an escalation tier), the one paging policy says whether on-call hears."""
        routing: RoutingConfig = self._config.get("routing")  # type: ignore[assignment]
        return page_policy(routing, decision, event=notice.event, pipeline=notice.subject_name, state=notice.state,
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
        decision = with_runbook(notice, self.policy(notice, decision or self.decide(notice)), self._runbook_base)
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
            name = f"page:trigger:{page}"
            before = name in log.done
            delivery.paged = _once(delivery, log, name, lambda: self.page(page, notice, decision, summary))
            refused = next((exc for n, exc in delivery.failures if n == name and is_permanent(exc)), None)
            if refused is not None:
                self._refused(notice, refused, delivery)
            elif delivery.paged and not before and self._paging is not None:
                self._paging.works()
        return delivery

    def _refused(self, notice: Notice, exc: BaseException, delivery: Delivery) -> None:
        """PagerDuty, or its secret, refused the page: a retry cannot help, somebody must fix it. Counted
        (`PagingBroken`) every time; the team is told once per change of reason (warden.notify.paging)."""
        reason = f"{type(exc).__name__}: {exc}"
        logger.error("paging is broken: on-call was not paged", extra={"event": notice.event, "reason": reason[:1000]})
        _metric("PagingBroken")
        if self._paging is None or not self._publisher.has("team") or not self._paging.refused(reason):
            return
        told = replace(notice, links=dict(notice.links), not_paged=reason + " (fix it, then redrive the "
                       "dead-lettered event: the incident stays open and unpaged until a page goes out)")
        try:
            decision = with_runbook(told, Decision(("team",), "high", rule="paging is broken"), self._runbook_base)
            self._publisher.publish("team", render(told, decision), structured=True)
        except Exception as failed:  # noqa: BLE001 (the next refusal tells it)
            self._paging.forget(reason)
            count_failure("sns:team:paging", failed)
            delivery.failures.append(("sns:team:paging", failed))

    def settle(self, dedup_key: str, *, log: EffectLog | None = None) -> Delivery:
        """Resolve a page at most once per `log` (resolving is harmless when there is nothing open)."""
        delivery = Delivery()
        if self._pagerduty is not None:
            delivery.resolved = _once(delivery, log if log is not None else MemoryLog(),
                                      f"page:resolve:{dedup_key}", lambda: self._pagerduty.resolve(dedup_key))
        return delivery

    def _publish(self, notice: Notice, decision: Decision, audience: str) -> None:
        chat = audience == "chat"
        rendered = render_chat(notice, decision, actions_account=self._chat_actions_account) if chat \
            else render(notice, decision)
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
        if text := runbook_text(decision):  # no base URL: the runbook's file, as text (a link when there is one)
            details["runbook"] = clean(text, LIMITS["other"])
        severity = decision.severity
        if decision.urgency == "low":
            # PagerDuty's severity-based urgency makes critical and error high urgency, warning and info low.
            severity = LOW_URGENCY.get(severity, severity)
            details["urgency"] = clean(f"low ({decision.why_urgency or 'paging rule'})", LIMITS["other"])
        self._pagerduty.trigger(
            dedup_key=dedup_key, summary=clean(summary, 1024),
            source=clean(notice.subject_name or notice.account, LIMITS["name"]) or "pipeline-warden",
            severity=severity, custom_details={k: v for k, v in details.items() if v},
            links=page_links(all_links(notice, decision)),
            **{k: clean(v, LIMITS["name"]) or None if v else v for k, v in grouping(notice).items()})
        return True

    def resolve(self, dedup_key: str) -> None:
        """Resolve a page (harmless when there is none, or it is resolved already)."""
        if self._pagerduty is not None:
            self._pagerduty.resolve(dedup_key)


def _metric(name: str) -> None:
    try:
        from aws_lambda_powertools import Metrics

        Metrics().add_metric(name=name, unit="Count", value=1)  # the handler's Metrics flushes it
    except Exception:  # noqa: BLE001 (a metric must never cost the notification)
        logger.debug("metric not recorded", extra={"metric": name})


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
