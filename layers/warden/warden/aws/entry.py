"""The one way an event-driven function handles an invocation: parse -> idempotency -> guard -> log.

Every delivery (an EventBridge event, each record of an SNS event, a scheduled event) is parsed into
its typed model, then handed to the domain at most once per delivery id through powertools
Idempotency (a redelivery returns the stored result and changes nothing), inside `Container.guard`
(an invalid input or a permanent refusal is dead-lettered at once, anything else is raised for Lambda
to retry), and every result is logged. A function whose domain converges by itself under redelivery
(the ledger) opts out of the idempotency store and saves its calls.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from warden.aws.container import Container, Outcome
from warden.core.log import logger


def deliveries(event: Any) -> list[tuple[str, Any]]:
    """(delivery id, typed input) for an EventBridge event, or for each record of an SNS event: the id
    that idempotency keys on is the event's id or the SNS message id. Imported on first use, so that a
    handler module's import does not pay for the models."""
    if isinstance(event, dict) and "Records" in event:
        from warden.models import parse_sns_event

        parsed = parse_sns_event(event)
        return [(record["Sns"]["MessageId"], p) for record, p in zip(event["Records"], parsed, strict=True)]
    from warden.models import parse_event

    model = parse_event(event)
    return [(model.id, model)]


def scheduled(event: Any) -> list[tuple[str, Any]]:
    """A scheduled event: its id is the delivery (a retried invocation is the same sweep)."""
    from warden.models import InvalidEvent

    if not (isinstance(event, dict) and isinstance(event.get("id"), str) and event["id"]):
        raise InvalidEvent("a scheduled event carries an id")
    return [(event["id"], event)]


class Entry:
    """`Entry(container, work)(event, context)` -> Outcome.

    `work()` returns the domain callable (built on first use, once per container) that takes one typed
    input (and its delivery id, with `with_id`) and returns its result; `report(result)` is what is
    logged (default: the result itself).
    """

    def __init__(self, container: Container, work: Callable[[], Callable[..., Any]], *,
                 parse: Callable[[Any], list[tuple[str, Any]]] = deliveries, idempotent: bool = True,
                 with_id: bool = False, message: str = "handled",
                 report: Callable[[Any], Any] | None = None, skip: Callable[[Any], Any] | None = None) -> None:
        self.container = container
        self._work = work
        self._with_id = with_id
        self._parse = parse
        self._idempotent = idempotent
        self._message = message
        self._report = report or (lambda result: result)
        # `skip(parsed)`: a result for an input that changes nothing (no idempotency record needed), else None.
        self._skip = skip

    def _handle(self, parsed: Any, delivery_id: str) -> Any:
        handle = self._work()
        return handle(parsed, delivery_id) if self._with_id else handle(parsed)

    @cached_property
    def _once(self) -> Callable[..., Any]:
        # `event` identifies the delivery (its id is the idempotency key); `parsed` is what is handled.
        return self.container.idempotent(lambda event, parsed: self._handle(parsed, event["id"]))

    def _one(self, context: Any, delivery_id: str, parsed: Any) -> Any:
        skipped = self._skip(parsed) if self._skip else None
        if skipped is not None:
            return skipped
        if self._idempotent:
            return self._once(context, event={"id": delivery_id}, parsed=parsed)
        return self._handle(parsed, delivery_id)

    def __call__(self, event: Any, context: Any) -> Outcome:
        outcome = self.container.guard(
            event, lambda: [self._one(context, delivery_id, parsed) for delivery_id, parsed in self._parse(event)])
        for result in outcome.results:
            logger.info(self._message, extra={"result": self._report(result)})
        return outcome


def response(outcome: Outcome, report: Callable[[Any], Any] | None = None) -> Any:
    """What the Lambda returns: the one result, a list of them, or the dead-letter notice."""
    if outcome.dead_lettered is not None:
        return {"status": "dead_lettered", "error": outcome.dead_lettered}
    reported = [report(r) if report else r for r in outcome.results]
    return reported[0] if len(reported) == 1 else reported
