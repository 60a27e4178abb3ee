"""The people who decided an approval from chat, on the execution's ledger item, and who the execution's
own people are (its starter and commit author), for the approvers policy's self-approval rule.

CodePipeline records the caller of PutApprovalResult (`updatedBy`): for a decision made from chat that is
Warden's gateway role, not the person. The person is written here, beside the approval CodePipeline's event
records (`approval:<stage>:<action>`), as `approval_person:<stage>:<action>`: a plain SET of the same
values, no condition, so a retried decision writes the same item, and the event's own write
(warden.ledger.recorder), whichever comes first, never removes it. Readers fold it into the approval
(warden.ledger.view): the ledger's approver is then the person, with the channel they decided in.
"""

from __future__ import annotations

from typing import Any

from warden.aws.dynamodb import from_item, to_av
from warden.ledger.keys import execution_key

PERSON_PREFIX = "approval_person:"


def person_attr(stage: str, action: str) -> str:
    return f"{PERSON_PREFIX}{stage}:{action}"


class ChatApprovers:
    def __init__(self, dynamodb: Any, table: str) -> None:
        """`table`: the ledger."""
        self._ddb = dynamodb
        self._table = table

    def _key(self, pipeline: str, execution_id: str) -> dict[str, Any]:
        return {k: {"S": v} for k, v in execution_key(pipeline, execution_id).items()}

    def record(self, pipeline: str, execution_id: str, stage: str, action: str, person: dict[str, Any]) -> None:
        """`person`: {"slack_id", "email", "name", "channel", "decision", "at", "reason", "approvals": [...]}."""
        self._ddb.update_item(TableName=self._table, Key=self._key(pipeline, execution_id),
                              UpdateExpression="SET #p = :p",
                              ExpressionAttributeNames={"#p": person_attr(stage, action)},
                              ExpressionAttributeValues={":p": to_av({k: v for k, v in person.items() if v})})

    def people(self, pipeline: str, execution_id: str) -> dict[str, Any] | None:
        """What the ledger knows of the execution's people: `author`, `author_email`, `trigger_detail` (the
        starter's ARN for a manual start); None when the ledger has no record of the execution."""
        item = self._ddb.get_item(TableName=self._table, Key=self._key(pipeline, execution_id),
                                  ConsistentRead=True,
                                  ProjectionExpression="author, author_email, trigger_detail, trigger_type").get("Item")
        return None if item is None else from_item(item)
