"""Facts other functions add to an execution's ledger item: RollbackTrigger's cause of a rollback, on the
release rolled back and on the rollback execution; the alarm that fired in a release's bake window when Warden
did not roll it back (`alarm_in_bake`); CodeDeploy's own rollback of the release's deployment
(`codedeploy_rollback`). warden.ledger.changes reads them.

`add`: plain SETs of the given values, no condition: a redelivery writes the same item, and the writer of the
execution's own events (warden.ledger.recorder) never removes these attributes, whichever arrives first.
`earliest`: one fact several events may each claim (two transitions of an alarm in one bake window): the
earliest by its ordering fields is kept, by a condition, so the item holds the same fact whatever order the
events came in and however often each is delivered.
"""

from __future__ import annotations

from typing import Any

from warden.aws.dynamodb import to_av
from warden.core.log import logger
from warden.ledger.keys import execution_key


class LedgerNotes:
    def __init__(self, dynamodb: Any, table: str) -> None:
        """`table`: the ledger."""
        self._ddb = dynamodb
        self._table = table

    def add(self, pipeline: str, execution_id: str, fields: dict[str, Any]) -> None:
        """Set `fields` (None values left out) on the execution's item, creating it if it is not there yet."""
        fields = {k: v for k, v in fields.items() if v is not None}
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {f":f{i}": to_av(v) for i, v in enumerate(fields.values())}
        self._ddb.update_item(TableName=self._table, Key={k: {"S": v} for k, v in execution_key(
            pipeline, execution_id).items()}, UpdateExpression="SET " + ", ".join(f"{n} = :f{n[2:]}" for n in names),
            ExpressionAttributeNames=names, ExpressionAttributeValues=values)

    def earliest(self, pipeline: str, execution_id: str, name: str, value: dict[str, Any],
                 order: tuple[str, ...]) -> bool:
        """Set fact `name` to `value` unless the item holds one that comes first by `order` (the values of those
        fields, compared in turn; each must be in `value`). True when `value` is now the fact."""
        names = {"#n": name} | {f"#o{i}": field for i, field in enumerate(order)}
        values = {":v": to_av({k: v for k, v in value.items() if v is not None})} | {
            f":o{i}": to_av(value[field]) for i, field in enumerate(order)}
        later = []  # value comes before the stored fact: equal on the first i fields, earlier on the next
        for i in range(len(order)):
            equal = [f"#n.#o{j} = :o{j}" for j in range(i)]
            later.append("(" + " AND ".join([*equal, f"#n.#o{i} > :o{i}"]) + ")")
        try:
            self._ddb.update_item(
                TableName=self._table, Key={k: {"S": v} for k, v in execution_key(pipeline, execution_id).items()},
                UpdateExpression="SET #n = :v", ConditionExpression=" OR ".join(["attribute_not_exists(#n)", *later]),
                ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        except Exception as exc:  # noqa: BLE001 - only the condition's refusal is an answer
            if getattr(exc, "response", {}).get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            logger.info("an earlier fact is kept", extra={"fact": name, "execution": execution_id})
            return False
        return True
