"""Where things are: read once per container from the environment that template.yaml sets, and
validated then (a handler module builds its Container at import), so a missing table name fails the
function's start-up, naming the variable, instead of its first event. Each function is given only its
own tables and topics: `NEEDS` says which variables each function cannot start without (a test holds it
to template.yaml). Settings never change during a container's life, so every delivery of an event sees
the same ones.

This is the only module that reads the environment: anything else is handed its setting by
warden.runtime.container.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from warden.core.scope import PipelineScope

AUDIENCE_ENV = {
    "oncall": "ONCALL_TOPIC_ARN",
    "approvers": "APPROVERS_TOPIC_ARN",
    "team": "TEAM_TOPIC_ARN",
    "chat": "CHAT_TOPIC_ARN",
}
PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
REQUIRED_ENV = ("LEDGER_TABLE", "STATE_TABLE", "IDEMPOTENCY_TABLE")  # unless a function is named

# Per function (logical id in template.yaml): the variables it cannot start without, its own tables.
NEEDS: dict[str, tuple[str, ...]] = {
    "NotificationRouter": ("STATE_TABLE", "IDEMPOTENCY_TABLE"),
    "DeploymentTracker": ("LEDGER_TABLE",),
    "ApprovalTracker": ("STATE_TABLE", "IDEMPOTENCY_TABLE"),
    "ApprovalEscalator": ("STATE_TABLE", "IDEMPOTENCY_TABLE", "LEDGER_TABLE"),
    "ArtifactGuard": ("STATE_TABLE", "LEDGER_TABLE"),
    "RollbackTrigger": ("STATE_TABLE", "LEDGER_TABLE", "IDEMPOTENCY_TABLE"),
    "DeploymentValidationHook": ("STATE_TABLE",),  # the state table only counts failed attempts
    # Approving from chat: the approvals (state table), the ledger's approver, and the Slack app's secret.
    "ApprovalGateway": ("STATE_TABLE", "LEDGER_TABLE", "SLACK_SECRET_ARN"),
    "DeploymentGate": ("STATE_TABLE", "LEDGER_TABLE"),  # freezes, overrides, and the override's ledger mark
}
SLACK_API_URL = "https://slack.com/api"


class SettingsError(RuntimeError):
    """The function's environment is incomplete: a deployment error, reported at start-up."""


def _required(name: str) -> Any:
    # The environment name first: a validation error is located (and reported) by it.
    return Field(validation_alias=AliasChoices(name, name.lower()), min_length=1)


def _optional(name: str, default: str = "") -> Any:
    return Field(default, validation_alias=AliasChoices(name.lower(), name))


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    ledger_table: str = _optional("LEDGER_TABLE")
    state_table: str = _optional("STATE_TABLE")
    idempotency_table: str = _optional("IDEMPOTENCY_TABLE")
    environment: str = Field("prod", validation_alias=AliasChoices("environment", "WARDEN_ENVIRONMENT"))
    config_prefix: str = Field("/pipeline-warden", validation_alias=AliasChoices("config_prefix",
                                                                                  "WARDEN_CONFIG_PREFIX"))
    topics: dict[str, str] = Field(default_factory=dict)
    pagerduty_secret_arn: str = _optional("PAGERDUTY_SECRET_ARN")
    dead_letter_queue_url: str = _optional("DEAD_LETTER_QUEUE_URL")
    # Overridable so that tests can point it at a server on 127.0.0.1.
    pagerduty_url: str = Field(PAGERDUTY_EVENTS_URL, validation_alias=AliasChoices("pagerduty_url",
                                                                                   "PAGERDUTY_EVENTS_URL"))
    # The first PagerDuty retry's wait (doubling per try); tests cut it to nothing.
    pagerduty_backoff_seconds: float = Field(0.5, validation_alias=AliasChoices("pagerduty_backoff_seconds",
                                                                                "PAGERDUTY_BACKOFF_SECONDS"))
    region: str = Field("us-east-1", validation_alias=AliasChoices("region", "AWS_REGION", "AWS_DEFAULT_REGION"))
    # This (tools) account; events of other accounts come from workload accounts.
    account_id: str = Field("", validation_alias=AliasChoices("account_id", "WARDEN_ACCOUNT_ID"))
    # The role assumed to read CodePipeline in a workload account, if any.
    workload_read_role_name: str = _optional("WORKLOAD_READ_ROLE_NAME")
    # Bucket name globs that ArtifactGuard may change besides CodePipeline's default artifact buckets.
    artifact_bucket_allow_list: str = _optional("ARTIFACT_BUCKET_ALLOW_LIST")
    # The role assumed to stop and roll back in a workload account, if any (RollbackTrigger).
    workload_deploy_role_name: str = _optional("WORKLOAD_DEPLOY_ROLE_NAME")
    # The workload accounts whose alarms may act (comma separated), and the organisation that admits any.
    trusted_account_ids: str = _optional("TRUSTED_ACCOUNT_IDS")
    organization_id: str = _optional("ORGANIZATION_ID")
    # Attempts Lambda makes per lifecycle hook invocation: 1 + EventInvokeConfig.MaximumRetryAttempts.
    # Where docs/runbooks/ is published (RunbookBaseUrl); empty: a message names the runbook's file instead.
    runbook_base_url: str = _optional("WARDEN_RUNBOOK_BASE_URL")
    hook_attempts: int = Field(3, ge=1, validation_alias=AliasChoices("hook_attempts", "HOOK_ATTEMPTS"))
    # The Slack app (SlackSecretArn: {"bot_token", "signing_secret"}); empty: approvals are not posted to Slack.
    slack_secret_arn: str = _optional("SLACK_SECRET_ARN")
    # Overridable so that tests can point it at a fake Slack Web API on 127.0.0.1.
    slack_api_url: str = Field(SLACK_API_URL, validation_alias=AliasChoices("slack_api_url", "SLACK_API_URL"))
    # QDeveloperApprovalActions of template.yaml: "enabled" when the stack created Amazon Q Developer's Approve
    # and Reject custom actions, so that approval.needed chat messages carry what they need (warden.notify.render).
    q_developer_approval_actions: str = _optional("Q_DEVELOPER_APPROVAL_ACTIONS", "disabled")
    # The deployment gate's answer when it cannot decide (its document unreadable): allow unless "true".
    gate_fail_closed_text: str = Field("false", validation_alias=AliasChoices("gate_fail_closed",
                                                                               "GATE_FAIL_CLOSED"))

    @property
    def gate_fail_closed(self) -> bool:
        """FailClosed of template.yaml: only "true" denies when the gate cannot decide (anything else allows)."""
        return self.gate_fail_closed_text.strip().lower() == "true"

    @property
    def chat_approval_actions(self) -> bool:
        """Only "enabled" turns them on (anything else, the default included, leaves them off)."""
        return self.q_developer_approval_actions.strip().lower() == "enabled"

    @property
    def trusted_accounts(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.trusted_account_ids.split(",") if a.strip())
    # The pipeline name globs this stack owns (warden.core.scope); "*" is every pipeline of the account.
    pipeline_scope: str = Field("*", validation_alias=AliasChoices("pipeline_scope", "WARDEN_PIPELINE_SCOPE"))

    @model_validator(mode="before")
    @classmethod
    def _topics_from_env(cls, values: Any) -> Any:
        if isinstance(values, Mapping) and "topics" not in values:
            # An empty optional variable is unset (its default applies); an empty required one is an error.
            values = {k: v for k, v in values.items() if v != ""}
            values["topics"] = {aud: values[name] for aud, name in AUDIENCE_ENV.items() if values.get(name)}
        return values

    @field_validator("config_prefix")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("pipeline_scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        return str(PipelineScope.parse(value))  # ValueError (a start-up error) for too many globs

    @property
    def scope(self) -> PipelineScope:
        return PipelineScope.parse(self.pipeline_scope)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *,
                 required: Iterable[str] = REQUIRED_ENV) -> Settings:
        """The settings of this function's environment; SettingsError naming each missing variable of
        `required` (the tables this function uses)."""
        try:
            settings = cls.model_validate(dict(os.environ if env is None else env))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
            raise SettingsError(f"the function's environment is incomplete: {problems}") from None
        missing = [name for name in required if not getattr(settings, name.lower())]
        if missing:
            raise SettingsError("the function's environment is incomplete: "
                                + "; ".join(f"{name}: Field required" for name in missing))
        return settings

    @classmethod
    def of(cls, function: str, env: Mapping[str, str] | None = None) -> Settings:
        """The settings of `function` (its logical id), checked against what it needs (`NEEDS`)."""
        return cls.from_env(env, required=NEEDS[function])

