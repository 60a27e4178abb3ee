"""What approving from chat keeps in the state table: requests already accepted, votes, the one decision.

Every write is conditional, so any delivery order and any number of copies converge on one outcome:
- `SeenRequests.first`: a put of `slack-request#<signature>` that fails when it exists. A signature covers
  the timestamp and the body, so a replayed request (the same bytes within Slack's five minutes) finds its
  item and is refused; the item expires (TTL) after the window it can be replayed in.
- `ChatDecisions.vote`: a person's approval is added to the approval's item only while it is pending, not
  decided from chat, and not voted by that person yet (a double click is one vote).
- `ChatDecisions.claim`: the one decision, written once (`chat_decision`, by whom): of two people, two
  clicks or a retried request, exactly one claims it and calls PutApprovalResult. The claimant may claim
  again until it marks the call done (a retry after a failed call); nobody else can.
- `ChatDecisions.claim_post`: the approval request's Slack post, owed from the moment its approval.needed is
  marked sent (`slack_owed`, the channel, written in that same write by warden.approvals.tracker), is claimed
  before each attempt (`slack_post_owner`, like a notification's claim: its owner may claim again, anyone once
  it is stale) and counted (`slack_post_attempts`). A later attempt than the first knows an earlier one may
  have reached Slack (warden.approvals.posting looks in the channel first). `posted` records the message and
  clears the debt in one write; `post_failed` gives the claim back with what Slack said, for the next sweep.
The approval items themselves (key, pending/resolved) belong to warden.approvals.store.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from warden.approvals.store import PENDING_STATUS, plain
from warden.core.clock import iso, now
from warden.notify.effects import CLAIM_SECONDS

SEEN_PREFIX = "slack-request#"
KEEP_SEEN = timedelta(minutes=15)  # longer than the five minutes a signed request is accepted
VOTERS = "chat_voters"
VOTE = "chat_vote#"  # chat_vote#<user id>: who, when, as JSON
# What an owed Slack post keeps until it is posted (`ChatDecisions.claim_post`, `post_failed`).
POST_DEBT = ("slack_owed", "slack_post_owner", "slack_post_claimed_at", "slack_post_first_at", "slack_post_attempts",
             "slack_post_error", "slack_post_not_before")


def _key(key: dict[str, str]) -> dict[str, Any]:
    return {"pk": {"S": key["pk"]}, "sk": {"S": key["sk"]}}


class SeenRequests:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def first(self, signature: str, timestamp: str) -> bool:
        """True the first time a signed request is seen; False for a replay of it."""
        expires = int((now() + KEEP_SEEN).timestamp())
        try:
            self._ddb.put_item(TableName=self._table, Item={
                "pk": {"S": SEEN_PREFIX + signature}, "sk": {"S": timestamp},
                "expires_at": {"N": str(expires)}}, ConditionExpression="attribute_not_exists(pk)")
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True


def votes(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The approvals given from chat so far, oldest first."""
    found = []
    for name, value in item.items():
        if name.startswith(VOTE):
            try:
                found.append(json.loads(value))
            except (TypeError, ValueError):
                continue
    return sorted(found, key=lambda v: v.get("at", ""))


def chat_approver(item: dict[str, Any]) -> str | None:
    """Who decided an approval from chat, as messages name them (`Name <e-mail> (Slack U…)`), from the item's
    claim; None when it was not decided from chat."""
    if not (item.get("chat_done") and item.get("chat_decider")):
        return None
    try:
        who = json.loads(item["chat_decider"])
    except ValueError:
        return None
    return f"{who.get('name')} <{who.get('email')}> (Slack {who.get('id')})"


class ChatDecisions:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def _conditional(self) -> type[Exception]:
        return self._ddb.exceptions.ConditionalCheckFailedException

    def get(self, key: dict[str, str]) -> dict[str, Any]:
        return plain(self._ddb.get_item(TableName=self._table, Key=_key(key), ConsistentRead=True).get("Item", {}))

    def vote(self, key: dict[str, str], person: dict[str, Any]) -> dict[str, Any] | None:
        """Add `person`'s approval (once per person, while pending and undecided); the item after it, or
        None when the condition failed (read the item to say why)."""
        record = json.dumps(person | {"at": iso(now())}, sort_keys=True)
        try:
            out = self._ddb.update_item(
                TableName=self._table, Key=_key(key),
                UpdateExpression="ADD #voters :me SET #vote = :record",
                ConditionExpression="#s = :pending AND attribute_not_exists(chat_decision) "
                                    "AND NOT contains(#voters, :id)",
                ExpressionAttributeNames={"#voters": VOTERS, "#vote": VOTE + person["id"], "#s": "status"},
                ExpressionAttributeValues={":me": {"SS": [person["id"]]}, ":id": {"S": person["id"]},
                                           ":record": {"S": record}, ":pending": {"S": PENDING_STATUS}},
                ReturnValues="ALL_NEW")
        except self._conditional():
            return None
        return plain(out["Attributes"])

    def claim(self, key: dict[str, str], decision: str, person: dict[str, Any], summary: str) -> dict[str, Any] | None:
        """Claim the decision for `person` (or hold it again: the same person and decision, not done yet);
        the item after it, or None when someone else decided or it is no longer pending."""
        try:
            out = self._ddb.update_item(
                TableName=self._table, Key=_key(key),
                UpdateExpression="SET chat_decision = :d, chat_decided_by = :id, chat_decider = :who, "
                                 "chat_decided_at = if_not_exists(chat_decided_at, :at), "
                                 "chat_summary = if_not_exists(chat_summary, :summary)",
                ConditionExpression="#s = :pending AND (attribute_not_exists(chat_decision) OR "
                                    "(chat_decided_by = :id AND chat_decision = :d "
                                    "AND attribute_not_exists(chat_done)))",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":d": {"S": decision}, ":id": {"S": person["id"]},
                                           ":who": {"S": json.dumps(person, sort_keys=True)},
                                           ":at": {"S": iso(now())}, ":summary": {"S": summary},
                                           ":pending": {"S": PENDING_STATUS}},
                ReturnValues="ALL_NEW")
        except self._conditional():
            return None
        return plain(out["Attributes"])

    def release(self, key: dict[str, str], person_id: str) -> None:
        """Give a claim back when CodePipeline refused the call for good (another may decide)."""
        try:
            self._ddb.update_item(TableName=self._table, Key=_key(key),
                                  UpdateExpression="REMOVE chat_decision, chat_decided_by, chat_decider, "
                                                   "chat_decided_at, chat_summary",
                                  ConditionExpression="chat_decided_by = :id AND attribute_not_exists(chat_done)",
                                  ExpressionAttributeValues={":id": {"S": person_id}})
        except self._conditional():
            pass

    def done(self, key: dict[str, str], at: datetime) -> None:
        self._ddb.update_item(TableName=self._table, Key=_key(key),
                              UpdateExpression="SET chat_done = :at", ExpressionAttributeValues={":at": {"S": iso(at)}})

    def posted(self, key: dict[str, str], channel: str, ts: str) -> None:
        """Where the approval's Slack message is (reminders thread under it; decisions update it); the post is
        no longer owed. The first message recorded stays (a redelivery, or a click on it, writes the same)."""
        self._ddb.update_item(TableName=self._table, Key=_key(key),
                              UpdateExpression="SET slack_channel = if_not_exists(slack_channel, :c), "
                                               "slack_ts = if_not_exists(slack_ts, :t) REMOVE " + ", ".join(POST_DEBT),
                              ExpressionAttributeValues={":c": {"S": channel}, ":t": {"S": ts}})

    def claim_post(self, key: dict[str, str], channel: str, owner: str) -> dict[str, Any] | None:
        """Claim the approval request's Slack post for one attempt by `owner`; the item after it (its
        `slack_post_attempts` counts this one), or None when it is posted, no longer pending, or another
        delivery's attempt is under way (a claim older than CLAIM_SECONDS is taken over: its holder died)."""
        stale = iso(now() - timedelta(seconds=CLAIM_SECONDS))
        try:
            out = self._ddb.update_item(
                TableName=self._table, Key=_key(key),
                UpdateExpression="SET slack_owed = if_not_exists(slack_owed, :c), slack_post_owner = :me, "
                                 "slack_post_claimed_at = :now, "
                                 "slack_post_first_at = if_not_exists(slack_post_first_at, :now) "
                                 "ADD slack_post_attempts :one",
                ConditionExpression="#s = :pending AND attribute_not_exists(slack_ts) AND (attribute_not_exists("
                                    "slack_post_owner) OR slack_post_owner = :me OR slack_post_claimed_at < :stale)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":c": {"S": channel}, ":me": {"S": owner}, ":now": {"S": iso(now())},
                                           ":one": {"N": "1"}, ":stale": {"S": stale},
                                           ":pending": {"S": PENDING_STATUS}},
                ReturnValues="ALL_NEW")
        except self._conditional():
            return None
        return plain(out["Attributes"])

    def post_failed(self, key: dict[str, str], owner: str, error: str, not_before: datetime) -> None:
        """`owner`'s attempt failed: the post stays owed, for the next sweep from `not_before` on."""
        try:
            self._ddb.update_item(TableName=self._table, Key=_key(key),
                                  UpdateExpression="SET slack_post_error = :e, slack_post_not_before = :nb "
                                                   "REMOVE slack_post_owner, slack_post_claimed_at",
                                  ConditionExpression="slack_post_owner = :me",
                                  ExpressionAttributeValues={":e": {"S": error[:100]}, ":nb": {"S": iso(not_before)},
                                                             ":me": {"S": owner}})
        except self._conditional():
            pass  # taken over meanwhile (this attempt outlived its claim): the new holder decides
