"""DeploymentGate: a CodePipeline V2 stage-entry condition (LambdaInvoke rule) that allows or denies entry
to a stage: freeze calendars, the automatic freeze while production is unhealthy, break-glass overrides.
It answers with PutJobSuccessResult or PutJobFailureResult (the console shows the reason)."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.core.log import logger
from warden.runtime.container import function
from warden.runtime.invocation import response

metrics = Metrics()
gate = function("DeploymentGate")  # its settings are checked here, at start-up (warden.runtime.settings)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    outcome = gate(event, context)
    for result in outcome.results:
        if result.get("status") in ("allowed", "denied"):
            metrics.add_metric(name=f"Gate{result['status'].capitalize()}", unit=MetricUnit.Count, value=1)
    return response(outcome)
