"""The one way an event-driven function handles an invocation: parse -> idempotency -> guard -> log.

Every delivery (an EventBridge event, each record of an SNS event, a scheduled event) is parsed into
its typed model, then handed to the domain at most once per delivery id through powertools
Idempotency (a redelivery returns the stored result and changes nothing), inside `Container.guard`
(an invalid input or a permanent refusal is dead-lettered at once, anything else is raised for Lambda
to retry), and every result is logged. A function whose domain converges by itself under redelivery
(the ledger) opts out of the idempotency store and saves its calls.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cached_property
from typing import Any, NamedTuple

from warden.core.log import logger
from warden.runtime.container import Container, Outcome


class Delivery(NamedTuple):
    """One delivery: its id (what idempotency keys on), its typed input (or the InvalidEvent that says why
    it is not one), and what goes to the dead-letter queue if it cannot be handled (the SNS record, or
    the whole event)."""

    id: str
    parsed: Any
    raw: Any


def digest(value: Any) -> str:
    """A stable digest of a payload: the same content, the same digest (key order aside)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json", by_alias=True)
    body = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=True)
    return hashlib.sha256(body.encode()).hexdigest()


def deliveries(event: Any) -> list[Delivery]:
    """A Delivery for an EventBridge event (or any single input), or for each record of an SNS event:
    the id that idempotency keys on is the event's id or the SNS message id (an input without one, a
    digest of its content). A record that is not valid is a Delivery of its InvalidEvent, so that it is
    dead-lettered alone and the batch's other records are still handled. Imported on first use, so that
    a handler module's import does not pay for the models."""
    from warden.models import InvalidEvent, parse_event, parse_sns_record

    if isinstance(event, dict) and "Records" in event:
        records = event["Records"]
        if not isinstance(records, list) or not records:
            raise InvalidEvent("invalid SNS event: Records: expected a non-empty list", kind="SNS event")
        out = []
        for index, record in enumerate(records):
            sns = record.get("Sns") if isinstance(record, dict) else None
            message_id = sns.get("MessageId") if isinstance(sns, dict) else None
            delivery_id = message_id if isinstance(message_id, str) and message_id.strip() else digest(record)
            try:
                parsed: Any = parse_sns_record(record, index)
            except InvalidEvent as exc:
                parsed = exc
            out.append(Delivery(delivery_id, parsed, record))
        return out
    model = parse_event(event)
    own_id = getattr(model, "id", None)
    return [Delivery(own_id if isinstance(own_id, str) and own_id else digest(event), model, event)]


def scheduled(event: Any) -> list[Delivery]:
    """A scheduled event: its id is the delivery (a retried invocation is the same sweep)."""
    from warden.models import InvalidEvent

    if not (isinstance(event, dict) and isinstance(event.get("id"), str) and event["id"].strip()):
        raise InvalidEvent("a scheduled event carries an id")
    return [Delivery(event["id"], event, event)]


class Entry:
    """`Entry(container, work)(event, context)` -> Outcome.

    `work()` returns the domain callable (built on first use, once per container) that takes one typed
    input (and its delivery id, with `with_id`) and returns its result; `report(result)` is what is
    logged (default: the result itself). `accepts`: the input types this function is routed (template.yaml);
    any other input is dead-lettered, with its kind named, instead of reaching code that does not expect it.
    """

    def __init__(self, container: Container, work: Callable[[], Callable[..., Any]], *,
                 parse: Callable[[Any], list[Delivery]] = deliveries, idempotent: bool = True,
                 with_id: bool = False, message: str = "handled",
                 report: Callable[[Any], Any] | None = None, skip: Callable[[Any], Any] | None = None,
                 accepts: tuple[type, ...] | Callable[[], tuple[type, ...]] | None = None) -> None:
        self.container = container
        self._work = work
        self._with_id = with_id
        self._parse = parse
        self._idempotent = idempotent
        self._message = message
        self._report = report or (lambda result: result)
        # `skip(parsed)`: a result for an input that changes nothing (no idempotency record needed), else None.
        self._skip = skip
        self._accepts = accepts

    def _handle(self, parsed: Any, delivery_id: str) -> Any:
        handle = self._work()
        return handle(parsed, delivery_id) if self._with_id else handle(parsed)

    @cached_property
    def _once(self) -> Callable[..., Any]:
        # `event` identifies the delivery (its id is the idempotency key, its digest is checked against the
        # first delivery's); `parsed` is what is handled.
        return self.container.idempotent(lambda event, parsed: self._handle(parsed, event["id"]))

    def _check(self, parsed: Any) -> None:
        from warden.models import InvalidEvent

        if isinstance(parsed, InvalidEvent):
            raise parsed
        accepts = self._accepts() if callable(self._accepts) else self._accepts
        if accepts and not isinstance(parsed, accepts):
            kind = getattr(parsed, "detail_type", None) or type(parsed).__name__
            raise InvalidEvent(f"not an input of this function: {kind}", kind=str(kind))

    def _one(self, context: Any, delivery: Delivery) -> Any:
        self._check(delivery.parsed)
        skipped = self._skip(delivery.parsed) if self._skip else None
        if skipped is not None:
            return skipped
        if self._idempotent:
            return self._once(context, event={"id": delivery.id, "digest": digest(delivery.parsed)},
                              parsed=delivery.parsed)
        return self._handle(delivery.parsed, delivery.id)

    def __call__(self, event: Any, context: Any) -> Outcome:
        outcome = self.container.guard(event, lambda: self._parse(event))
        if outcome.dead_lettered is None:
            outcome = self.container.each([(d.raw, lambda d=d: self._one(context, d)) for d in outcome.results])
        for result in outcome.results:
            logger.info(self._message, extra={"result": self._report(result)})
        return outcome


def response(outcome: Outcome, report: Callable[[Any], Any] | None = None) -> Any:
    """What the Lambda returns: the one result, a list of them, or the dead-letter notice."""
    if outcome.dead_lettered is not None:
        return {"status": "dead_lettered", "error": outcome.dead_lettered}
    reported = [report(r) if report else r for r in outcome.results]
    reported += [{"status": "dead_lettered", "error": reason} for reason in outcome.rejected]
    return reported[0] if len(reported) == 1 else reported
