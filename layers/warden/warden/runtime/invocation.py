"""The one way a function handles an invocation: parse -> accept -> skip -> idempotency -> work -> log,
each delivery on its own, and the dead-letter queue for what cannot be handled.

Every delivery (an EventBridge event, each record of an SNS event, a scheduled event, a lifecycle hook
invocation) is parsed into its typed model and checked against the inputs the function is routed
(`accepts`); then handed to the domain at most once per delivery id through powertools Idempotency (a
redelivery returns the stored result and changes nothing), inside `Pipeline.guard` and `Pipeline.each`
(an invalid input or a permanent refusal is dead-lettered at once with its reason, alone, and the other
deliveries of its batch still run; anything else is raised for Lambda to retry), and every result is
logged. A function whose domain converges by itself under redelivery (the ledger) opts out of the
idempotency store and saves its calls; one whose identity is not the delivery's (an alarm transition that
arrives twice, by EventBridge and by SNS) says what to key on (`key`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple

from warden.core.errors import PermanentError
from warden.core.log import logger
from warden.core.text import wire_safe

IDEMPOTENCY_SECONDS = 24 * 3600  # longer than EventBridge's and SNS's redelivery windows
MAX_DEAD_LETTER_BYTES = 250_000  # SQS takes 256 KiB a message, attributes included


@dataclass(frozen=True)
class Handled:
    """What one invocation did: a result per delivery handled; `dead_lettered`, the reason when nothing
    could be handled (the whole input went to the dead-letter queue); `rejected`, the reasons of single
    deliveries dead-lettered while the others of their batch were handled."""

    results: tuple[Any, ...] = ()
    dead_lettered: str | None = None
    rejected: tuple[str, ...] = ()


class Pipeline:
    """Idempotency and the dead-letter queue of one function: `idempotency_table` and `dead_letter_queue_url`
    from its settings; `sqs()` and `dynamodb()` its clients (made on first use)."""

    def __init__(self, *, idempotency_table: str, dead_letter_queue_url: str, sqs: Callable[[], Any],
                 dynamodb: Callable[[], Any]) -> None:
        self._table = idempotency_table
        self._queue_url = dead_letter_queue_url
        self._sqs = sqs
        self._dynamodb = dynamodb

    def idempotent(self, fn: Callable[..., Any], key: str = "id") -> Callable[..., Any]:
        """`run(context, event=..., **kw)`: `fn(event=..., **kw)` at most once per `event[key]`
        (powertools Idempotency on DynamoDB); `event` is what identifies the delivery. When `event` also
        carries a `digest` of the payload, the same id with another digest raises IdempotencyValidationError
        (a conflict, dead-lettered by `guard`), never a silent "already done"."""
        from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

        from warden.runtime.idempotency import owned_store

        store = owned_store(self._table, self._dynamodb())
        config = IdempotencyConfig(event_key_jmespath=key, expires_after_seconds=IDEMPOTENCY_SECONDS,
                                   raise_on_no_idempotency_key=True, payload_validation_jmespath="digest")
        once = idempotent_function(data_keyword_argument="event", persistence_store=store, config=config)(fn)

        def run(context: Any, **kwargs: Any) -> Any:
            config.register_lambda_context(context)  # in-progress records expire with the invocation
            store.client.owner = getattr(context, "aws_request_id", "") or ""  # whose in-progress record it is
            return once(**kwargs)

        return run

    def guard(self, event: Any, work: Callable[[], list[Any]]) -> Handled:
        """`work()`'s results as a Handled; or, for an invalid event or a permanent refusal, a Handled
        that says it was dead-lettered: it goes straight to the dead-letter queue with its reason (retrying
        cannot help). Anything else is raised for Lambda to retry."""
        try:
            return Handled(results=tuple(work()))
        except Exception as exc:
            if not self.is_permanent(exc) or not self._queue_url:
                raise
            return Handled(dead_lettered=self.dead_letter(event, exc))

    def each(self, deliveries: list[tuple[Any, Callable[[], Any]]]) -> Handled:
        """Run `work()` of each (payload, work) on its own: one that is invalid, refused for good or in
        conflict is dead-lettered with its reason (its payload alone) and the others still run. An error
        retrying could fix is raised for Lambda to retry, after the others had their turn."""
        results: list[Any] = []
        rejected: list[str] = []
        retry: BaseException | None = None
        for payload, work in deliveries:
            try:
                results.append(work())
            except Exception as exc:
                if not self.is_permanent(exc) or not self._queue_url:
                    retry = retry or exc
                    continue
                rejected.append(self.dead_letter(payload, exc))
        if retry is not None:
            raise retry
        if rejected and not results:
            return Handled(dead_lettered="; ".join(rejected))
        return Handled(results=tuple(results), rejected=tuple(rejected))

    @staticmethod
    def is_permanent(exc: BaseException) -> bool:
        """An input that cannot be handled however often it is retried: invalid, refused for good, or an
        event id already handled with another payload (IdempotencyValidationError)."""
        from warden.models import InvalidEvent

        if isinstance(exc, (InvalidEvent, PermanentError)):
            return True
        return type(exc).__name__ in ("IdempotencyValidationError", "IdempotencyKeyError")

    def dead_letter(self, payload: Any, exc: BaseException | str, *, kind: str = "input") -> str:
        """Send `payload` to this function's dead-letter queue with its reason, log it and count it
        (`DeadLetters`); returns the reason. Without a queue (a local run) it is only logged and counted.
        Whatever the input holds, the writer cannot fail on it: the reason is made text SQS and the log
        take (core.text.wire_safe: a lone surrogate or a control is written as its escape) and the body is
        ASCII JSON (`\\ud800` escapes)."""
        code = exc if isinstance(exc, str) else type(exc).__name__
        reason = wire_safe(code if isinstance(exc, str) else f"{code}: {' '.join(str(exc).split())}")
        if code == "IdempotencyValidationError":
            reason += " (this event id was handled before with a different payload: a conflict, not a redelivery)"
        logger.error("dead-lettered", extra={"error": reason[:2000], "kind": kind})
        count("DeadLetters")
        if self._queue_url:
            body = json.dumps(payload, default=str, ensure_ascii=True)
            if len(body.encode()) > MAX_DEAD_LETTER_BYTES:
                body = json.dumps({"truncated": True, "head": body[:MAX_DEAD_LETTER_BYTES // 8]})
            self._sqs().send_message(
                QueueUrl=self._queue_url, MessageBody=body,
                MessageAttributes={"ErrorCode": {"DataType": "String", "StringValue": code[:256]},
                                   "ErrorMessage": {"DataType": "String", "StringValue": reason[:1024]},
                                   "Kind": {"DataType": "String", "StringValue": kind}})
        return reason

    def skipped(self, kind: str) -> Callable[[Any, BaseException], str]:
        """The callback a sweep calls for one stored item it cannot handle (warden.core.errors.one_by_one):
        the item is dead-lettered with its reason and counted (`SkippedItems`), and the sweep goes on."""
        def skip(item: Any, exc: BaseException) -> str:
            count("SkippedItems")
            return self.dead_letter(item, exc, kind=kind)

        return skip



def count(name: str) -> None:
    """One of Warden's own counters (DeadLetters, SkippedItems, InvalidConfiguration)."""
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.metrics import MetricUnit

    Metrics().add_metric(name=name, unit=MetricUnit.Count, value=1)  # flushed by the handler's log_metrics


class Arrival(NamedTuple):
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


def deliveries(event: Any) -> list[Arrival]:
    """An Arrival for an EventBridge event (or any single input), or for each record of an SNS event:
    the id that idempotency keys on is the event's id or the SNS message id (an input without one, a
    digest of its content). A record that is not valid is an Arrival of its InvalidEvent, so that it is
    dead-lettered alone and the batch's other records are still handled. Imported on first use, so that
    a handler module's import does not pay for the models."""
    from warden.models import InvalidEvent, parse_sns_record

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
            out.append(Arrival(delivery_id, parsed, record))
        return out
    return single(event)


def single(event: Any) -> list[Arrival]:
    """One input, never an SNS batch (a lifecycle hook invocation): its id, or a digest of its content."""
    from warden.models import parse_event

    model = parse_event(event)
    own_id = getattr(model, "id", None)
    return [Arrival(own_id if isinstance(own_id, str) and own_id else digest(event), model, event)]


def scheduled(event: Any) -> list[Arrival]:
    """A scheduled event: its id is the delivery (a retried invocation is the same sweep)."""
    from warden.models import InvalidEvent

    if not (isinstance(event, dict) and isinstance(event.get("id"), str) and event["id"].strip()):
        raise InvalidEvent("a scheduled event carries an id")
    return [Arrival(event["id"], event, event)]


class Entry:
    """`Entry(pipeline, work)(event, context)` -> Handled.

    `work()` returns the domain callable (built on first use, once per container) that takes one input
    (and its delivery id, with `with_id`) and returns its result; `report(result)` is what is logged
    (default: the result itself). `accepts`: the input types this function is routed (template.yaml); any
    other input is dead-lettered, with its kind named, instead of reaching code that does not expect it.
    `prepare(parsed)`: the input handed on (default: the parsed delivery itself); `skip(input)`: a result
    for an input that changes nothing (no idempotency record needed), else None; `key(input, delivery_id)`:
    what idempotency keys on, `{"id": ...}` (plus a `digest` checked against the first delivery's), None
    for an input that converges by itself. Default: the delivery id and the input's digest (`idempotent`).
    """

    def __init__(self, pipeline: Pipeline, work: Callable[[], Callable[..., Any]], *,
                 parse: Callable[[Any], list[Arrival]] = deliveries, idempotent: bool = True,
                 with_id: bool = False, message: str = "handled",
                 report: Callable[[Any], Any] | None = None, skip: Callable[[Any], Any] | None = None,
                 accepts: tuple[type, ...] | Callable[[], tuple[type, ...]] | None = None,
                 prepare: Callable[[Any], Any] | None = None,
                 key: Callable[[Any, str], dict[str, str] | None] | None = None) -> None:
        self.pipeline = pipeline
        self._work = work
        self._with_id = with_id
        self._parse = parse
        self._message = message
        self._report = report or (lambda result: result)
        self._skip = skip
        self._accepts = accepts
        self._prepare = prepare
        if key is None and idempotent:
            key = lambda item, delivery_id: {"id": delivery_id, "digest": digest(item)}  # noqa: E731
        self._key = key

    def _handle(self, item: Any, delivery_id: str) -> Any:
        handle = self._work()
        return handle(item, delivery_id) if self._with_id else handle(item)

    @cached_property
    def _once(self) -> Callable[..., Any]:
        # `event` identifies the delivery (its id is the idempotency key, its digest is checked against the
        # first delivery's); `item` is what is handled.
        return self.pipeline.idempotent(lambda event, item: self._handle(item, event["id"]))

    def _check(self, parsed: Any) -> None:
        from warden.models import InvalidEvent

        if isinstance(parsed, InvalidEvent):
            raise parsed
        accepts = self._accepts() if callable(self._accepts) else self._accepts
        if accepts and not isinstance(parsed, accepts):
            kind = getattr(parsed, "detail_type", None) or type(parsed).__name__
            raise InvalidEvent(f"not an input of this function: {kind}", kind=str(kind))

    def _one(self, context: Any, delivery: Arrival) -> Any:
        self._check(delivery.parsed)
        item = self._prepare(delivery.parsed) if self._prepare else delivery.parsed
        skipped = self._skip(item) if self._skip else None
        if skipped is not None:
            return skipped
        claim = self._key(item, delivery.id) if self._key else None
        if claim is not None:
            return self._once(context, event=claim, item=item)
        return self._handle(item, delivery.id)

    def __call__(self, event: Any, context: Any) -> Handled:
        outcome = self.pipeline.guard(event, lambda: self._parse(event))
        if outcome.dead_lettered is None:
            outcome = self.pipeline.each([(d.raw, lambda d=d: self._one(context, d)) for d in outcome.results])
        for result in outcome.results:
            logger.info(self._message, extra={"result": self._report(result)})
        return outcome


def response(outcome: Handled, report: Callable[[Any], Any] | None = None) -> Any:
    """What the Lambda returns: the one result, a list of them, or the dead-letter notice."""
    if outcome.dead_lettered is not None:
        return {"status": "dead_lettered", "error": outcome.dead_lettered}
    reported = [report(r) if report else r for r in outcome.results]
    reported += [{"status": "dead_lettered", "error": reason} for reason in outcome.rejected]
    return reported[0] if len(reported) == 1 else reported


def http_response(outcome: Handled) -> dict[str, Any]:
    """What a function URL returns for one request (ApprovalGateway): the outcome's own HTTP answer, or a
    plain 400 when the request could not be handled at all (nothing of it is echoed)."""
    for result in outcome.results:
        http = getattr(result, "http", None)
        if isinstance(http, dict):
            return http
    return {"statusCode": 400, "body": ""}
