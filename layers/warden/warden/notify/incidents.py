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

What an open incident is about (the deployment gate freezes production only for an incident about production,
warden.freeze.gate): every failure event that opens it or folds into it records where it failed, in string sets
written with `ADD`, so that the record is the same in any order of delivery and under redelivery:
`failed_stages` (the stages that failed) with `stage_known` (the executions whose failing stage is recorded),
`stage_unknown` (the executions with a failure whose stage Warden could not learn: a pipeline FAILED event before
its enrichment, or without it) and `deployments_failed` (a CodeDeploy deployment or a rollback). An execution is
in doubt while it is in `stage_unknown` and not in `stage_known`. A fold records only a failure newer than the
pipeline's latest success, and only while the incident is open (a condition on both): a late failure of an older
execution never lands on a newer incident. The opener writes its own record with the opening, fresh; a close
removes them (they say what an open incident is about), so a resolved item is the same whichever failures were
delivered after the success. An item without `stages_recorded` was opened before Warden recorded stages: what it
is about is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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


@dataclass(frozen=True)
class Failure:
    """Where one failure event says its execution failed, as recorded on the incident."""

    execution: str  # the execution (the event's id when it names none)
    stage: str | None = None  # None: unknown (a pipeline FAILED event says no stage)
    deployment: bool = False  # a CodeDeploy deployment failed or was rolled back, or a rollback started

    def placed(self, stage: str | None) -> Failure:
        """The same failure, its stage learnt (from CodePipeline's action executions)."""
        return replace(self, stage=stage) if stage and not self.deployment else self


RECORD_SETS = ("failed_stages", "stage_known", "stage_unknown", "deployments_failed")


def _record(failure: Failure) -> dict[str, dict[str, Any]]:
    """The string sets a failure adds to: attribute -> DynamoDB value."""
    if failure.deployment:
        return {"deployments_failed": {"SS": [failure.execution]}}
    if failure.stage:
        return {"failed_stages": {"SS": [failure.stage]}, "stage_known": {"SS": [failure.execution]}}
    return {"stage_unknown": {"SS": [failure.execution]}}


def _adding(record: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """`ADD a :rec0, b :rec1` and its values."""
    names = sorted(record)
    return ("ADD " + ", ".join(f"{name} :rec{i}" for i, name in enumerate(names)),
            {f":rec{i}": record[name] for i, name in enumerate(names)})


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
             summary: str, failure: Failure | None = None) -> Incident | None:
        """The incident this failure event must notify: newly opened, still owned by this event and not
        notified, or taken over from an owner that died. None: it folds into an open incident (where it failed
        is recorded on it), or it is older than the pipeline's latest success (nothing is written).
        `failure`: where it failed (by default: in an unknown stage of `execution_id`)."""
        failure = failure or Failure(execution_id or event_id)
        record = _record(failure)
        claimed = iso(now())
        fresh = {f":set{i}": record[name] for i, name in enumerate(sorted(record))}
        try:
            item = self._ddb.update_item(
                TableName=self._table, Key=_key(key), ReturnValues="ALL_NEW",
                # The opening failure's record replaces whatever an earlier incident of the key left.
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                UpdateExpression="SET #s = :open, dedup_key = :key, #o = :me, claimed_at = :now, #n = :false, "
                                 "opened_at = :at, execution_id = :exec, summary = :summary, stages_recorded = :true"
                                 + "".join(f", {name} = :set{i}" for i, name in enumerate(sorted(record)))
                                 + f" REMOVE {DONE_ATTR}, resolved_at, resolved_by, page_failed"
                                 + "".join(f", {name}" for name in RECORD_SETS if name not in record),
                ConditionExpression="(attribute_not_exists(#s) OR #s = :resolved) AND "
                                    "(attribute_not_exists(last_success_at) OR last_success_at < :at)",
                ExpressionAttributeNames={"#s": "status", "#o": "owner", "#n": "notified"},
                ExpressionAttributeValues={":open": {"S": "open"}, ":resolved": {"S": "resolved"},
                                           ":key": {"S": key}, ":me": {"S": event_id}, ":now": {"S": claimed},
                                           ":false": {"BOOL": False}, ":at": {"S": iso(at)}, ":true": {"BOOL": True},
                                           ":exec": {"S": execution_id or ""}, ":summary": {"S": summary[:500]},
                                           **fresh},
            )["Attributes"]
        except self._conditional() as exc:
            # The item as it was (ReturnValuesOnConditionCheckFailure): which of the two a failure that does not
            # open is, without reading it again: one write either way, as the claim's take-over was before.
            old = getattr(exc, "response", {}).get("Item") or {}
            item = self._fold(key, event_id, claimed, at, record, old)
        return _incident(key, item) if item else None

    def _fold(self, key: str, event_id: str, claimed: str, at: datetime, record: dict[str, dict[str, Any]],
              old: dict[str, Any]) -> dict[str, Any] | None:
        """A failure that did not open the incident: nothing when it is older than the latest success (an
        earlier incident's, or delivered late); else its record is added to the open incident, with the
        notifications' claim when they are owed and their owner died (or it is this event's retry)."""
        success = old.get("last_success_at", {}).get("S")
        if success is not None and success >= iso(at):
            return None
        # Without the item (an answer that left it out), the take-over is tried as before: its write decides.
        if not old or (old.get("status", {}).get("S") == "open" and self._may_take_over(old, event_id)):
            item = self._take_over(key, event_id, claimed, record)
            if item is not None:
                return item
        self._add(key, record, at)
        return None

    @staticmethod
    def _may_take_over(old: dict[str, Any], event_id: str) -> bool:
        """The take-over's condition, on the item as it was (the write checks it again)."""
        stale = iso(now() - timedelta(seconds=CLAIM_SECONDS))
        return old.get("notified", {}).get("BOOL") is False and (
            old.get("owner", {}).get("S") == event_id or "page_failed" in old or "claimed_at" not in old
            or old["claimed_at"].get("S", "") < stale)

    def _take_over(self, key: str, event_id: str, claimed: str,
                   record: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        stale = iso(now() - timedelta(seconds=CLAIM_SECONDS))
        add, values = _adding(record)
        try:
            return self._ddb.update_item(
                TableName=self._table, Key=_key(key), ReturnValues="ALL_NEW",
                UpdateExpression=f"SET #o = :me, claimed_at = :now {add}",
                # A page that failed (refused, or failed past every retry) is retried by the next failure
                # event whoever owned it: the incident is not told until on-call is paged.
                ConditionExpression="#s = :open AND #n = :false AND (#o = :me OR attribute_exists(page_failed) "
                                    "OR attribute_not_exists(claimed_at) OR claimed_at < :stale)",
                ExpressionAttributeNames={"#s": "status", "#o": "owner", "#n": "notified"},
                ExpressionAttributeValues={":open": {"S": "open"}, ":false": {"BOOL": False},
                                           ":me": {"S": event_id}, ":now": {"S": claimed}, ":stale": {"S": stale},
                                           **values},
            )["Attributes"]
        except self._conditional():
            return None

    def record(self, key: str, failure: Failure, *, at: datetime) -> bool:
        """Add where a failure at `at` failed to the open incident of `key` (one UpdateItem, `ADD` to string
        sets: any order, any number of deliveries, the same sets). Nothing when no incident is open or the
        failure is older than the latest success (False). A failed write raises: the event is retried, and
        dead-lettered past its retries, rather than its stage lost."""
        return self._add(key, _record(failure), at)

    def _add(self, key: str, record: dict[str, dict[str, Any]], at: datetime) -> bool:
        add, values = _adding(record)
        try:
            self._ddb.update_item(
                TableName=self._table, Key=_key(key), UpdateExpression=add,
                ConditionExpression="#s = :open AND (attribute_not_exists(last_success_at) OR last_success_at < :at)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":open": {"S": "open"}, ":at": {"S": iso(at)}, **values})
        except self._conditional():
            return False  # no incident open, or the failure is older than the pipeline's latest success
        return True

    def current(self, key: str) -> dict[str, Any] | None:
        """The open incident of `key` (its opening time, execution and summary), None when none is open: what
        the deployment gate's automatic freeze reads (one consistent GetItem, nothing written)."""
        item = self._ddb.get_item(TableName=self._table, Key=_key(key), ConsistentRead=True).get("Item") or {}
        if item.get("status", {}).get("S") != "open":
            return None
        sets = {name: frozenset(item.get(name, {}).get("SS", [])) for name in RECORD_SETS}
        return {"opened_at": item.get("opened_at", {}).get("S", ""),
                "execution_id": item.get("execution_id", {}).get("S") or None,
                "summary": item.get("summary", {}).get("S", ""),
                # What it is about (the module's docstring): stages, executions in doubt, deployments.
                "recorded": bool(item.get("stages_recorded", {}).get("BOOL")),
                "failed_stages": sets["failed_stages"],
                "stage_unknown": sets["stage_unknown"] - sets["stage_known"],
                "deployments_failed": sets["deployments_failed"]}

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
                # What the incident was about goes with it: a resolved item is the same whichever failures
                # were delivered after the success (those record nothing).
                UpdateExpression="SET #s = :resolved, resolved_at = :now, resolved_by = :me "
                                 "REMOVE " + ", ".join(RECORD_SETS),
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
