"""One page per incident: failures of a pipeline fold into one open incident until it recovers.

An incident is one item in the state table, opened by whichever failure event of an execution
arrives first (action, stage or pipeline FAILED, a rollback), with a conditional write so that
concurrent deliveries cannot both open it. The opener keeps ownership until its notifications
went out, so a failed page is retried by Lambda instead of being lost.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from warden.core.clock import iso, now


@dataclass(frozen=True)
class Incident:
    key: str
    dedup_key: str
    execution_id: str | None = None


def incident_key(*, account: str, region: str, pipeline: str | None = None, application: str | None = None,
                 deployment_group: str | None = None) -> str:
    if pipeline:
        return f"pipeline-warden/{account}/{region}/pipeline/{pipeline}"
    return f"pipeline-warden/{account}/{region}/codedeploy/{application}/{deployment_group}"


class Incidents:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def open(self, key: str, *, event_id: str, execution_id: str | None, summary: str) -> bool:
        """True when this event opens the incident (or owns it and has not notified yet)."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={"pk": {"S": key}, "sk": {"S": "incident"}, "status": {"S": "open"},
                      "dedup_key": {"S": key}, "owner": {"S": event_id}, "notified": {"BOOL": False},
                      "opened_at": {"S": iso(now())}, "execution_id": {"S": execution_id or ""},
                      "summary": {"S": summary}},
                ConditionExpression="attribute_not_exists(pk) OR #s = :resolved OR (#o = :me AND #n = :false)",
                ExpressionAttributeNames={"#s": "status", "#o": "owner", "#n": "notified"},
                ExpressionAttributeValues={":resolved": {"S": "resolved"}, ":me": {"S": event_id},
                                           ":false": {"BOOL": False}},
            )
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def notified(self, key: str) -> None:
        self._ddb.update_item(TableName=self._table, Key=_key(key), UpdateExpression="SET #n = :true",
                              ExpressionAttributeNames={"#n": "notified"},
                              ExpressionAttributeValues={":true": {"BOOL": True}})

    def open_incident(self, key: str) -> Incident | None:
        item = self._ddb.get_item(TableName=self._table, Key=_key(key), ConsistentRead=True).get("Item")
        if not item or item["status"]["S"] != "open":
            return None
        return Incident(key=key, dedup_key=item["dedup_key"]["S"], execution_id=item["execution_id"]["S"] or None)

    def close(self, key: str, *, event_id: str) -> None:
        """Mark resolved; called after the page is resolved, so a failure there is retried."""
        # A concurrent delivery may have resolved it already: that is the same outcome.
        with contextlib.suppress(self._ddb.exceptions.ConditionalCheckFailedException):
            self._ddb.update_item(
                TableName=self._table, Key=_key(key),
                UpdateExpression="SET #s = :resolved, resolved_at = :at, resolved_by = :me",
                ConditionExpression="#s = :open",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":resolved": {"S": "resolved"}, ":open": {"S": "open"},
                                           ":at": {"S": iso(now())}, ":me": {"S": event_id}},
            )


def _key(key: str) -> dict[str, Any]:
    return {"pk": {"S": key}, "sk": {"S": "incident"}}
