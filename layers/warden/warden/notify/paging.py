"""Whether paging works: the reason PagerDuty (or its secret) last refused a page, kept on one item of the
state table, so that the team is told once per change of reason, not once per refused page.

A refused page (PagerDuty's 4xx, a routing-key secret without a usable key) cannot be fixed by a retry:
somebody has to fix the integration or the secret. Whoever pages records the reason with a conditional
write that only succeeds when the reason changed; the one delivery that wins tells the team (the
notifier publishes it), and a later refusal for the same reason adds only to the `PagingBroken` metric
and the log. The first page PagerDuty accepts clears the reason, so that a later breakage is told again.
A publish of the notice that fails gives the reason back (`forget`), so a retry tells it.
Every write here is bookkeeping beside a page: a failure of it is logged, never costs the page.
"""

from __future__ import annotations

from typing import Any

from warden.core.clock import iso, now
from warden.core.log import logger
from warden.core.text import LIMITS, clean

KEY = {"pk": {"S": "pipeline-warden/paging"}, "sk": {"S": "health"}}


class PagingHealth:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def refused(self, reason: str) -> bool:
        """Record that paging is broken for `reason`; True when that is news (the reason changed)."""
        reason = clean(reason, LIMITS["error"])
        try:
            self._ddb.update_item(
                TableName=self._table, Key=KEY, UpdateExpression="SET reason = :r, broken_since = :now",
                ConditionExpression="attribute_not_exists(reason) OR reason <> :r",
                ExpressionAttributeValues={":r": {"S": reason}, ":now": {"S": iso(now())}})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        except Exception as exc:  # noqa: BLE001 (told anyway: a second notice beats none)
            logger.warning("paging health not recorded", extra={"error": f"{type(exc).__name__}: {exc}"[:500]})
        return True

    def forget(self, reason: str) -> None:
        """The notice of `reason` did not go out: the next refusal tells it."""
        self._clear("reason = :r", {":r": {"S": clean(reason, LIMITS["error"])}})

    def works(self) -> None:
        """A page was accepted: a later refusal is news again."""
        self._clear("attribute_exists(reason)", {})

    def _clear(self, condition: str, values: dict[str, Any]) -> None:
        try:
            self._ddb.update_item(TableName=self._table, Key=KEY, UpdateExpression="REMOVE reason, broken_since",
                                  ConditionExpression=condition, **(
                                      {"ExpressionAttributeValues": values} if values else {}))
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return
        except Exception as exc:  # noqa: BLE001 (bookkeeping: the page itself went out)
            logger.warning("paging health not cleared", extra={"error": f"{type(exc).__name__}: {exc}"[:500]})
