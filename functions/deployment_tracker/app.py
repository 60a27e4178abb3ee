"""DeploymentTracker: CodePipeline state changes, into the deployment ledger, with DORA metrics."""

from aws_lambda_powertools import Metrics

from warden.core.log import logger
from warden.runtime.container import function, ledger_report
from warden.runtime.invocation import response

metrics = Metrics()
record = function("DeploymentTracker")  # its settings are checked here, at start-up (warden.runtime.settings)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    outcome = record(event, context)
    for recorded in outcome.results:
        if recorded is not None and recorded.metrics:
            # The pipeline's ref: same-named pipelines of two accounts are two series.
            metrics.add_dimension(name="pipeline", value=recorded.pipeline)
            for metric in recorded.metrics:
                metrics.add_metric(name=metric.name, unit=metric.unit, value=metric.value)
        if recorded is not None and recorded.partial:
            metrics.add_metric(name="LedgerPartialRecords", unit="Count", value=1)
    return response(outcome, ledger_report)
