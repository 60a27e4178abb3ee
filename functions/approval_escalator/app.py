"""ApprovalEscalator: the scheduled sweep that reminds and escalates pending approvals."""

from functools import cache

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.aws.container import Container
from warden.core.log import logger

metrics = Metrics()
container = Container()


@cache
def sweep():
    from warden.approvals.escalator import ApprovalEscalator
    from warden.approvals.store import Approvals

    clients, settings = container.clients, container.settings
    escalator = ApprovalEscalator(
        approvals=Approvals(clients.dynamodb, settings.state_table),
        codepipeline=container.codepipeline,
        notifier=container.notifier(),
        config=container.config,
    )
    # Keyed on the scheduled event's id: a retried invocation is the same sweep (its claims are its own).
    return container.idempotent(lambda event: escalator.sweep(event["id"]))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    result = sweep()(context, event={"id": event["id"]})
    logger.info("swept", extra={"result": result})
    # The alarm "manual approval pending > 4 hours" watches this (0 when nothing is pending).
    metrics.add_metric(name="OldestPendingApprovalAge", unit=MetricUnit.Seconds, value=result["oldest_age_seconds"])
    metrics.add_metric(name="PendingApprovals", unit=MetricUnit.Count, value=result["pending"])
    metrics.add_metric(name="ApprovalEscalations", unit=MetricUnit.Count, value=len(result["escalated"]))
    return result
