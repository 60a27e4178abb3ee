"""DeploymentValidationHook: a CodeDeploy lifecycle hook (BeforeAllowTraffic, AfterAllowTestTraffic,
AfterAllowTraffic) that reports Succeeded or Failed from the alarms guarding the deployment group. A transient
read failure fails the attempt for Lambda to retry; only the last attempt reports `hook_on_error`."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.core.log import logger
from warden.runtime.container import function
from warden.runtime.invocation import response

metrics = Metrics()
hook = function("DeploymentValidationHook")  # its settings are checked here, at start-up (warden.runtime.settings)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    outcome = hook(event, context)
    for result in outcome.results:
        if result.get("status") in ("Succeeded", "Failed"):
            metrics.add_metric(name=f"Hook{result['status']}", unit=MetricUnit.Count, value=1)
    return response(outcome)
