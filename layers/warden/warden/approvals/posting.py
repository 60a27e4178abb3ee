"""Approval requests in Slack, when a Slack app is configured: the request with Approve and Reject buttons in
the pipeline's channel (chat.postMessage), its reminders and escalations in the thread under it.

The channel comes from the routing document: the first rule fitting the approval.needed event that names a
`slack_channel`. No such rule, or no Slack app (SlackSecretArn empty): nothing is posted and nothing else
changes. The message never carries the approval token (warden.approvals.gateway.approval_message).

The request's post is a debt, paid exactly once:
- It is owed from the write that marks the approval's approval.needed sent (`owed_fields`: `slack_owed`, the
  channel, in that same write, by warden.approvals.tracker or the sweep's announcement): an input that dies
  right after still leaves it owed, and a redelivery (approval.needed already sent) posts nothing new.
- Each attempt is claimed first (warden.approvals.chat_store.ChatDecisions.claim_post: a conditional write),
  so two deliveries, or two sweeps, never post at once; the message's ts, once known, ends the debt.
- A failed attempt (Slack down, a 5xx, a 429, a refusal) leaves it owed, logged and counted
  (`SlackPostFailures`), and ApprovalEscalator's sweep (every 5 minutes) tries again (`owed`), not before a
  429's Retry-After, then backing off up to an hour. The SNS audiences were told either way, and the approval
  can be decided in the console meanwhile.
- An attempt after the first may follow one that reached Slack and lost its answer (a 5xx, a timeout): the
  channel is read first (conversations.history since the first attempt), and a message of this approval
  (its metadata, or its buttons) is recorded instead of posting again. A 5xx is therefore never retried
  in place (warden.approvals.slack). When the channel cannot be read (the app lacks channels:history or
  groups:history), it is posted anyway, at least once: a warning is logged and `SlackPostsUnreconciled`
  counted, and the channel may then show the request twice (both work; the first click decides).
- A click on a message Warden did not know of (its answer was lost) records it (warden.approvals.gateway).
Reminders and escalations thread under the message once it exists; one sent while the post was still owed is
not replayed in the thread (the request, when it is posted, is current).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from warden.approvals.chat_store import ChatDecisions
from warden.approvals.gateway import approval_message
from warden.approvals.slack import SlackApi, SlackError
from warden.approvals.store import key_of
from warden.core.clock import now, parse_iso
from warden.core.log import logger

EVENT_TYPE = "warden_approval_request"  # the message metadata's event_type: which approval a message asks for
EARLIER = timedelta(minutes=2)  # read the channel from this long before the first attempt (clocks differ)
BACKOFF = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)


class SlackPosting:
    def __init__(self, *, slack: SlackApi, decisions: ChatDecisions, config: Any,
                 count: Any = None) -> None:
        """`config`: the documents (`routing`); `count(name)`: a metric (warden.runtime.invocation.count)."""
        self._slack = slack
        self._decisions = decisions
        self._config = config
        self._count = count or (lambda name: None)
        self._quiet_until: datetime | None = None  # Slack said 429: no owed post is tried before then

    def channel(self, item: dict[str, Any]) -> str | None:
        routing = self._config.get("routing")
        for rule in routing.rules:
            if rule.slack_channel and rule.match.fits(event="approval.needed", pipeline=item.get("pipeline"),
                                                      state="STARTED", stage=item.get("stage"),
                                                      account=item.get("account")):
                return rule.slack_channel
        return None

    def owed_fields(self, item: dict[str, Any]) -> dict[str, str]:
        """What the write marking approval.needed sent also records: the Slack post it owes ({} for none)."""
        if item.get("slack_ts"):
            return {}
        channel = item.get("slack_owed") or self.channel(item)
        return {"slack_owed": str(channel)} if channel else {}

    def needed(self, item: dict[str, Any], owner: str) -> str | None:
        """Post the request (its debt recorded: `owed_fields`) for delivery `owner`; its ts, or None when it
        is not posted (not owed, another attempt under way, or this one failed: it stays owed)."""
        if item.get("slack_ts"):
            return str(item["slack_ts"])
        channel = item.get("slack_owed")
        if not channel:
            return None
        key = key_of(item)
        claimed = self._decisions.claim_post(key, str(channel), owner)
        if claimed is None:
            return None  # posted meanwhile, or another delivery is posting it
        if int(claimed.get("slack_post_attempts") or 1) > 1:
            try:
                found = self._find(str(channel), claimed)
            except SlackError as exc:  # Slack down or busy: it stays owed, checked and posted by a later sweep
                self._owed(key, owner, exc, claimed, item)
                return None
            if found:
                self._decisions.posted(key, str(channel), found)
                logger.info("approval request found in Slack: the earlier post's answer was lost, not posted again",
                            extra={"pipeline": item.get("pipeline"), "approval": item.get("sk")})
                return found
        text, blocks = approval_message(claimed)
        try:
            answer = self._slack.post(str(channel), text, blocks, metadata=_metadata(key), retry_ambiguous=False)
        except SlackError as exc:
            self._owed(key, owner, exc, claimed, item)
            return None
        self._decisions.posted(key, str(answer.get("channel") or channel), str(answer["ts"]))
        return str(answer["ts"])

    def owed(self, item: dict[str, Any], owner: str) -> bool:
        """The sweep's turn at an owed post (`item`: pending, as the index read it); True when it posted it.
        `item` then names its message, so that this sweep's reminder threads under it."""
        if item.get("slack_ts") or not item.get("slack_owed"):
            return False
        at = now()
        if self._quiet_until is not None and at < self._quiet_until:
            return False
        if item.get("slack_post_not_before") and at < parse_iso(str(item["slack_post_not_before"])):
            return False
        ts = self.needed(item, owner)
        if ts:
            item |= {"slack_channel": item["slack_owed"], "slack_ts": ts}
        return bool(ts)

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

    # -- a failed or uncertain attempt ----------------------------------------------------------------------
    def _owed(self, key: dict[str, str], owner: str, exc: SlackError, claimed: dict[str, Any],
              item: dict[str, Any]) -> None:
        attempts = int(claimed.get("slack_post_attempts") or 1)
        wait = min(BACKOFF * 2 ** (attempts - 2), MAX_BACKOFF) if attempts > 1 else timedelta(0)
        if exc.retry_after is not None:
            wait = max(wait, timedelta(seconds=exc.retry_after))
            self._quiet_until = now() + timedelta(seconds=exc.retry_after)
        self._decisions.post_failed(key, owner, exc.code, now() + wait)
        self._failed("approval request", exc, item, attempts=attempts, retry_in=int(wait.total_seconds()))

    def _find(self, channel: str, item: dict[str, Any]) -> str | None:
        """The ts of this approval's request in the channel, posted by an earlier attempt; None when there is
        none, or when the app may not read the channel (then it is posted again: at least once, said in the
        log). Slack down or rate-limiting is raised: the post waits for a later sweep, unchecked is never
        posted then."""
        first = parse_iso(str(item.get("slack_post_first_at") or item.get("slack_post_claimed_at")))
        oldest = f"{(first - EARLIER).timestamp():.6f}"
        ref = json.dumps(key_of(item), separators=(",", ":"))
        try:
            messages = self._slack.history(channel, oldest)
        except SlackError as exc:
            if exc.ambiguous or exc.retry_after is not None:
                raise
            logger.warning("cannot read the Slack channel to check for an earlier post of this approval request: "
                           "posting it again, so the channel may show it twice",
                           extra={"pipeline": item.get("pipeline"), "approval": item.get("sk"), "error": exc.code})
            self._count("SlackPostsUnreconciled")
            return None
        for message in messages:
            meta = message.get("metadata") or {}
            if meta.get("event_type") == EVENT_TYPE and meta.get("event_payload") == key_of(item):
                return str(message.get("ts"))
            if any(e.get("value") == ref for b in message.get("blocks") or [] if b.get("type") == "actions"
                   for e in b.get("elements") or []):
                return str(message.get("ts"))
        return None

    def _failed(self, what: str, exc: SlackError, item: dict[str, Any], **extra: Any) -> None:
        logger.warning(f"Slack {what} not posted" + (": it stays owed, the sweep posts it" if extra else ""),
                       extra={"pipeline": item.get("pipeline"), "approval": item.get("sk"), "error": exc.code,
                              **extra})
        self._count("SlackPostFailures")


def _metadata(key: dict[str, str]) -> dict[str, Any]:
    """Slack message metadata naming the approval (never its token): how a lost post is found again."""
    return {"event_type": EVENT_TYPE, "event_payload": {"pk": key["pk"], "sk": key["sk"]}}
