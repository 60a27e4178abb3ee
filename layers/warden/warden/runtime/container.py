"""The one composition root: every function's settings, clients, configuration and services, and the
invocation pipeline each function runs on. "Where is X wired?": here.

A handler module calls `function("<LogicalId>")` at import: its settings are validated then (a missing
table fails the start-up, naming it; warden.runtime.settings), and nothing is connected until first use.
Services are built once per container, so a warm invocation reuses clients and caches; domain code gets
them injected and never builds a store or a client itself. Feature modules are imported on first use, so
a function pays at cold start only for what its first event needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from warden.aws.clients import Clients
from warden.aws.codepipeline import CodePipelineGateway
from warden.core.accounts import is_own
from warden.core.documents import InvalidDocument
from warden.core.lazy import Later
from warden.runtime.documents import ConfigStore
from warden.runtime.invocation import Arrival, Entry, Pipeline, count, deliveries, scheduled, single
from warden.runtime.settings import REQUIRED_ENV, Settings

if TYPE_CHECKING:
    from warden.approvals.escalator import ApprovalEscalator
    from warden.approvals.gateway import ApprovalGateway
    from warden.approvals.posting import SlackPosting
    from warden.approvals.slack import SlackApi, SlackSecret
    from warden.approvals.store import Approvals
    from warden.approvals.tracker import ApprovalTracker
    from warden.artifacts.guard import ArtifactGuard
    from warden.freeze.gate import DeploymentGate
    from warden.health.slow import SlowExecutions
    from warden.health.watch import HistoryWatch
    from warden.ledger.recorder import Ledger
    from warden.notify.holds import Holds
    from warden.notify.incidents import Incidents
    from warden.notify.notifier import Notifier
    from warden.notify.pagerduty import PagerDuty
    from warden.notify.release import Releases
    from warden.rollback.hook import ValidationHook
    from warden.rollback.state import RollbackMarks
    from warden.rollback.trigger import RollbackTrigger
    from warden.router.router import NotificationRouter


class Container:
    def __init__(self, clients: Clients | None = None, settings: Settings | None = None, *,
                 needs: Iterable[str] = REQUIRED_ENV) -> None:
        """`needs`: the environment variables (tables) this function cannot work without."""
        self.clients = clients or Clients()
        # SettingsError at import: the start-up fails.
        self.settings = settings or Settings.from_env(required=needs)

    @classmethod
    def of(cls, function: str) -> Container:
        """The container of one function (its logical id): its settings checked against what it needs."""
        return cls(settings=Settings.of(function))

    @cached_property
    def pipeline(self) -> Pipeline:
        """Idempotency and the dead-letter queue (warden.runtime.invocation)."""
        return Pipeline(idempotency_table=self.settings.idempotency_table,
                        dead_letter_queue_url=self.settings.dead_letter_queue_url,
                        sqs=lambda: self.clients.sqs, dynamodb=lambda: self.clients.dynamodb)

    def skipped(self, kind: str) -> Callable[[Any, BaseException], str]:
        """A sweep's callback for one stored item it cannot handle: dead-lettered, counted, and on."""
        return self.pipeline.skipped(kind)

    @cached_property
    def codepipeline(self) -> CodePipelineGateway:
        """Every CodePipeline read, of any account and region (clients made once per container)."""
        return CodePipelineGateway(self.clients, own_account=self.settings.account_id,
                                   own_region=self.settings.region,
                                   role_name=self.settings.workload_read_role_name)

    @cached_property
    def config(self) -> ConfigStore:
        return ConfigStore(self.clients.ssm, self.settings.config_prefix, on_invalid=self.config_invalid,
                           environment=self.settings.environment)

    def config_invalid(self, invalid: InvalidDocument) -> None:
        """A stored configuration document that does not validate: counted on every read
        (`InvalidConfiguration`, alarmed in template.yaml), and told to the team once per stored value by the
        functions that can tell (a state table for the claim, the team topic)."""
        count("InvalidConfiguration")
        if self.settings.state_table and self.settings.topics.get("team"):
            self._config_notices(invalid)

    @cached_property
    def _config_notices(self) -> Callable[[InvalidDocument], Any]:
        from warden.notify.config_notices import ConfigNotices

        return ConfigNotices(dynamodb=self.clients.dynamodb, table=self.settings.state_table,
                             notifier=self.notifier(), account=self.settings.account_id, region=self.settings.region)

    # -- services, built once per container -----------------------------------------------------------
    @cached_property
    def incidents(self) -> Incidents:
        """One open page per incident, in the state table (the router's and the rollback's)."""
        from warden.notify.incidents import Incidents

        return Incidents(self.clients.dynamodb, self.settings.state_table)

    @cached_property
    def holds(self) -> Holds:
        """The deployments the gate held (written by DeploymentGate, read by NotificationRouter on a failure)."""
        from warden.notify.holds import Holds

        return Holds(self.clients.dynamodb, self.settings.state_table)

    @cached_property
    def rollback_marks(self) -> RollbackMarks:
        """Which executions and deployments are Warden's own rollbacks (written by RollbackTrigger)."""
        from warden.rollback.state import RollbackMarks

        return RollbackMarks(self.clients.dynamodb, self.settings.state_table)

    @cached_property
    def notification_router(self) -> NotificationRouter:
        from warden.router.router import NotificationRouter

        # CodeDeploy is read in this account only: a workload account's stop is paged as "cause unknown".
        return NotificationRouter(notifier=self.notifier(), codepipeline=self.codepipeline,
                                  incidents=self.incidents, releases=self.releases,
                                  codedeploy_in=lambda account: self.clients.codedeploy
                                  if is_own(account, self.settings.account_id) else None,
                                  marks=Later(lambda: self.rollback_marks),  # read for stops and rollbacks only
                                  holds=Later(lambda: self.holds))  # read for failures only

    @cached_property
    def releases(self) -> Releases:
        """The commit and author of a page: the execution's start, else one cached GetPipelineExecution."""
        from warden.notify.release import Releases

        # The approval store is read when a page looks its release up: a cold start that pages nobody skips it.
        return Releases(triggers=Later(lambda: self.approvals), codepipeline=self.codepipeline)

    @cached_property
    def slow_executions(self) -> SlowExecutions:
        from warden.health.slow import SlowExecutions
        from warden.ledger.running import RunningExecutions

        return SlowExecutions(running=RunningExecutions(self.clients.dynamodb, self.settings.ledger_table),
                              notifier=self.notifier(), config=self.config, skip=self.skipped("running execution"),
                              scope=self.settings.scope)

    @cached_property
    def history_watch(self) -> HistoryWatch:
        from warden.health.history import rules_from
        from warden.health.watch import HealthState, HistoryWatch

        return HistoryWatch(dynamodb=self.clients.dynamodb, ledger_table=self.settings.ledger_table,
                            state=HealthState(self.clients.dynamodb, self.settings.state_table),
                            notifier=self.notifier(), scope=self.settings.scope,
                            rules=lambda: rules_from(self.config.get("ledger").health))

    @cached_property
    def approvals(self) -> Approvals:
        from warden.approvals.store import Approvals

        return Approvals(self.clients.dynamodb, self.settings.state_table)

    @cached_property
    def approval_tracker(self) -> ApprovalTracker:
        from warden.approvals.tracker import ApprovalTracker

        return ApprovalTracker(approvals=self.approvals, codepipeline=self.codepipeline, notifier=self.notifier(),
                               region=self.settings.region, scope=self.settings.scope, slack=self.slack_posting())

    @cached_property
    def approval_escalator(self) -> ApprovalEscalator:
        from warden.approvals.escalator import ApprovalEscalator

        return ApprovalEscalator(approvals=self.approvals, codepipeline=self.codepipeline, notifier=self.notifier(),
                                 config=self.config, releases=self.releases, skip=self.skipped("pending approval"),
                                 scope=self.settings.scope, slack=self.slack_posting())

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
        from warden.notify.paging import PagingHealth
        from warden.notify.sns import Publisher

        paging = PagingHealth(self.clients.dynamodb, self.settings.state_table) if self.settings.state_table else None
        return Notifier(publisher=Publisher(self.clients.sns, self.settings.topics), config=self.config,
                        pagerduty=self.pagerduty(), paging=paging, runbook_base=self.settings.runbook_base_url,
                        chat_actions_account=self.settings.account_id if self.settings.chat_approval_actions else None)

    def pagerduty(self) -> PagerDuty | None:
        """The Events API v2 client when a routing-key secret is configured, else None (paging off)."""
        arn = self.settings.pagerduty_secret_arn
        if not arn:
            return None
        from warden.notify.pagerduty import PagerDuty, RoutingKey  # urllib: on first use

        routing_key = RoutingKey(lambda: self.clients.secretsmanager.get_secret_value(SecretId=arn))
        return PagerDuty(self.settings.pagerduty_url, routing_key, backoff=self.settings.pagerduty_backoff_seconds)

    @cached_property
    def rollback_trigger(self) -> RollbackTrigger:
        from warden.rollback.access import DeployAccess
        from warden.rollback.trigger import RollbackTrigger

        clients, settings = self.clients, self.settings

        def state() -> Any:
            from warden.rollback.state import RollbackState

            return RollbackState(clients.dynamodb, settings.state_table)

        def ledger() -> Any:
            from warden.ledger.view import LedgerReader

            return LedgerReader(clients.dynamodb, settings.ledger_table, settings.account_id)

        def notes() -> Any:
            from warden.ledger.notes import LedgerNotes

            return LedgerNotes(clients.dynamodb, settings.ledger_table)

        # Admitting and mapping an alarm needs the access and the document; the notifier, the ledger, the
        # rollback state, incidents and releases are built when an alarm first acts on (or skips) a target,
        # so an alarm that is ignored, refused or unmapped never builds them.
        return RollbackTrigger(
            notifier=Later(self.notifier), incidents=Later(lambda: self.incidents), state=Later(state),
            ledger=Later(ledger),
            access=DeployAccess(clients, own_account=settings.account_id, role_name=settings.workload_deploy_role_name,
                                trusted=settings.trusted_accounts, organization=settings.organization_id),
            config=lambda: self.config.require("rollback"), own_account=settings.account_id,
            notes=Later(notes), releases=Later(lambda: self.releases),
            marks=Later(lambda: self.rollback_marks), scope=settings.scope)

    @cached_property
    def validation_hook(self) -> ValidationHook:
        from warden.rollback.hook import AttemptCounter, ValidationHook

        clients = self.clients
        attempts = AttemptCounter(clients.dynamodb, self.settings.state_table, self.settings.hook_attempts)
        return ValidationHook(codedeploy=clients.codedeploy, cloudwatch=clients.lazy("cloudwatch"),
                              tagging=clients.lazy("resourcegroupstaggingapi"),
                              config=lambda: self.config.require("rollback"), account=self.settings.account_id,
                              attempts=attempts, gate=lambda info: self.deployment_gate.for_deployment(info))

    @cached_property
    def deployment_gate(self) -> DeploymentGate:
        """Freeze calendars, the automatic freeze (incidents, rollbacks, guarding alarms), break-glass overrides."""
        from warden.freeze.gate import DeploymentGate
        from warden.freeze.store import FreezeStore
        from warden.ledger.notes import LedgerNotes
        from warden.rollback.state import RollbackState
        from warden.rollback.status import RollbackStatus

        clients, settings = self.clients, self.settings
        status = RollbackStatus(RollbackState(clients.dynamodb, settings.state_table),
                                cloudwatch=lambda: clients.client("cloudwatch"),
                                config=lambda: self.config.require("rollback"))  # type: ignore[arg-type, return-value]
        return DeploymentGate(
            config=lambda: self.config.require("freeze"),  # type: ignore[arg-type, return-value]
            store=FreezeStore(clients.dynamodb, settings.state_table), incidents=self.incidents,
            rolling_back=status.in_progress, alarms=status.alarms_in_alarm, codepipeline=clients.client("codepipeline"),
            notifier=Later(self.notifier),  # built when a freeze, its lift or an override is first told
            notes=LedgerNotes(clients.dynamodb, settings.ledger_table)
            if settings.ledger_table else None, account=settings.account_id, region=settings.region,
            fail_closed=settings.gate_fail_closed,
            partition=clients.session.get_partition_for_region(settings.region), holds=self.holds)

    @cached_property
    def slack_secret(self) -> SlackSecret:
        """The Slack app's bot token and signing secret (SlackSecretArn), read once on first use."""
        from warden.approvals.slack import SlackSecret

        arn = self.settings.slack_secret_arn
        return SlackSecret(lambda: self.clients.secretsmanager.get_secret_value(SecretId=arn))

    @cached_property
    def slack(self) -> SlackApi:
        from warden.approvals.slack import SlackApi

        return SlackApi(self.settings.slack_api_url, lambda: self.slack_secret.bot_token)

    def slack_posting(self) -> SlackPosting | None:
        """Approval requests (with buttons) and their reminders in Slack; None without a Slack app."""
        if not self.settings.slack_secret_arn:
            return None
        from warden.approvals.chat_store import ChatDecisions
        from warden.approvals.posting import SlackPosting

        return SlackPosting(slack=self.slack, decisions=ChatDecisions(self.clients.dynamodb, self.settings.state_table),
                            config=self.config, count=count)

    @cached_property
    def approval_gateway(self) -> ApprovalGateway:
        """Decisions from chat: PutApprovalResult in the pipeline's account (a workload account's through the
        deploy role, as RollbackTrigger acts there), the ledger's approver, the Slack app."""
        from warden.approvals.chat_store import ChatDecisions, SeenRequests
        from warden.approvals.gateway import ApprovalGateway
        from warden.ledger.approvers import ChatApprovers

        clients, settings = self.clients, self.settings
        codepipeline = CodePipelineGateway(clients, own_account=settings.account_id, own_region=settings.region,
                                           role_name=settings.workload_read_role_name,
                                           deploy_role_name=settings.workload_deploy_role_name)
        return ApprovalGateway(secret=self.slack_secret, slack=self.slack,
                               seen=SeenRequests(clients.dynamodb, settings.state_table),
                               decisions=ChatDecisions(clients.dynamodb, settings.state_table),
                               codepipeline=codepipeline, config=self.config,
                               ledger=ChatApprovers(clients.dynamodb, settings.ledger_table))

    @cached_property
    def artifact_guard(self) -> ArtifactGuard:
        """Clients per region (created once per container), configuration, the artifact map."""
        from warden.artifacts.access import Access
        from warden.artifacts.discovery import ArtifactMap
        from warden.artifacts.eligibility import allow_list
        from warden.artifacts.guard import ArtifactGuard

        clients, settings = self.clients, self.settings
        access = Access(clients, own_region=settings.region, role_name=settings.workload_read_role_name)
        return ArtifactGuard(
            artifact_map=ArtifactMap(access.own("dynamodb"), settings.state_table),
            codepipeline=access.own("codepipeline"),
            s3_in=lambda region, account: access.own("s3", region),
            kms_in=lambda region: access.own("kms", region),
            # As written or fail closed: unreadable is retried, invalid is dead-lettered with the reason (and told).
            config=lambda: self.config.require("artifacts"),  # type: ignore[arg-type, return-value]
            notifier=self.notifier(),
            account=settings.account_id,
            region=settings.region,
            ledger=(access.own("dynamodb"), settings.ledger_table) if settings.ledger_table else None,
            workload_s3=access.workload_s3,
            partition=clients.session.get_partition_for_region(settings.region),
            skip=self.skipped("artifact bucket"),
            allowed=allow_list(settings.artifact_bucket_allow_list),
            scope=settings.scope,
        )


# -- the functions: each one's invocation pipeline (what it accepts, what it keys on, what it runs) -------

def notification_router(c: Container) -> Entry:
    """CodePipeline and CodeDeploy state changes, keyed on the EventBridge event id: a redelivered event
    publishes nothing new. Events nobody hears of change nothing: they skip the idempotency record."""
    def accepts() -> tuple[type, ...]:
        from warden.models import (
            ActionExecutionStateChange,
            CodeDeployDeploymentStateChange,
            PipelineExecutionStateChange,
            StageExecutionStateChange,
        )

        return (PipelineExecutionStateChange, StageExecutionStateChange, ActionExecutionStateChange,
                CodeDeployDeploymentStateChange)

    def ignored(parsed: Any) -> Any:
        from warden.router.router import NotificationRouter

        return NotificationRouter.ignored(parsed)  # with its kind and state, as the log and the result say

    return Entry(c.pipeline, lambda: c.notification_router.handle, message="routed", skip=ignored, accepts=accepts)


def deployment_tracker(c: Container) -> Entry:
    """No idempotency store: every ledger write converges under redelivery (warden.ledger.recorder), so a
    duplicate changes nothing and emits no metric, and it costs no extra calls."""
    def accepts() -> tuple[type, ...]:
        from warden.models import (
            ActionExecutionStateChange,
            PipelineExecutionStateChange,
            StageExecutionStateChange,
        )

        return (PipelineExecutionStateChange, StageExecutionStateChange, ActionExecutionStateChange)

    return Entry(c.pipeline, lambda: c.ledger.record, idempotent=False, message="ledger", report=ledger_report,
                 accepts=accepts)


def ledger_report(result: Any) -> dict[str, Any]:
    """What DeploymentTracker logs and returns of one ledger write."""
    if result is None:  # logged with the result: never silent
        return {"status": "ignored",
                "reason": "the ledger keeps pipeline and stage executions and decided approvals, not this event"}
    return {"status": "recorded" if result.applied else "unchanged", "kind": result.kind,
            "pipeline": result.pipeline, "execution_id": result.execution_id, "partial": result.partial}


def approval_tracker(c: Container) -> Entry:
    """Keyed on the EventBridge event id or the SNS message id: a redelivery changes nothing."""
    def accepts() -> tuple[type, ...]:
        from warden.models import ActionExecutionStateChange, ManualApprovalMessage, PipelineExecutionStateChange

        return (ManualApprovalMessage, ActionExecutionStateChange, PipelineExecutionStateChange)

    return Entry(c.pipeline, lambda: c.approval_tracker.handle, with_id=True, message="tracked", accepts=accepts)


def approval_escalator(c: Container) -> Entry:
    """Pending approvals (escalation tiers) and running executions (pipeline.slow), in one schedule, keyed
    on the scheduled event's id: a retried invocation is the same sweep (its claims are its own)."""
    def both_sweeps() -> Callable[[Any, str], Any]:
        approvals, escalator, slow, watch = c.approvals, c.approval_escalator, c.slow_executions, c.history_watch

        def run(scheduled_event: Any, sweep_id: str) -> Any:
            pending = approvals.pending()
            waiting = frozenset(i["execution_id"] for i in pending if i.get("execution_id"))
            # Through sweep(), not escalate(): a channel that failed must fail the invocation (after both
            # sweeps ran) so that Lambda retries it; each effect already done is skipped on the retry.
            return escalator.sweep(sweep_id, pending, also=lambda: {"executions": slow.sweep(sweep_id, waiting),
                                                                    "history": watch.sweep(sweep_id, waiting)})

        return run

    return Entry(c.pipeline, both_sweeps, parse=scheduled, with_id=True, message="swept")


def artifact_guard(c: Container) -> Entry:
    """The daily pass (scheduled) and CloudTrail calls. No idempotency store: a repeated pass or event finds
    compliant buckets and findings already told."""
    def parse(event: Any) -> Any:
        if isinstance(event, dict) and event.get("detail-type") == "Scheduled Event":
            return scheduled(event)
        return deliveries(event)  # CloudTrail "AWS API Call" events

    def accepts() -> tuple[type, ...]:
        from warden.models import CloudTrailApiCallEvent

        return (dict, CloudTrailApiCallEvent)  # the scheduled pass, or a CloudTrail call

    def run(parsed: Any) -> Any:
        guard = c.artifact_guard
        return guard.sweep() if isinstance(parsed, dict) else guard.handle(parsed)

    return Entry(c.pipeline, lambda: run, parse=parse, idempotent=False, message="artifacts",
                 report=lambda result: {k: v for k, v in result.items() if k != "buckets"}, accepts=accepts)


def rollback_trigger(c: Container) -> Entry:
    """Alarm transitions act once per transition (warden.rollback.inputs: keyed on the alarm and
    CloudWatch's timestamp, admitted before any claim); stage and deployment events converge by themselves."""
    from warden.rollback.inputs import RollbackInputs

    inputs = RollbackInputs(lambda: c.rollback_trigger, region=c.settings.region)
    return Entry(c.pipeline, lambda: inputs.handle, message="rollback trigger", prepare=inputs.prepare,
                 skip=inputs.skip, key=inputs.key)


def deployment_validation_hook(c: Container) -> Entry:
    """One lifecycle hook invocation. No idempotency store: a redelivered invocation reports again and
    CodeDeploy says it is done already."""
    def accepts() -> tuple[type, ...]:
        from warden.models import CodeDeployLifecycleHookEvent

        return (CodeDeployLifecycleHookEvent,)

    return Entry(c.pipeline, lambda: c.validation_hook.run, parse=single, idempotent=False,
                 message="validation hook", accepts=accepts)


def approval_gateway(c: Container) -> Entry:
    """Slack's interactivity requests through the function URL, one at a time (synchronous: Slack waits for
    the answer). No idempotency store: a request is accepted once by its signature (a replay is refused) and
    every decision is a conditional write (warden.approvals.gateway). What may be logged or dead-lettered of a
    request is its redacted form: never its body or signature."""
    def parse(event: Any) -> list[Any]:
        from warden.approvals.gateway import HttpRequest
        from warden.runtime.invocation import Arrival

        request = HttpRequest.of(event)
        return [Arrival(request.request_id or "request", request, request.redacted())]

    return Entry(c.pipeline, lambda: c.approval_gateway.handle, parse=parse, idempotent=False,
                 message="approval request", report=lambda outcome: outcome.report())


def deployment_gate(c: Container) -> Entry:
    """A CodePipeline stage-entry condition's LambdaInvoke job. No idempotency store: a redelivered job finds
    its answer given (InvalidJobStateException) and every effect of the verdict is conditional
    (warden.freeze.store)."""
    def parse(event: Any) -> list[Arrival]:
        from warden.freeze.gate import CodePipelineJob

        job = CodePipelineJob.parse(event)
        return [Arrival(job.id, job, event)]

    return Entry(c.pipeline, lambda: c.deployment_gate.on_job, parse=parse, idempotent=False,
                 message="deployment gate")


FUNCTIONS: dict[str, Callable[[Container], Entry]] = {
    "NotificationRouter": notification_router,
    "DeploymentTracker": deployment_tracker,
    "ApprovalTracker": approval_tracker,
    "ApprovalEscalator": approval_escalator,
    "ArtifactGuard": artifact_guard,
    "RollbackTrigger": rollback_trigger,
    "DeploymentValidationHook": deployment_validation_hook,
    "ApprovalGateway": approval_gateway,
    "DeploymentGate": deployment_gate,
}


def function(name: str, container: Container | None = None) -> Entry:
    """The invocation pipeline of function `name` (its logical id), on its own container: called at import,
    so its settings are checked at start-up."""
    return FUNCTIONS[name](container or Container.of(name))
