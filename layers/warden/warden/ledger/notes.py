"""Facts other functions add to an execution's ledger item: RollbackTrigger's cause of a rollback, on the
release rolled back and on the rollback execution.

Plain SETs of the given values, no condition: a redelivery writes the same item, and the writer of the
execution's own events (warden.ledger.recorder) never removes these attributes, whichever arrives first.
"""

from __future__ import annotations

from typing import Any

from warden.aws.dynamodb import to_av
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
