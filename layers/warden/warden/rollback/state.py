"""One item per stage (or deployment group) in the state table: the cooldown claim and the rollback it led to.

Claims are conditional writes keyed on the stage, with the alarm transition's own time: a claim succeeds only
when no rollback of that stage is recorded within the cooldown before it, or when the same transition owns it
already (a retry after a failed call resumes instead of being refused). So however the alarm flaps and however
its events are duplicated or reordered, one stage rolls back at most once per cooldown. The follow-up steps
(the rollback after a stop, the resolution) are guarded by conditions on the recorded execution ids, so a
redelivered pipeline event finds them done and changes nothing.

The claim is also the intent: it records what Warden is about to do (action, release, target; for a stop,
the execution it stops) before the call is made. A retry of the owning transition resumes from that record
and never re-plans from live state (which the first attempt's call may already have changed); it checks
live state only to learn whether the recorded call took effect.

A decision that lacked knowledge (the ledger had not recorded when the release's stage finished) leaves the
transition it skipped on the same item (`awaiting_*`, the earliest such transition kept): the stage's next event
decides it again, once knowledge has arrived. A claim takes the item over and clears it (whatever claims the
stage has decided it); a final decision clears it with a condition on the transition, so a redelivered stage
event finds nothing left to decide.

Marks (`RollbackMarks`) say which executions and deployments are Warden's own: the target of a rollback
(written with the intent, before RollbackStage), the rollback execution, and the deployment Warden stopped.
NotificationRouter reads them so that the rollback execution's STARTED does not page a second time, and
CodeDeploy's rollback of a stopped deployment resolves the page of the rollback that caused it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from warden.aws.dynamodb import from_item, to_av
from warden.core import clock

SK = "rollback"
# What a rollback's progress leaves on the item; a new claim starts without any of it.
AWAITING = ("awaiting_transition", "awaiting_s", "awaiting_alarm", "awaiting_account", "awaiting_region",
            "awaiting_reason", "awaiting_release", "awaiting_mode", "awaiting_since")
PROGRESS = ("acted", "pending_execution", "rollback_execution_id", "refused", "resolved_at", "deployment_id",
            "verified", "decided_on", "decided", *AWAITING)
MARK_KEEP = timedelta(days=2)  # longer than any rollback and its events' redelivery


def state_key(target_key: str) -> dict[str, Any]:
    return {"pk": {"S": f"ROLLBACK#{target_key}"}, "sk": {"S": SK}}


@dataclass
class Claim:
    granted: bool
    item: dict[str, Any]  # the stage's item: the new one when granted, the one in the way when not

    @property
    def resumed(self) -> bool:
        """Granted to a transition that had claimed already (a retry): its recorded progress is valid."""
        return self.granted and bool(self.item.get("acted"))


class RollbackState:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def get(self, target_key: str) -> dict[str, Any]:
        item = self._ddb.get_item(TableName=self._table, Key=state_key(target_key), ConsistentRead=True).get("Item")
        return from_item(item)

    def claim(self, target_key: str, *, transition: str, at: datetime, cooldown_s: float,
              fields: dict[str, Any]) -> Claim:
        at_s = round(at.timestamp(), 3)
        values = {":me": to_av(transition), ":cutoff": to_av(round(at_s - cooldown_s, 3))}
        names = {"#o": "owner", "#t": "claimed_s"}
        sets = {"owner": transition, "claimed_s": at_s, "claimed_at": clock.iso(at), **fields}
        expression = ", ".join(f"#f{i} = :f{i}" for i in range(len(sets)))
        for i, (name, value) in enumerate(sets.items()):
            names[f"#f{i}"] = name
            values[f":f{i}"] = to_av(value)
        try:
            # Only the owner's retry keeps what it recorded (acted, rollback ids); a new claim starts clean.
            answer = self._ddb.update_item(
                TableName=self._table, Key=state_key(target_key),
                UpdateExpression=f"SET {expression}",
                # An item holding only a decision to be made again (no owner) is no claim.
                ConditionExpression="attribute_not_exists(pk) OR attribute_not_exists(#o) OR #o = :me OR "
                                    "#t <= :cutoff",
                ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_OLD")
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return Claim(False, self.get(target_key))
        old = from_item(answer.get("Attributes"))
        if old.get("owner") == transition:
            return Claim(True, old)
        if old:
            self._reset(target_key, transition, old, keep=set(sets))
        return Claim(True, {})

    def _reset(self, target_key: str, transition: str, old: dict[str, Any], keep: set[str]) -> None:
        """A new claim over an expired one: forget the old rollback's progress (its history is in the ledger)."""
        stale = [n for n in PROGRESS if n in old and n not in keep]
        if not stale:
            return
        self._ddb.update_item(
            TableName=self._table, Key=state_key(target_key),
            UpdateExpression="REMOVE " + ", ".join(f"#r{i}" for i in range(len(stale))),
            ConditionExpression="#o = :me", ExpressionAttributeNames={"#o": "owner", **{
                f"#r{i}": n for i, n in enumerate(stale)}},
            ExpressionAttributeValues={":me": to_av(transition)})

    def await_knowledge(self, target_key: str, *, transition: str, at: datetime, fields: dict[str, Any]) -> bool:
        """Keep `transition` to be decided again when knowledge arrives, unless an earlier one is kept already
        (it decides for the stage first, as it would have in order). False when an earlier one is kept."""
        at_s = round(at.timestamp(), 3)
        return self.record(target_key, condition="attribute_not_exists(#awaiting_s) OR #awaiting_s > :me_s",
                           values={":me_s": at_s}, awaiting_transition=transition, awaiting_s=at_s,
                           **{f"awaiting_{k}": v for k, v in fields.items()})

    def awaited(self, target_key: str, transition: str) -> bool:
        """The transition's decision is made: forget it. False when another delivery forgot it first (or a
        claim took the item over): that one made the decision, and this one has nothing left to do."""
        try:
            self._ddb.update_item(
                TableName=self._table, Key=state_key(target_key),
                UpdateExpression="REMOVE " + ", ".join(f"#r{i}" for i in range(len(AWAITING))),
                ConditionExpression="#r0 = :me", ExpressionAttributeNames={f"#r{i}": n for i, n in enumerate(AWAITING)},
                ExpressionAttributeValues={":me": to_av(transition)})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def forget(self, target_key: str, *names: str, owner: str) -> None:
        """REMOVE `names` while `owner` owns the item (a refused stop leaves no execution pending); when another
        transition owns the item now, nothing of this one is left to forget."""
        with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):
            self._ddb.update_item(
                TableName=self._table, Key=state_key(target_key),
                UpdateExpression="REMOVE " + ", ".join(f"#r{i}" for i in range(len(names))),
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner", **{f"#r{i}": n for i, n in enumerate(names)}},
                ExpressionAttributeValues={":me": to_av(owner)})

    def record(self, target_key: str, *, owner: str | None = None, condition: str | None = None,
               values: dict[str, Any] | None = None, **fields: Any) -> bool:
        """SET fields; with `owner`, only while that transition owns the item; `condition` (attribute names as
        `#name`, values as `:name` from `values`) must hold too. False when a condition did not hold."""
        names, vals, sets = {}, {}, []
        for i, (name, value) in enumerate(fields.items()):
            names[f"#f{i}"], vals[f":f{i}"] = name, to_av(value)
            sets.append(f"#f{i} = :f{i}")
        conditions = []
        if owner is not None:
            names["#o"], vals[":me"] = "owner", to_av(owner)
            conditions.append("#o = :me")
        if condition:
            conditions.append(condition)
            vals |= {k: to_av(v) for k, v in (values or {}).items()}
            # Attribute names in `condition` are written `#name` for plain identifiers.
            names |= {f"#{n}": n for n in _names_in(condition)}
        request: dict[str, Any] = {"TableName": self._table, "Key": state_key(target_key),
                                   "UpdateExpression": "SET " + ", ".join(sets),
                                   "ExpressionAttributeNames": names, "ExpressionAttributeValues": vals}
        if conditions:
            request["ConditionExpression"] = " AND ".join(f"({c})" for c in conditions)
        try:
            self._ddb.update_item(**request)
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True


def _names_in(expression: str) -> set[str]:
    import re

    return set(re.findall(r"#([A-Za-z_][A-Za-z0-9_]*)", expression))


def mark_key(account: str, subject: str) -> dict[str, Any]:
    return {"pk": {"S": f"ROLLBACK-OWN#{account}/{subject}"}, "sk": {"S": "mark"}}


class RollbackMarks:
    """Which executions and deployments are Warden's own rollback's (see the module's note). Plain SETs of
    the same values: a retry writes the same item; kept two days (TTL)."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def mark(self, account: str, subject: str, *, at: datetime, **fields: Any) -> None:
        """`subject`: "pipeline/NAME/EXECUTION" (a rollback or its target), "codedeploy/DEPLOYMENT" (a stopped
        deployment), "pipeline-run/NAME/EXECUTION" (the execution whose action ran it) or
        "codedeploy-group/APPLICATION/GROUP"."""
        sets = {"marked_at": clock.iso(at), "expires_at": int((at + MARK_KEEP).timestamp()), **fields}
        self._ddb.update_item(
            TableName=self._table, Key=mark_key(account, subject),
            UpdateExpression="SET " + ", ".join(f"#f{i} = :f{i}" for i in range(len(sets))),
            ExpressionAttributeNames={f"#f{i}": k for i, k in enumerate(sets)},
            ExpressionAttributeValues={f":f{i}": to_av(v) for i, v in enumerate(sets.values())})

    def get(self, account: str, subject: str) -> dict[str, Any]:
        item = self._ddb.get_item(TableName=self._table, Key=mark_key(account, subject),
                                  ConsistentRead=True).get("Item")
        return from_item(item)
