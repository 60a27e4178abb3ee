"""Where things are: read once per container from the environment that template.yaml sets."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

AUDIENCE_ENV = {
    "oncall": "ONCALL_TOPIC_ARN",
    "approvers": "APPROVERS_TOPIC_ARN",
    "team": "TEAM_TOPIC_ARN",
    "chat": "CHAT_TOPIC_ARN",
}


@dataclass(frozen=True)
class Settings:
    environment: str = "prod"
    config_prefix: str = "/pipeline-warden"
    topics: dict[str, str] = field(default_factory=dict)
    ledger_table: str = ""
    state_table: str = ""
    idempotency_table: str = ""
    pagerduty_secret_arn: str = ""
    dead_letter_queue_url: str = ""
    pagerduty_url: str = "https://events.pagerduty.com/v2/enqueue"
    region: str = "us-east-1"
    account_id: str = ""  # this (tools) account; events of other accounts come from workload accounts
    workload_read_role_name: str = ""  # role assumed to read CodePipeline in a workload account, if any

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            environment=env.get("WARDEN_ENVIRONMENT", "prod"),
            config_prefix=env.get("WARDEN_CONFIG_PREFIX", "/pipeline-warden").rstrip("/"),
            topics={aud: env[name] for aud, name in AUDIENCE_ENV.items() if env.get(name)},
            ledger_table=env.get("LEDGER_TABLE", ""),
            state_table=env.get("STATE_TABLE", ""),
            idempotency_table=env.get("IDEMPOTENCY_TABLE", ""),
            pagerduty_secret_arn=env.get("PAGERDUTY_SECRET_ARN", ""),
            dead_letter_queue_url=env.get("DEAD_LETTER_QUEUE_URL", ""),
            # Overridable so that tests can point it at a server on 127.0.0.1.
            pagerduty_url=env.get("PAGERDUTY_EVENTS_URL", cls.pagerduty_url),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION", "us-east-1"),
            account_id=env.get("WARDEN_ACCOUNT_ID", ""),
            workload_read_role_name=env.get("WORKLOAD_READ_ROLE_NAME", ""),
        )
