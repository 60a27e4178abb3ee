"""NotificationRouter: CodePipeline and CodeDeploy state changes, to the audience that must know."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.core.log import logger
from warden.runtime.container import function
from warden.runtime.invocation import response

metrics = Metrics()
route = function("NotificationRouter")  # its settings are checked here, at start-up (warden.runtime.settings)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    outcome = route(event, context)
    for result in outcome.results:
        if result.get("status") == "ignored":  # a state no audience is told of: counted, never silent
            metrics.add_metric(name="IgnoredEvents", unit=MetricUnit.Count, value=1)
        if result.get("status") == "sent":
            metrics.add_dimension(name="event", value=result["event"])
            metrics.add_metric(name="Notifications", unit=MetricUnit.Count, value=len(result["audiences"]))
            if result.get("paged"):
                metrics.add_metric(name="Pages", unit=MetricUnit.Count, value=1)
    return response(outcome)
