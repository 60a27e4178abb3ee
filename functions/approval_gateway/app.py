"""ApprovalGateway: Slack's interactivity requests (Approve / Reject) behind a Lambda function URL. The URL has
no IAM auth because Slack cannot sign SigV4: Slack's request signature, checked before anything is parsed,
is the authentication (warden.approvals.signing)."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.core.log import logger
from warden.runtime.container import function
from warden.runtime.invocation import http_response

metrics = Metrics()
gateway = function("ApprovalGateway")  # its settings are checked here, at start-up (warden.runtime.settings)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    outcome = gateway(event, context)
    for result in outcome.results:
        if result.status == "refused":  # every refusal counted, and by its reason
            metrics.add_metric(name="ChatApprovalRefusals", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name=f"ChatApprovalRefused_{result.code}", unit=MetricUnit.Count, value=1)
        elif result.status in ("decided", "voted"):
            metrics.add_metric(name=f"ChatApprovals_{result.status}", unit=MetricUnit.Count, value=1)
    return http_response(outcome)
