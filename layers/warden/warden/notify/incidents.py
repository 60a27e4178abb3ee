"""One page per incident, following the pipeline's latest truth.

An incident is one item in the state table per pipeline (or CodeDeploy deployment group). It is
opened by whichever failure event of an execution arrives first, with a conditional write so that
concurrent deliveries cannot both open it, and it is tied to that execution and the failure's time.
The same item keeps the time of the latest success (`last_success_at`), so that:
- a failure older than the latest success (an older execution's, delivered late, or a dead-letter
  redrive after recovery) opens nothing;
- a success resolves the incident it supersedes (opened at or before it), whether or not its own
  message is muted, and an older success never resolves a newer failure.
The opener owns the notifications until they went out (`notified`). Which of them went out is kept on
the item (warden.notify.effects), so a retry, or another failure event taking over the claim of an
opener that died (claimed longer ago than any invocation lives), redoes only what is missing.
An incident is notified only once PagerDuty accepted its page: a page refused (a 400, a secret without a
routing key) or failed past every retry is kept on the item (`page_failed`, with the reason), and the
redrive of that event, or the pipeline's next failure event, takes the claim over and pages; the
messages that went out are not repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from warden.core.clock import iso, now
from warden.notify.effects import CLAIM_SECONDS, DONE_ATTR, EffectLog


@dataclass(frozen=True)
class Incident:
    key: str
    dedup_key: str
    execution_id: str | None = None
    opened_at: str = ""
    done: frozenset[str] = field(default_factory=frozenset)


def incident_key(*, account: str, region: str, pipeline: str | None = None, application: str | None = None,
                 deployment_group: str | None = None) -> str:
    if pipeline:
        return f"pipeline-warden/{account}/{region}/pipeline/{pipeline}"
    return f"pipeline-warden/{account}/{region}/codedeploy/{application}/{deployment_group}"


class Incidents:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def _conditional(self) -> type[Exception]:
        return self._ddb.exceptions.ConditionalCheckFailedException

    def effects(self, incident: Incident) -> EffectLog:
        """Where the incident's notifications are recorded as they go out."""
        return EffectLog(self._ddb, self._table, {"pk": incident.key, "sk": "incident"}, set(incident.done))

    def event_effects(self, event_id: str) -> EffectLog:
        """Where the notifications of an event outside any incident are recorded (kept a day)."""
        return EffectLog.load(self._ddb, self._table, f"event#{event_id}")

    def open(self, key: str, *, event_id: str, execution_id: str | None, at: datetime,
             summary: str) -> Incident | None:
        """The incident this failure event must notify: newly opened, still owned by this event and not
        notified, or taken over from an owner that died. None: it folds into an open incident, or it is
        older than the pipeline's latest success."""
        claimed = iso(now())
        try:
            item = self._ddb.update_item(
                TableName=self._table, Key=_key(key), ReturnValues="ALL_NEW",
                UpdateExpression="SET #s = :open, dedup_key = :key, #o = :me, claimed_at = :now, #n = :false, "
                                 "opened_at = :at, execution_id = :exec, summary = :summary "
                                 f"REMOVE {DONE_ATTR}, resolved_at, resolved_by, page_failed",
                ConditionExpression="(attribute_not_exists(#s) OR #s = :resolved) AND "
                                    "(attribute_not_exists(last_success_at) OR last_success_at < :at)",
                ExpressionAttributeNames={"#s": "status", "#o": "owner", "#n": "notified"},
                ExpressionAttributeValues={":open": {"S": "open"}, ":resolved": {"S": "resolved"},
                                           ":key": {"S": key}, ":me": {"S": event_id}, ":now": {"S": claimed},
                                           ":false": {"BOOL": False}, ":at": {"S": iso(at)},
                                           ":exec": {"S": execution_id or ""}, ":summary": {"S": summary[:500]}},
            )["Attributes"]
        except self._conditional():
            item = self._take_over(key, event_id, claimed)
        return _incident(key, item) if item else None

    def _take_over(self, key: str, event_id: str, claimed: str) -> dict[str, Any] | None:
        stale = iso(now() - timedelta(seconds=CLAIM_SECONDS))
        try:
            return self._ddb.update_item(
                TableName=self._table, Key=_key(key), ReturnValues="ALL_NEW",
                UpdateExpression="SET #o = :me, claimed_at = :now",
                # A page that failed (refused, or failed past every retry) is retried by the next failure
                # event whoever owned it: the incident is not told until on-call is paged.
                ConditionExpression="#s = :open AND #n = :false AND (#o = :me OR attribute_exists(page_failed) "
                                    "OR attribute_not_exists(claimed_at) OR claimed_at < :stale)",
                ExpressionAttributeNames={"#s": "status", "#o": "owner", "#n": "notified"},
                ExpressionAttributeValues={":open": {"S": "open"}, ":false": {"BOOL": False},
                                           ":me": {"S": event_id}, ":now": {"S": claimed}, ":stale": {"S": stale}},
            )["Attributes"]
        except self._conditional():
            return None

    def current(self, key: str) -> dict[str, Any] | None:
        """The open incident of `key` (its opening time, execution and summary), None when none is open: what
        the deployment gate's automatic freeze reads (one consistent GetItem, nothing written)."""
        item = self._ddb.get_item(TableName=self._table, Key=_key(key), ConsistentRead=True).get("Item") or {}
        if item.get("status", {}).get("S") != "open":
            return None
        return {"opened_at": item.get("opened_at", {}).get("S", ""),
                "execution_id": item.get("execution_id", {}).get("S") or None,
                "summary": item.get("summary", {}).get("S", "")}

    def notified(self, key: str) -> None:
        self._ddb.update_item(TableName=self._table, Key=_key(key),
                              UpdateExpression="SET #n = :true REMOVE page_failed",
                              ExpressionAttributeNames={"#n": "notified"},
                              ExpressionAttributeValues={":true": {"BOOL": True}})

    def page_failed(self, key: str, reason: str) -> None:
        """The page did not go out (`reason`): the incident stays open and un-notified, with the reason on
        the item for whoever looks, and the next failure event of the pipeline, or the redrive, pages."""
        self._ddb.update_item(TableName=self._table, Key=_key(key), UpdateExpression="SET page_failed = :r",
                              ExpressionAttributeValues={":r": {"S": reason[:1000]}})

    def succeeded(self, key: str, *, at: datetime) -> Incident | None:
        """Record a success at `at`; returns the open incident it supersedes (to resolve), if any. A success
        older than the one recorded changes nothing: any incident open now is newer than both."""
        try:
            old = self._ddb.update_item(
                TableName=self._table, Key=_key(key), ReturnValues="ALL_OLD",
                UpdateExpression="SET last_success_at = :at",
                # Equal: the same success retried (its resolve failed), which must find the incident again.
                ConditionExpression="attribute_not_exists(last_success_at) OR last_success_at <= :at",
                ExpressionAttributeValues={":at": {"S": iso(at)}},
            ).get("Attributes", {})
        except self._conditional():
            return None
        if old.get("status", {}).get("S") != "open" or old.get("opened_at", {}).get("S", "") > iso(at):
            return None
        return _incident(key, old)

    def close(self, incident: Incident, *, event_id: str) -> None:
        """Mark resolved; called after the page is resolved, so a failure there is retried."""
        try:
            self._ddb.update_item(
                TableName=self._table, Key=_key(incident.key),
                UpdateExpression="SET #s = :resolved, resolved_at = :now, resolved_by = :me",
                ConditionExpression="#s = :open AND opened_at = :opened",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":resolved": {"S": "resolved"}, ":open": {"S": "open"},
                                           ":now": {"S": iso(now())}, ":me": {"S": event_id},
                                           ":opened": {"S": incident.opened_at}},
            )
        except self._conditional():
            pass  # resolved already by a concurrent delivery, or a newer incident opened meanwhile


def _incident(key: str, item: dict[str, Any]) -> Incident:
    return Incident(key=key, dedup_key=item.get("dedup_key", {}).get("S", key),
                    execution_id=item.get("execution_id", {}).get("S") or None,
                    opened_at=item.get("opened_at", {}).get("S", ""),
                    done=frozenset(item.get(DONE_ATTR, {}).get("SS", [])))


def _key(key: str) -> dict[str, Any]:
    return {"pk": {"S": key}, "sk": {"S": "incident"}}
