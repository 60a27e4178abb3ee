"""ApprovalTracker: pending manual approvals from the approval SNS topic and CodePipeline events."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.core.log import logger
from warden.runtime.container import function
from warden.runtime.invocation import response

metrics = Metrics()
track = function("ApprovalTracker")  # its settings are checked here, at start-up (warden.runtime.settings)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    outcome = track(event, context)
    for result in outcome.results:
        if result.get("status") == "sent":
            metrics.add_metric(name="ApprovalNotifications", unit=MetricUnit.Count, value=1)
        if result.get("status") == "unverified":  # recorded, told to nobody (warden.approvals.tracker)
            metrics.add_metric(name="UnverifiedApprovalMessages", unit=MetricUnit.Count, value=1)
        if result.get("status") == "expired":  # refused: CodePipeline has failed the approval already
            metrics.add_metric(name="ExpiredApprovalMessages", unit=MetricUnit.Count, value=1)
        if result.get("status") == "conflict":  # a later approval message disagreed with the first: ignored
            metrics.add_metric(name="ApprovalMessageConflicts", unit=MetricUnit.Count, value=1)
    return response(outcome)
