"""powertools Idempotency on DynamoDB, with one addition: an in-progress record names the invocation that
wrote it, so a lost answer to that write never costs the event.

When the answer to the in-progress PutItem is lost (the write happened), botocore's retry, and Lambda's own
retries of the event, find that record "in progress" and powertools refuses them until it expires: an alarm
would be dead-lettered having done nothing. The record carries `claimed_by`, the Lambda request id, which
Lambda keeps across its retries of one event; a record this invocation claimed is no other invocation's work
in progress (Lambda retries only after an attempt ended), so it is taken as written and the work goes on.
"""

from __future__ import annotations

from typing import Any

from warden.core.log import logger

CLAIMED_BY = "claimed_by"  # the request id of the invocation whose in-progress record it is


class ClaimingClient:
    """The idempotency store's DynamoDB client: an item it puts names the invocation that wrote it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.owner = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def put_item(self, **request: Any) -> Any:
        if self.owner:
            request["Item"] = {**request["Item"], CLAIMED_BY: {"S": self.owner}}
        return self._client.put_item(**request)


def owned_store(table: str, dynamodb: Any) -> Any:
    """A DynamoDBPersistenceLayer on `table` that recognises its own in-progress record (set
    `store.client.owner` to the invocation's request id before each call)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyItemAlreadyExistsError

    class OwnedStore(DynamoDBPersistenceLayer):
        def _put_record(self, data_record: Any) -> None:
            try:
                super()._put_record(data_record)
            except IdempotencyItemAlreadyExistsError as exc:
                if not self._claimed_by_me(data_record, exc):
                    raise
                logger.info("idempotency record in progress is this invocation's own (a lost answer): going on",
                            extra={"idempotency_key": data_record.idempotency_key})

        def _claimed_by_me(self, data_record: Any, exc: Exception) -> bool:
            owner = getattr(self.client, "owner", "")
            old = exc.old_data_record
            if not owner or (old is not None and old.status != "INPROGRESS"):
                return False
            item = getattr(exc.__cause__, "response", {}).get("Item") or self.client.get_item(
                TableName=self.table_name, Key=self._get_key(data_record.idempotency_key),
                ConsistentRead=True).get("Item") or {}
            return item.get(self.status_attr, {}).get("S") == "INPROGRESS" and \
                item.get(CLAIMED_BY, {}).get("S") == owner

    return OwnedStore(table_name=table, boto3_client=ClaimingClient(dynamodb))
