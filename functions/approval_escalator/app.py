"""ApprovalEscalator: the scheduled sweep that reminds and escalates pending approvals, and tells the
team of executions still running past their pipeline's threshold (pipeline.slow)."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.core.log import logger
from warden.runtime.container import function
from warden.runtime.invocation import response

metrics = Metrics()
sweep = function("ApprovalEscalator")  # its settings are checked here, at start-up (warden.runtime.settings)


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
        executions = result["executions"]
        metrics.add_metric(name="SlowExecutions", unit=MetricUnit.Count, value=len(executions["slow"]))
        metrics.add_metric(name="ExecutionsPastThreshold", unit=MetricUnit.Count,
                           value=executions["running_past_threshold"])
    return response(outcome)
