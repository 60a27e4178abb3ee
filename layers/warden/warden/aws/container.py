"""Per-container wiring: settings, lazily created clients, configuration and idempotency.

A handler module creates one `Container` at import (cheap: nothing is connected until first use)
and hands its parts to the domain code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from warden.aws.clients import Clients
from warden.aws.codepipeline import CodePipelineGateway
from warden.aws.config import ConfigStore
from warden.aws.settings import Settings
from warden.core.errors import PermanentError
from warden.core.log import logger
from warden.notify.pagerduty import PagerDuty, routing_key_from_secret

if TYPE_CHECKING:
    from warden.notify.notifier import Notifier

IDEMPOTENCY_SECONDS = 24 * 3600  # longer than EventBridge's and SNS's redelivery windows
SECRET_SECONDS = 300  # a rotated routing key is picked up within five minutes


class Container:
    def __init__(self, clients: Clients | None = None, settings: Settings | None = None) -> None:
        self.clients = clients or Clients()
        self._settings = settings

    @cached_property
    def settings(self) -> Settings:
        return self._settings or Settings.from_env()

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
        (powertools Idempotency on DynamoDB); `event` is what identifies the delivery."""
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        store = DynamoDBPersistenceLayer(table_name=self.settings.idempotency_table,
                                         boto3_client=self.clients.dynamodb)
        config = IdempotencyConfig(event_key_jmespath=key, expires_after_seconds=IDEMPOTENCY_SECONDS,
                                   raise_on_no_idempotency_key=True)
        once = idempotent_function(data_keyword_argument="event", persistence_store=store, config=config)(fn)

        def run(context: Any, **kwargs: Any) -> Any:
            config.register_lambda_context(context)  # in-progress records expire with the invocation
            return once(**kwargs)

        return run

    def guard(self, event: Any, work: Callable[[], Any]) -> Any:
        """`work()`, or a `{"status": "dead_lettered"}` dict: an invalid event or a permanent refusal goes
        straight to the dead-letter queue with its reason (retrying cannot help). Anything else is raised
        for Lambda to retry."""
        from warden.models import InvalidEvent

        try:
            return work()
        except (InvalidEvent, PermanentError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            logger.error("dead-lettered", extra={"error": reason})
            if not self.settings.dead_letter_queue_url:
                raise
            self.clients.sqs.send_message(
                QueueUrl=self.settings.dead_letter_queue_url, MessageBody=json.dumps(event, default=str),
                MessageAttributes={"ErrorCode": {"DataType": "String", "StringValue": type(exc).__name__},
                                   "ErrorMessage": {"DataType": "String", "StringValue": reason[:1024]}})
            return {"status": "dead_lettered", "error": reason}

    def notifier(self) -> Notifier:
        """The shared Notifier: routing rules, one publish per audience topic, and pages."""
        from warden.notify.notifier import Notifier
        from warden.notify.sns import Publisher

        return Notifier(publisher=Publisher(self.clients.sns, self.settings.topics), config=self.config,
                        pagerduty=self.pagerduty())

    def pagerduty(self) -> PagerDuty | None:
        """The Events API v2 client when a routing-key secret is configured, else None (paging off)."""
        arn = self.settings.pagerduty_secret_arn
        if not arn:
            return None

        def routing_key() -> str:
            from aws_lambda_powertools.utilities.parameters import SecretsProvider

            if not hasattr(self, "_secrets"):
                self._secrets = SecretsProvider(boto3_client=self.clients.secretsmanager)
            return routing_key_from_secret(self._secrets.get(arn, max_age=SECRET_SECONDS))

        return PagerDuty(self.settings.pagerduty_url, routing_key)




def parse(event: Any) -> Any:
    """The typed model of an incoming event (InvalidEvent otherwise; `Container.guard` dead-letters it).
    Imported here, on first use, so that a handler module's import does not pay for the models."""
    from warden.models import parse_event

    return parse_event(event)


def deliveries(event: Any) -> list[tuple[str, Any]]:
    """(delivery id, typed input) for an EventBridge event, or for each record of an SNS event: the id
    that idempotency keys on is the event's id or the SNS message id."""
    if isinstance(event, dict) and "Records" in event:
        from warden.models import parse_sns_event

        parsed = parse_sns_event(event)
        return [(record["Sns"]["MessageId"], p) for record, p in zip(event["Records"], parsed, strict=True)]
    model = parse(event)
    return [(model.id, model)]
