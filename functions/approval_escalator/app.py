"""ApprovalEscalator: the scheduled sweep that reminds and escalates pending approvals."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.aws.container import Container
from warden.aws.entry import Entry, response, scheduled
from warden.core.log import logger

metrics = Metrics()
container = Container()
# Keyed on the scheduled event's id: a retried invocation is the same sweep (its claims are its own).
sweep = Entry(container, lambda: container.approval_escalator.handle, parse=scheduled, with_id=True,
              message="swept")


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    outcome = sweep(event, context)
    for result in outcome.results:
        # The alarm "manual approval pending > 4 hours" watches this (0 when nothing is pending).
        metrics.add_metric(name="OldestPendingApprovalAge", unit=MetricUnit.Seconds,
                           value=result["oldest_age_seconds"])
        metrics.add_metric(name="PendingApprovals", unit=MetricUnit.Count, value=result["pending"])
        metrics.add_metric(name="ApprovalEscalations", unit=MetricUnit.Count, value=len(result["escalated"]))
    return response(outcome)
