"""Deployments the deployment gate held: written by the gate (warden.freeze.gate) before it answers a deny, read
by NotificationRouter when a failure event arrives, so that a freeze is told to the team once as
`deployment.held`, never paged as an incident (an incident about production would feed the automatic freeze).

In AWS a beforeEntry condition whose result is FAIL fails the stage and the pipeline execution (their FAILED
events follow the rule's PutJobFailureResult; no action of the stage runs), and a CodeDeploy deployment whose
lifecycle hook reported Failed ends FAILED. Those are the gate's answers, not failures of the release.

The items, in the state table, kept a few days (`expires_at`: DynamoDB deletes them after):
- a pipeline execution held at a stage: `HOLD#ACCOUNT/PIPELINE/EXECUTION`, with the stage, the gate's reason and
  when. Written before PutJobFailureResult, so every failure event that follows finds it; a redelivered job
  meets its hold recorded (the write is conditional: the first time of a hold is kept). When the gate later
  lets the same execution into that stage (a retried stage, an override), the hold is released (`released_at`):
  a failure after that is the release's own, and pages; a held failure delivered late (before `released_at`)
  is still the hold's;
- a CodeDeploy deployment: the gate's first answer (`FREEZE#DEPLOYMENT_ID`, written by warden.freeze.store
  `first_answer` with this module's key): a deny there is the hold. A pipeline's CodeDeploy action that ran a
  held deployment fails with it: its failures are read against the deployment's hold (warden.router.router).
One GetItem per failure event reads it (failures are rare; a second for a failed CodeDeploy action of an execution
with no hold); nothing is read for any other event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from warden.core.clock import iso

KEEP_HOLDS = timedelta(days=4)  # longer than EventBridge retries an event (24 h) and a long weekend's retry


def deployment_key(deployment_id: str) -> dict[str, Any]:
    """The key of the gate's first answer for a CodeDeploy deployment (kept by warden.freeze.store)."""
    return {"pk": {"S": f"FREEZE#{deployment_id}"}, "sk": {"S": "deployment"}}


def _execution_key(account: str, pipeline: str, execution_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"HOLD#{account}/{pipeline}/{execution_id}"}, "sk": {"S": "hold"}}


@dataclass(frozen=True)
class Hold:
    stage: str
    reason: str
    held_at: str
    released_at: str | None = None

    def covers(self, at: datetime, stage: str | None) -> bool:
        """Whether a failure at `at` (of `stage`, None: the pipeline's, which names no stage) is this hold's."""
        if stage is not None and stage != self.stage:
            return False
        return self.released_at is None or iso(at) < self.released_at


class Holds:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def _conditional(self) -> type[Exception]:
        return self._ddb.exceptions.ConditionalCheckFailedException

    def hold(self, *, account: str, pipeline: str, execution_id: str, stage: str, reason: str, at: datetime) -> None:
        """Record that the gate denies `execution_id` entry to `stage` (before the deny is answered). A hold of
        the same stage already in force is kept as it is (a redelivered job); a failed write raises."""
        try:
            self._ddb.update_item(
                TableName=self._table, Key=_execution_key(account, pipeline, execution_id),
                UpdateExpression="SET stage = :s, reason = :r, held_at = :at, expires_at = :exp REMOVE released_at",
                ConditionExpression="attribute_not_exists(stage) OR stage <> :s OR attribute_exists(released_at)",
                ExpressionAttributeValues={":s": {"S": stage}, ":r": {"S": reason[:1000]}, ":at": {"S": iso(at)},
                                           ":exp": {"N": str(int((at + KEEP_HOLDS).timestamp()))}})
        except self._conditional():
            pass  # held there already: the first hold's time stands

    def release(self, *, account: str, pipeline: str, execution_id: str, stage: str, at: datetime) -> bool:
        """The gate lets `execution_id` into `stage`: a hold of it there ends now. False when there was none (the
        common case: one conditional write that changes nothing)."""
        try:
            self._ddb.update_item(
                TableName=self._table, Key=_execution_key(account, pipeline, execution_id),
                UpdateExpression="SET released_at = :at",
                ConditionExpression="stage = :s AND attribute_not_exists(released_at)",
                ExpressionAttributeValues={":s": {"S": stage}, ":at": {"S": iso(at)}})
        except self._conditional():
            return False
        return True

    def execution(self, account: str, pipeline: str, execution_id: str) -> Hold | None:
        item = self._ddb.get_item(TableName=self._table, Key=_execution_key(account, pipeline, execution_id),
                                  ConsistentRead=True).get("Item")
        if not item or "stage" not in item:
            return None
        return Hold(stage=item["stage"]["S"], reason=item.get("reason", {}).get("S", ""),
                    held_at=item.get("held_at", {}).get("S", ""),
                    released_at=item.get("released_at", {}).get("S"))

    def deployment(self, deployment_id: str) -> Hold | None:
        """The gate's deny of a CodeDeploy deployment, None when it allowed it or was never asked."""
        item = self._ddb.get_item(TableName=self._table, Key=deployment_key(deployment_id),
                                  ConsistentRead=True).get("Item")
        if not item or item.get("allow", {}).get("BOOL", True):
            return None
        return Hold(stage="", reason=item.get("reason", {}).get("S", ""), held_at=item.get("at", {}).get("S", ""))

