"""The deployment gate's items in the state table: break-glass overrides, the automatic freeze's last told
state, and the gate's first answer per CodeDeploy deployment.

Correct under redelivery and reordering because every write is conditional on what it replaces:
- an override is one item per pipeline stage, with its own TTL (`expires_at`, DynamoDB deletes it after) and
  `until` checked on read (TTL deletion lags); it lets one execution through: the first to `use` it claims
  it (`used_by`), the same execution asking again is let through again, any other is not;
- the automatic freeze's state (`frozen`, its causes) flips only when it changes, with a condition on the old
  value, and a flip is recorded untold (`told` false, with the causes it replaced in `was`). Telling is a
  second, separate claim (`told` false -> true): of any number of deliveries, one claims it and tells the
  team; a telling that fails gives the claim back (`release`), and a flip whose answer was lost is still
  untold, so the next look claims and tells it. At least once, once in the common case
  (tests/faults/test_gate_faults.py);
- a deployment's first answer is kept (conditional put): a later lifecycle hook of the same deployment is
  past the gate and gets the same answer, so a deployment that entered before a freeze finishes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from warden.aws.dynamodb import from_item, to_av
from warden.core import clock
from warden.notify.holds import deployment_key

KEEP = timedelta(days=2)


def _key(kind: str, subject: str) -> dict[str, Any]:
    return {"pk": {"S": f"FREEZE#{subject}"}, "sk": {"S": kind}}


class FreezeStore:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def _conditional(self) -> type[Exception]:
        return self._ddb.exceptions.ConditionalCheckFailedException

    def _get(self, key: dict[str, Any]) -> dict[str, Any]:
        return from_item(self._ddb.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item"))

    # -- break-glass overrides -------------------------------------------------------------------------
    def grant(self, subject: str, *, by: str, reason: str, at: datetime, until: datetime) -> dict[str, Any]:
        """`subject`: ACCOUNT/PIPELINE/STAGE. A new override replaces an older one of the stage."""
        item = {"by": by, "reason": reason, "granted_at": clock.iso(at), "until": clock.iso(until),
                "expires_at": int((until + KEEP).timestamp())}
        self._ddb.put_item(TableName=self._table, Item=_key("override", subject) | {k: to_av(v) for k, v in
                                                                                   item.items()})
        return item

    def override(self, subject: str, at: datetime) -> dict[str, Any] | None:
        item = self._get(_key("override", subject))
        if not item or not item["granted_at"] <= clock.iso(at) < item["until"]:
            return None
        return item

    def use(self, subject: str, override: dict[str, Any], execution_id: str, at: datetime) -> bool:
        """Claim `override` for `execution_id`; False when another execution used it already."""
        try:
            self._ddb.update_item(
                TableName=self._table, Key=_key("override", subject),
                UpdateExpression="SET used_by = :e, used_at = if_not_exists(used_at, :at)",
                ConditionExpression="granted_at = :g AND (attribute_not_exists(used_by) OR used_by = :e)",
                ExpressionAttributeValues={":e": to_av(execution_id), ":g": to_av(override["granted_at"]),
                                           ":at": to_av(clock.iso(at))})
        except self._conditional():
            return False
        return True

    # -- the automatic freeze's told state ---------------------------------------------------------------
    def flip(self, subject: str, *, frozen: bool, causes: str, at: datetime, expires: datetime | None = None) -> bool:
        """Record that the automatic freeze of `subject` is now `frozen`, untold. True when there is a change to
        `frozen` to tell: this one, or an earlier one still untold (its telling failed, or its flip's answer was
        lost); False when it was so already and told, so that the common look costs this one call, no claim.
        `expires`: when DynamoDB may delete the item (a subject of its own time, such as an hour's error notice,
        is never looked at again after it); None keeps it (a stage's freeze state lives as long as the stage)."""
        condition = "attribute_not_exists(frozen) OR frozen = :was" if frozen else "frozen = :was"
        values = {":now": to_av(frozen), ":c": to_av(causes), ":at": to_av(clock.iso(at)), ":was": to_av(not frozen),
                  ":none": to_av(""), ":no": to_av(False)}
        update = "SET frozen = :now, was = if_not_exists(causes, :none), causes = :c, changed_at = :at, told = :no"
        if expires is not None:
            update += ", expires_at = :exp"
            values[":exp"] = to_av(int(expires.timestamp()))
        try:
            self._ddb.update_item(TableName=self._table, Key=_key("automatic", subject), UpdateExpression=update,
                                  ConditionExpression=condition, ExpressionAttributeValues=values,
                                  ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except self._conditional() as exc:
            old = from_item(exc.response.get("Item"))  # what the condition met: no item when never frozen
            return bool(old) and old.get("frozen") is frozen and old.get("told") is False
        return True

    def claim(self, subject: str, *, frozen: bool) -> dict[str, Any] | None:
        """The untold change of `subject` to `frozen`, claimed for telling; None when there is none to tell (told
        already, being told, or the state is not `frozen` any more)."""
        try:
            new = self._ddb.update_item(
                TableName=self._table, Key=_key("automatic", subject), ReturnValues="ALL_NEW",
                UpdateExpression="SET told = :yes", ConditionExpression="frozen = :f AND told = :no",
                ExpressionAttributeValues={":f": to_av(frozen), ":yes": to_av(True), ":no": to_av(False)})
        except self._conditional():
            return None
        return from_item(new.get("Attributes"))

    def release(self, subject: str, changed_at: str) -> None:
        """Telling the change of `changed_at` failed: it is untold again, for the next look (unless it changed)."""
        try:
            self._ddb.update_item(
                TableName=self._table, Key=_key("automatic", subject), UpdateExpression="SET told = :no",
                ConditionExpression="changed_at = :c",
                ExpressionAttributeValues={":c": to_av(changed_at), ":no": to_av(False)})
        except self._conditional():
            pass

    def automatic(self, subject: str) -> dict[str, Any]:
        return self._get(_key("automatic", subject))

    # -- CodeDeploy: a deployment's first answer ---------------------------------------------------------
    def first_answer(self, deployment_id: str, allow: bool, reason: str, at: datetime) -> tuple[bool, str]:
        """The gate's answer for the deployment: this one if it is the first, else the first one given."""
        key = deployment_key(deployment_id)  # warden.notify.holds reads a deny there as the deployment's hold
        try:
            self._ddb.put_item(TableName=self._table, ConditionExpression="attribute_not_exists(pk)",
                               Item=key | {"allow": to_av(allow), "reason": to_av(reason[:1000]),
                                           "at": to_av(clock.iso(at)),
                                           "expires_at": to_av(int((at + KEEP).timestamp()))})
        except self._conditional():
            first = self._get(key)
            return bool(first.get("allow")), str(first.get("reason", ""))
        return allow, reason
