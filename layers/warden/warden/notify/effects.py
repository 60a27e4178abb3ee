"""Notification effects done exactly once, each channel on its own.

An effect is one publish to one audience topic, or one page trigger or resolve. Each has a name
(`sns:oncall`, `page:trigger:<dedup key>`), and the names of those that happened are kept as a string
set on one item of the state table: the item that owns the notification (an incident, an approval), or
an item of its own (`EffectLog.load`). A name is added right after its effect succeeded, so a Lambda
retry, a later delivery that takes a dead one's claim over, or a dead-letter redrive reads the set and
redoes only what did not happen. The one window left is a marker write that fails (it gets a second round
of retries first, the effect being done) or whose answer is lost: the effect is then done once more on
the retry (one extra message per failed attempt, never one less).

Channels are independent: every pending effect is attempted whatever happened to the others, and only
then are failures raised (`Delivery.check`): a transient one as `EffectsIncomplete` (Lambda retries the
event; what is done is skipped), a permanent one (PagerDuty's 400, a malformed secret) as
`EffectsRefused`, which dead-letters the event with the reason at once. Either is logged and counted
(`PublishFailures`, `PageFailures`) the moment it happens, so a paging outage is never silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from warden.core.clock import now
from warden.core.errors import PermanentError
from warden.core.log import logger

DONE_ATTR = "effects_done"
KEEP_EFFECTS = timedelta(days=14)  # as long as a dead-letter queue keeps the event for a redrive
# Longer than any function's timeout (the longest is 120 s): a claim older than this belongs to an
# invocation that has ended, so another delivery may take over what it left undone.
CLAIM_SECONDS = 300
# SNS answers these when the request itself is wrong: retrying the same publish cannot succeed.
PERMANENT_AWS_CODES = frozenset({"InvalidParameter", "InvalidParameterValue", "ValidationException",
                                 "NotFound", "NotFoundException", "AuthorizationError", "KMSDisabled",
                                 "KMSNotFound", "KMSInvalidState", "InvalidSecurity", "ParameterValueInvalid"})


class EffectsIncomplete(Exception):
    """Some effect failed for a reason that may pass: let Lambda retry; done effects are skipped."""


class EffectsRefused(PermanentError):
    """Some effect can never succeed as asked (the reason says why); the others went out."""


def is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, PermanentError):
        return True
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") in PERMANENT_AWS_CODES


class EffectLog:
    """The effects already done for one notification, and where to record the next ones."""

    def __init__(self, dynamodb: Any, table: str, key: dict[str, str], done: set[str] | None = None,
                 attr: str = DONE_ATTR, keep_until: int | None = None) -> None:
        self._ddb = dynamodb
        self._table = table
        self._key = {k: {"S": v} for k, v in key.items()}
        self._attr = attr
        self._keep_until = keep_until  # TTL (epoch seconds) of an item of its own; an owner's item has its own
        self.done: set[str] = set(done or ())

    @classmethod
    def load(cls, dynamodb: Any, table: str, scope: str) -> EffectLog:
        """The log of a notification that has no item of its own (one consistent read)."""
        key = {"pk": f"effects#{scope}", "sk": "effects"}
        item = dynamodb.get_item(TableName=table, Key={k: {"S": v} for k, v in key.items()},
                                 ConsistentRead=True).get("Item", {})
        keep = int((now() + KEEP_EFFECTS).timestamp())
        return cls(dynamodb, table, key, set(item.get(DONE_ATTR, {}).get("SS", [])), keep_until=keep)

    def mark(self, name: str) -> None:
        update, values = "ADD #d :n", {":n": {"SS": [name]}}
        if self._keep_until is not None:
            update, values[":ttl"] = update + " SET expires_at = :ttl", {"N": str(self._keep_until)}
        request = {"TableName": self._table, "Key": self._key, "UpdateExpression": update,
                   "ExpressionAttributeNames": {"#d": self._attr}, "ExpressionAttributeValues": values}
        try:
            self._ddb.update_item(**request)
        except Exception as exc:  # noqa: BLE001 (re-raised below unless the second round succeeds)
            if is_permanent(exc):
                raise
            # The effect is done: a marker lost now costs a duplicate message on the retry, so it is worth
            # a second round of botocore's retries before the invocation fails (ADD to a set: idempotent).
            logger.warning("effect marker write failed: trying once more", extra={
                "effect": name, "error": f"{type(exc).__name__}: {exc}"[:500]})
            self._ddb.update_item(**request)
        self.done.add(name)


class MemoryLog(EffectLog):
    """No table to record in (a caller without state): effects are at least once within this call."""

    def __init__(self) -> None:
        self.done = set()

    def mark(self, name: str) -> None:
        self.done.add(name)


@dataclass
class Delivery:
    """What one `Notifier.deliver` did; `check()` raises what failed, once everything was tried."""

    sent: list[str] = field(default_factory=list)  # audiences published to (now or before)
    paged: bool = False
    resolved: bool = False
    failures: list[tuple[str, BaseException]] = field(default_factory=list)

    @property
    def page_failed(self) -> str | None:
        """Why the page was not triggered (refused or failed), None when it was or none was asked: the
        owner of the notification must not count it as told (warden.router.incidents)."""
        return next((f"{type(exc).__name__}: {exc}" for name, exc in self.failures
                     if name.startswith("page:trigger:")), None)

    @property
    def complete(self) -> bool:
        """Nothing is left that a retry could still do (a permanent refusal is not retried)."""
        return all(is_permanent(exc) for _, exc in self.failures)

    def check(self) -> None:
        if not self.failures:
            return
        reasons = "; ".join(f"{name}: {type(exc).__name__}: {exc}" for name, exc in self.failures)
        if self.complete:
            raise EffectsRefused(reasons)
        raise EffectsIncomplete(reasons)


def count_failure(effect: str, exc: BaseException) -> None:
    """Log and count a failed effect the moment it fails (the event may still end in success later)."""
    metric = "PageFailures" if effect.startswith("page:") else "PublishFailures"
    logger.error("notification effect failed", extra={"effect": effect, "metric": metric,
                                                       "permanent": is_permanent(exc),
                                                       "error": f"{type(exc).__name__}: {exc}"[:1000]})
    try:
        from aws_lambda_powertools import Metrics

        Metrics().add_metric(name=metric, unit="Count", value=1)  # the handler's Metrics flushes it
    except Exception:  # noqa: BLE001 (a metric must never cost the notification)
        logger.debug("metric not recorded", extra={"metric": metric})
