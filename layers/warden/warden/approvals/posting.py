"""Approval requests in Slack, when a Slack app is configured: the request with Approve and Reject buttons in
the pipeline's channel (chat.postMessage), its reminders and escalations in the thread under it.

The channel comes from the routing document: the first rule fitting the approval.needed event that names a
`slack_channel`. No such rule, or no Slack app (SlackSecretArn empty): nothing is posted and nothing else
changes. Posting rides on the notification that is already claimed once per approval (approval.needed) or
per tier (warden.approvals.tracker / escalator), and is skipped when the approval's item already names its
message (`slack_ts`): a redelivery posts nothing new. A Slack failure is logged and counted, never fails the
notification (the SNS audiences were told): the approval can still be decided in the console.
The message never carries the approval token (warden.approvals.gateway.approval_message).
"""

from __future__ import annotations

from typing import Any

from warden.approvals.chat_store import ChatDecisions
from warden.approvals.gateway import approval_message
from warden.approvals.slack import SlackApi, SlackError
from warden.approvals.store import key_of
from warden.core.log import logger


class SlackPosting:
    def __init__(self, *, slack: SlackApi, decisions: ChatDecisions, config: Any,
                 count: Any = None) -> None:
        """`config`: the documents (`routing`); `count(name)`: a metric (warden.runtime.invocation.count)."""
        self._slack = slack
        self._decisions = decisions
        self._config = config
        self._count = count or (lambda name: None)

    def channel(self, item: dict[str, Any]) -> str | None:
        routing = self._config.get("routing")
        for rule in routing.rules:
            if rule.slack_channel and rule.match.fits(event="approval.needed", pipeline=item.get("pipeline"),
                                                      state="STARTED", stage=item.get("stage"),
                                                      account=item.get("account")):
                return rule.slack_channel
        return None

    def needed(self, item: dict[str, Any]) -> str | None:
        """Post the request once; its ts (None when not posted)."""
        if item.get("slack_ts"):
            return str(item["slack_ts"])
        channel = self.channel(item)
        if not channel:
            return None
        text, blocks = approval_message(item)
        try:
            answer = self._slack.post(channel, text, blocks)
        except SlackError as exc:
            self._failed("approval request", exc, item)
            return None
        self._decisions.posted(key_of(item), str(answer.get("channel") or channel), str(answer["ts"]))
        return str(answer["ts"])

    def thread(self, item: dict[str, Any], text: str) -> None:
        """A reminder or an escalation, in the thread under the request (nothing when it was not posted)."""
        if not (item.get("slack_channel") and item.get("slack_ts")):
            return
        try:
            self._slack.post(str(item["slack_channel"]), text, [{"type": "section", "text": {
                "type": "mrkdwn", "text": text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")}}],
                thread_ts=str(item["slack_ts"]))
        except SlackError as exc:
            self._failed("reminder", exc, item)

    def _failed(self, what: str, exc: SlackError, item: dict[str, Any]) -> None:
        logger.warning(f"Slack {what} not posted", extra={"pipeline": item.get("pipeline"),
                                                          "approval": item.get("sk"), "error": exc.code})
        self._count("SlackPostFailures")
