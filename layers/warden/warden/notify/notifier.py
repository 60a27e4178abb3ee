"""Telling people: routing decision, one SNS publish per audience, and PagerDuty pages.

Shared by every function that notifies (router, approvals), so that rules, bodies and pages are the
same whoever speaks.
"""

from __future__ import annotations

from warden.aws.config import ConfigStore
from warden.core.log import logger
from warden.core.text import LIMITS, clean
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
    def __init__(self, *, publisher: Publisher, config: ConfigStore, pagerduty: PagerDuty | None = None) -> None:
        self._publisher = publisher
        self._config = config
        self._pagerduty = pagerduty

    def decide(self, notice: Notice) -> Decision:
        routing: RoutingConfig = self._config.get("routing")  # type: ignore[assignment]
        return decide(routing, event=notice.event, pipeline=notice.subject_name, state=notice.state,
                      stage=notice.stage, account=notice.account or None)

    def send(self, notice: Notice, decision: Decision | None = None) -> list[str]:
        """Publish to every audience of the decision (none when muted); returns the audiences reached."""
        decision = decision or self.decide(notice)
        if decision.muted:
            logger.info("muted by routing rule", extra={"event": notice.event, "rule": decision.rule})
            return []
        sent = []
        for audience in decision.audiences:
            chat = audience == "chat"
            rendered = render_chat(notice, decision) if chat else render(notice, decision)
            if self._publisher.publish(audience, rendered, structured=not chat):
                sent.append(audience)
        return sent

    def page(self, dedup_key: str, notice: Notice, decision: Decision, summary: str | None = None) -> bool:
        """Trigger a PagerDuty incident when on-call is an audience and paging is configured."""
        if self._pagerduty is None or decision.muted or "oncall" not in decision.audiences:
            return False
        if summary is None:
            summary = title(notice) + (f": {clean(notice.error, LIMITS['error'])}" if notice.error else "")
        from warden.release.page import custom_details, grouping, page_links

        # PagerDuty shows these as text: cleaned and clipped like every fact (warden.core.text).
        details = {k: clean(v, DETAIL_LIMITS.get(k, LIMITS["other"])) for k, v in custom_details(notice).items()}
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
