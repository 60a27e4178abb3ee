"""RollbackTrigger: CloudWatch alarm transitions into ALARM (EventBridge, this account and forwarded workload
accounts, or an alarm action's SNS message, confirmed with CloudWatch first) roll back the stage or deployment
group they guard; the rollback's own stage events finish it (the rollback after a stop) and resolve its page,
and CodeDeploy's rollback of a deployment Warden stopped resolves that page.

The `rollback` document is read strictly: unreadable, the invocation fails and Lambda retries it (then the
dead-letter queue, whose alarm tells on-call); invalid, it is dead-lettered at once with the reason. Warden
never acts on built-in defaults in place of a document that exists (a dry_run document stays a dry run)."""

import os
from functools import cache

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.aws.container import Container
from warden.aws.entry import deliveries, response
from warden.core.log import logger

metrics = Metrics()
container = Container(needs=("STATE_TABLE", "LEDGER_TABLE", "IDEMPOTENCY_TABLE"))  # its own tables only


@cache
def trigger():
    from warden.ledger.view import LedgerReader
    from warden.rollback.access import DeployAccess
    from warden.rollback.state import RollbackMarks, RollbackState
    from warden.rollback.trigger import RollbackTrigger
    from warden.router.incidents import Incidents

    clients, settings = container.clients, container.settings
    role = os.environ.get("WORKLOAD_DEPLOY_ROLE_NAME", "")
    trusted = tuple(a.strip() for a in os.environ.get("TRUSTED_ACCOUNT_IDS", "").split(",") if a.strip())
    return RollbackTrigger(
        notifier=container.notifier(), incidents=Incidents(clients.dynamodb, settings.state_table),
        state=RollbackState(clients.dynamodb, settings.state_table),
        ledger=LedgerReader(clients.dynamodb, settings.ledger_table, settings.account_id),
        access=DeployAccess(clients, own_account=settings.account_id, role_name=role, trusted=trusted,
                            organization=os.environ.get("ORGANIZATION_ID", "")),
        config=lambda: container.config.require("rollback"), own_account=settings.account_id,
        region=settings.region, ledger_table=settings.ledger_table, dynamodb=clients.dynamodb, role_name=role,
        releases=container.releases, marks=RollbackMarks(clients.dynamodb, settings.state_table),
        scope=settings.scope)


@cache
def once():
    # Keyed on the transition (alarm + CloudWatch's timestamp), not the delivery: the EventBridge event and the
    # SNS message of one transition, and their redeliveries, act once. Stage events converge by themselves.
    return container.idempotent(lambda event, transition: trigger().on_alarm(transition))


def _one(parsed, context):
    from warden.models import CodeDeployDeploymentStateChange, InvalidEvent, StageExecutionStateChange
    from warden.rollback.alarm import transition_of

    if isinstance(parsed, InvalidEvent):
        raise parsed
    if isinstance(parsed, StageExecutionStateChange):
        return trigger().on_stage(parsed)
    if isinstance(parsed, CodeDeployDeploymentStateChange):
        return trigger().on_deployment(parsed)
    transition = transition_of(parsed, default_region=container.settings.region)
    if transition is None:
        return {"status": "ignored", "reason": f"not an alarm: {type(parsed).__name__}"}
    if not transition.into_alarm:
        return {"status": "ignored", "reason": f"{transition.previous} -> {transition.state}"}
    # Before the idempotency record: a forged, stale or suppressed input claims nothing, so it can neither
    # act nor keep the real transition's EventBridge event from acting.
    return trigger().admit(transition) or once()(context, event={"id": transition.key}, transition=transition)


def _handle(event, context):
    """Each delivery on its own (an SNS batch's bad record is dead-lettered alone)."""
    parsed = container.guard(event, lambda: deliveries(event))
    if parsed.dead_lettered is not None:
        return parsed
    return container.each([(d.raw, lambda d=d: _one(d.parsed, context)) for d in parsed.results])


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    outcome = _handle(event, context)
    for result in outcome.results:
        logger.info("rollback trigger", extra={"result": result})
        for one in result.get("outcomes", []):
            metrics.add_metric(name="RollbackSkipped" if one["status"] == "skipped" else "RollbackActions",
                               unit=MetricUnit.Count, value=1)
    return {"status": "handled", "results": list(outcome.results)} if outcome.dead_lettered is None \
        else response(outcome)
