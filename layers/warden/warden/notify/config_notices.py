"""Telling the team of a configuration document that does not validate, once per stored value.

The configuration store calls this on every read of a broken document (warden.runtime.documents.ConfigStore,
`on_invalid`), in every container of every function that reads it. So the notice is claimed first: a
conditional put in the state table keyed on the parameter and the digest of its value. Two containers
reading the same value at once claim it once; a later read of the same value finds the claim and stays
quiet; a new broken value (another edit) is a new claim and is told again. A publish that fails releases
its claim, so the next read (after the store's cache) tells it instead: at least once, and once in the
common case. The claim expires after 90 days; a value still stored then is told again, which is right.

The notice goes to the team with a fixed decision, never through the routing rules: the broken document
may be the routing document itself, and a rule must not be able to mute the news that rules are broken.
"""

from __future__ import annotations

from typing import Any

from warden.core import clock
from warden.core.documents import InvalidDocument
from warden.core.log import logger
from warden.notify.notice import Notice
from warden.notify.rules import Decision

CLAIM_DAYS = 90
DECISION = Decision(("team",), "high", rule="invalid configuration (not routable)")


class ConfigNotices:
    def __init__(self, *, dynamodb: Any, table: str, notifier: Any, account: str, region: str) -> None:
        self._dynamodb = dynamodb
        self._table = table
        self._notifier = notifier
        self._account = account
        self._region = region
        self._told: set[tuple[str, str]] = set()  # this container's: no claim attempted twice

    def __call__(self, invalid: InvalidDocument) -> bool:
        """Tell the team of `invalid` unless it was told already; True when this call told it."""
        seen = (invalid.parameter, invalid.digest)
        if seen in self._told:
            return False
        key = {"pk": {"S": f"config#{invalid.parameter}"}, "sk": {"S": f"invalid#{invalid.digest}"}}
        now = clock.now()
        try:
            self._dynamodb.put_item(
                TableName=self._table, ConditionExpression="attribute_not_exists(pk)",
                Item=key | {"error": {"S": invalid.error[:2000]}, "told_at": {"S": clock.iso(now)},
                            "expires_at": {"N": str(int(now.timestamp()) + CLAIM_DAYS * 86400)}})
        except self._dynamodb.exceptions.ConditionalCheckFailedException:
            self._told.add(seen)
            return False
        notice = Notice(event="config.invalid", event_id=f"config#{invalid.parameter}#{invalid.digest}", time=now,
                        account=self._account, region=self._region, state="INVALID", parameter=invalid.parameter,
                        error=invalid.error, using=invalid.using)
        try:
            self._notifier.deliver(notice, DECISION).check()
        except Exception:
            self._dynamodb.delete_item(TableName=self._table, Key=key)  # the next read tells it
            raise
        self._told.add(seen)
        logger.info("invalid configuration told to the team", extra={"parameter": invalid.parameter})
        return True
