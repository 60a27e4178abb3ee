"""ApprovalEscalator: the scheduled sweep that reminds and escalates pending approvals, and tells the
team of executions still running past their pipeline's threshold (pipeline.slow)."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.aws.container import Container
from warden.aws.entry import Entry, response, scheduled
from warden.core.log import logger

metrics = Metrics()
container = Container(needs=("STATE_TABLE", "IDEMPOTENCY_TABLE", "LEDGER_TABLE"))  # its own tables (template.yaml)


def both_sweeps():
    """Pending approvals (escalation tiers) and running executions (pipeline.slow), in one schedule."""
    approvals, escalator, slow = container.approvals, container.approval_escalator, container.slow_executions

    def run(scheduled_event, sweep_id):
        pending = approvals.pending()
        waiting = frozenset(i["execution_id"] for i in pending if i.get("execution_id"))
        # Through sweep(), not escalate(): a channel that failed must fail the invocation (after both
        # sweeps ran) so that Lambda retries it; each effect already done is skipped on the retry.
        return escalator.sweep(sweep_id, pending, also=lambda: {"executions": slow.sweep(sweep_id, waiting)})

    return run


# Keyed on the scheduled event's id: a retried invocation is the same sweep (its claims are its own).
sweep = Entry(container, both_sweeps, parse=scheduled, with_id=True, message="swept")


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    # The sweep starts nothing new once the invocation is about to run out of time (the rest stays due).
    container.approval_escalator.time_left = getattr(context, "get_remaining_time_in_millis", None)
    outcome = sweep(event, context)
    for result in outcome.results:
        # The alarm "manual approval pending > 4 hours" watches this (0 when nothing is pending).
        metrics.add_metric(name="OldestPendingApprovalAge", unit=MetricUnit.Seconds,
                           value=result["oldest_age_seconds"])
        metrics.add_metric(name="PendingApprovals", unit=MetricUnit.Count, value=result["pending"])
        metrics.add_metric(name="ApprovalEscalations", unit=MetricUnit.Count, value=len(result["escalated"]))
        metrics.add_metric(name="ApprovalsLeftForNextSweep", unit=MetricUnit.Count, value=len(result["left"]))
        executions = result["executions"]
        metrics.add_metric(name="SlowExecutions", unit=MetricUnit.Count, value=len(executions["slow"]))
        metrics.add_metric(name="ExecutionsPastThreshold", unit=MetricUnit.Count,
                           value=executions["running_past_threshold"])
    return response(outcome)
