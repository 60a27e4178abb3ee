"""Per-container wiring: settings, lazily created clients, configuration, idempotency, and every
service the handlers use (router, approval tracker and escalator, ledger).

A handler module creates one `Container` at import: its settings are validated then (a missing table
fails the start-up, naming it), and nothing is connected until first use. Services are built once per
container, so a warm invocation reuses clients and caches; domain code gets them injected and never
builds a store or a client itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from warden.aws.clients import Clients
from warden.aws.codepipeline import CodePipelineGateway
from warden.aws.config import ConfigStore
from warden.aws.settings import REQUIRED_ENV, Settings
from warden.core.accounts import is_own
from warden.core.errors import PermanentError
from warden.core.log import logger
from warden.core.text import wire_safe

if TYPE_CHECKING:
    from warden.approvals.escalator import ApprovalEscalator
    from warden.approvals.tracker import ApprovalTracker
    from warden.health.slow import SlowExecutions
    from warden.ledger.recorder import Ledger
    from warden.notify.notifier import Notifier
    from warden.notify.pagerduty import PagerDuty
    from warden.release.lookup import Releases
    from warden.router.router import NotificationRouter

IDEMPOTENCY_SECONDS = 24 * 3600  # longer than EventBridge's and SNS's redelivery windows
SECRET_SECONDS = 300  # a rotated routing key is picked up within five minutes


MAX_DEAD_LETTER_BYTES = 250_000  # SQS takes 256 KiB a message, attributes included


@dataclass(frozen=True)
class Outcome:
    """What one invocation did: a result per delivery handled; `dead_lettered`, the reason when nothing
    could be handled (the whole input went to the dead-letter queue); `rejected`, the reasons of single
    deliveries dead-lettered while the others of their batch were handled."""

    results: tuple[Any, ...] = ()
    dead_lettered: str | None = None
    rejected: tuple[str, ...] = ()


class Container:
    def __init__(self, clients: Clients | None = None, settings: Settings | None = None, *,
                 needs: Iterable[str] = REQUIRED_ENV) -> None:
        """`needs`: the environment variables (tables) this function cannot work without."""
        self.clients = clients or Clients()
        # SettingsError at import: the start-up fails.
        self.settings = settings or Settings.from_env(required=needs)

    @cached_property
    def codepipeline(self) -> CodePipelineGateway:
        """Every CodePipeline read, of any account and region (clients made once per container)."""
        return CodePipelineGateway(self.clients, own_account=self.settings.account_id,
                                   own_region=self.settings.region,
                                   role_name=self.settings.workload_read_role_name)

    @cached_property
    def config(self) -> ConfigStore:
        return ConfigStore(self.clients.ssm, self.settings.config_prefix)

    def idempotent(self, fn: Callable[..., Any], key: str = "id") -> Callable[..., Any]:
        """`run(context, event=..., **kw)`: `fn(event=..., **kw)` at most once per `event[key]`
        (powertools Idempotency on DynamoDB); `event` is what identifies the delivery. When `event` also
        carries a `digest` of the payload, the same id with another digest raises IdempotencyValidationError
        (a conflict, dead-lettered by `guard`), never a silent "already done"."""
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        store = DynamoDBPersistenceLayer(table_name=self.settings.idempotency_table,
                                         boto3_client=self.clients.dynamodb)
        config = IdempotencyConfig(event_key_jmespath=key, expires_after_seconds=IDEMPOTENCY_SECONDS,
                                   raise_on_no_idempotency_key=True, payload_validation_jmespath="digest")
        once = idempotent_function(data_keyword_argument="event", persistence_store=store, config=config)(fn)

        def run(context: Any, **kwargs: Any) -> Any:
            config.register_lambda_context(context)  # in-progress records expire with the invocation
            return once(**kwargs)

        return run

    def guard(self, event: Any, work: Callable[[], list[Any]]) -> Outcome:
        """`work()`'s results as an Outcome; or, for an invalid event or a permanent refusal, an Outcome
        that says it was dead-lettered: it goes straight to the dead-letter queue with its reason (retrying
        cannot help). Anything else is raised for Lambda to retry."""
        try:
            return Outcome(results=tuple(work()))
        except Exception as exc:
            if not self.is_permanent(exc) or not self.settings.dead_letter_queue_url:
                raise
            return Outcome(dead_lettered=self.dead_letter(event, exc))

    def each(self, deliveries: list[tuple[Any, Callable[[], Any]]]) -> Outcome:
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
                if not self.is_permanent(exc) or not self.settings.dead_letter_queue_url:
                    retry = retry or exc
                    continue
                rejected.append(self.dead_letter(payload, exc))
        if retry is not None:
            raise retry
        if rejected and not results:
            return Outcome(dead_lettered="; ".join(rejected))
        return Outcome(results=tuple(results), rejected=tuple(rejected))

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
        self._count("DeadLetters")
        if self.settings.dead_letter_queue_url:
            body = json.dumps(payload, default=str, ensure_ascii=True)
            if len(body.encode()) > MAX_DEAD_LETTER_BYTES:
                body = json.dumps({"truncated": True, "head": body[:MAX_DEAD_LETTER_BYTES // 8]})
            self.clients.sqs.send_message(
                QueueUrl=self.settings.dead_letter_queue_url, MessageBody=body,
                MessageAttributes={"ErrorCode": {"DataType": "String", "StringValue": code[:256]},
                                   "ErrorMessage": {"DataType": "String", "StringValue": reason[:1024]},
                                   "Kind": {"DataType": "String", "StringValue": kind}})
        return reason

    def skipped(self, kind: str) -> Callable[[Any, BaseException], str]:
        """The callback a sweep calls for one stored item it cannot handle (warden.core.sweeps): the item
        is dead-lettered with its reason and counted (`SkippedItems`), and the sweep goes on."""
        def skip(item: Any, exc: BaseException) -> str:
            self._count("SkippedItems")
            return self.dead_letter(item, exc, kind=kind)

        return skip

    @staticmethod
    def _count(name: str) -> None:
        from aws_lambda_powertools import Metrics
        from aws_lambda_powertools.metrics import MetricUnit

        Metrics().add_metric(name=name, unit=MetricUnit.Count, value=1)  # flushed by the handler's log_metrics

    # -- services, built once per container -----------------------------------------------------------
    @cached_property
    def notification_router(self) -> NotificationRouter:
        from warden.rollback.state import RollbackMarks
        from warden.router.incidents import Incidents
        from warden.router.router import NotificationRouter

        # CodeDeploy is read in this account only: a workload account's stop is paged as "cause unknown".
        return NotificationRouter(notifier=self.notifier(), codepipeline=self.codepipeline,
                                  incidents=Incidents(self.clients.dynamodb, self.settings.state_table),
                                  releases=self.releases,
                                  codedeploy_in=lambda account: self.clients.codedeploy
                                  if is_own(account, self.settings.account_id) else None,
                                  marks=RollbackMarks(self.clients.dynamodb, self.settings.state_table))

    @cached_property
    def releases(self) -> Releases:
        """The commit and author of a page: the execution's start, else one cached GetPipelineExecution."""
        from warden.release.lookup import Releases

        return Releases(triggers=self.approvals, codepipeline=self.codepipeline)

    @cached_property
    def slow_executions(self) -> SlowExecutions:
        from warden.health.slow import SlowExecutions

        return SlowExecutions(dynamodb=self.clients.dynamodb, table=self.settings.ledger_table,
                              notifier=self.notifier(), config=self.config, skip=self.skipped("running execution"))

    @cached_property
    def approvals(self) -> Any:
        from warden.approvals.store import Approvals

        return Approvals(self.clients.dynamodb, self.settings.state_table)

    @cached_property
    def approval_tracker(self) -> ApprovalTracker:
        from warden.approvals.tracker import ApprovalTracker

        return ApprovalTracker(approvals=self.approvals, codepipeline=self.codepipeline, notifier=self.notifier(),
                               region=self.settings.region)

    @cached_property
    def approval_escalator(self) -> ApprovalEscalator:
        from warden.approvals.escalator import ApprovalEscalator

        return ApprovalEscalator(approvals=self.approvals, codepipeline=self.codepipeline, notifier=self.notifier(),
                                 config=self.config, releases=self.releases, skip=self.skipped("pending approval"))

    @cached_property
    def ledger(self) -> Ledger:
        from warden.ledger.recorder import Ledger

        return Ledger(dynamodb=self.clients.dynamodb, table=self.settings.ledger_table,
                      codepipeline=self.codepipeline, codecommit=self.clients.codecommit,
                      config=lambda: self.config.get("ledger"))  # type: ignore[arg-type, return-value]

    def notifier(self) -> Notifier:
        """The shared Notifier: routing rules, one publish per audience topic, and pages."""
        return self._notifier

    @cached_property
    def _notifier(self) -> Notifier:
        from warden.notify.notifier import Notifier
        from warden.notify.sns import Publisher

        return Notifier(publisher=Publisher(self.clients.sns, self.settings.topics), config=self.config,
                        pagerduty=self.pagerduty())

    def pagerduty(self) -> PagerDuty | None:
        """The Events API v2 client when a routing-key secret is configured, else None (paging off)."""
        arn = self.settings.pagerduty_secret_arn
        if not arn:
            return None
        from warden.notify.pagerduty import PagerDuty, routing_key_from_secret  # urllib: on first use

        def routing_key() -> str:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            if not hasattr(self, "_secrets"):
                self._secrets = SecretsProvider(boto3_client=self.clients.secretsmanager)
            return routing_key_from_secret(self._secrets.get(arn, max_age=SECRET_SECONDS))

        return PagerDuty(self.settings.pagerduty_url, routing_key, backoff=self.settings.pagerduty_backoff_seconds)
