"""The ledger's running executions, for the slow-execution sweep (warden.health.slow).

The sparse running index (gsi4, see warden.ledger.keys): an execution is in it from its STARTED status until
a terminal one, sorted by start. The sweep reads only the part started before its earliest threshold, claims
each notice on the execution item with a conditional write that also requires the item to be still in the
index (two sweeps at once send it once; a finished execution is never called slow; the same sweep id takes
its own claim again on Lambda's retry), and takes an execution whose end was never seen out of the index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from warden.aws.dynamodb import from_item
from warden.core.clock import parse_iso
from warden.ledger.keys import APPROVAL_PREFIX, RUNNING_GSI4PK, RUNNING_INDEX


class RunningExecutions:
    def __init__(self, dynamodb: Any, table: str) -> None:
        """`table`: the ledger."""
        self._ddb = dynamodb
        self._table = table

    def started_before(self, before: str) -> list[dict[str, Any]]:
        """Running executions started before `before` (ISO), oldest first (one Query page per 1 MB)."""
        request: dict[str, Any] = {
            "TableName": self._table, "IndexName": RUNNING_INDEX,
            "KeyConditionExpression": "gsi4pk = :running AND gsi4sk < :before",
            "ExpressionAttributeValues": {":running": {"S": RUNNING_GSI4PK}, ":before": {"S": before}}}
        items = []
        while True:
            page = self._ddb.query(**request)
            items += [from_item(i) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim_slow(self, item: dict[str, Any], owner: str) -> bool:
        """The right to send this execution's slow notice: False when another sweep has it, or the
        execution has just finished."""
        try:
            self._ddb.update_item(
                TableName=self._table, Key=_key(item), UpdateExpression="SET slow_owner = :me, slow_sent = :false",
                ConditionExpression="gsi4pk = :running AND (attribute_not_exists(slow_owner) OR "
                                    "(slow_owner = :me AND slow_sent = :false))",
                ExpressionAttributeValues={":me": {"S": owner}, ":false": {"BOOL": False},
                                           ":running": {"S": RUNNING_GSI4PK}})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def slow_sent(self, item: dict[str, Any]) -> None:
        self._ddb.update_item(TableName=self._table, Key=_key(item), UpdateExpression="SET slow_sent = :true",
                              ExpressionAttributeValues={":true": {"BOOL": True}})

    def set_aside(self, item: dict[str, Any]) -> None:
        """An item that cannot be read leaves the index (once), so that no later sweep trips on it."""
        if isinstance(item.get("pk"), str) and isinstance(item.get("sk"), str):
            self._ddb.update_item(TableName=self._table, Key=_key(item), UpdateExpression="REMOVE gsi4pk, gsi4sk")

    def forget(self, item: dict[str, Any]) -> bool:
        """Out of the index, unless it moved on meanwhile (a late event): False then."""
        try:
            self._ddb.update_item(TableName=self._table, Key=_key(item), UpdateExpression="REMOVE gsi4pk, gsi4sk",
                                  ConditionExpression="gsi4sk = :sk",
                                  ExpressionAttributeValues={":sk": {"S": item["gsi4sk"]}})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True


def started_of(item: dict[str, Any]) -> datetime:
    """When a running execution started (its place in the index)."""
    return parse_iso(item["gsi4sk"].split("#", 1)[0])


def approvals_decided(item: dict[str, Any]) -> list[datetime]:
    """When the execution's manual approvals were decided (ledger `approval:<stage>:<action>` attributes)."""
    return [parse_iso(v["at"]) for k, v in item.items()
            if k.startswith(APPROVAL_PREFIX) and isinstance(v, dict) and v.get("at")]


def _key(item: dict[str, Any]) -> dict[str, Any]:
    return {"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}}
