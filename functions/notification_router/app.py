"""NotificationRouter: CodePipeline and CodeDeploy state changes, to the audience that must know."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.core.log import logger
from warden.runtime.container import Container
from warden.runtime.invocation import Entry, response

metrics = Metrics()
container = Container(needs=("STATE_TABLE", "IDEMPOTENCY_TABLE"))  # its own tables only (template.yaml)
# Keyed on the EventBridge event id: a redelivered event publishes nothing new.


def ignored(parsed):
    """Events nobody hears of change nothing: they skip the idempotency record (two calls saved)."""
    from warden.router.router import NotificationRouter

    return NotificationRouter.ignored(parsed)  # with its kind and state, as the log and the result say


def accepts():
    from warden.models import (
        ActionExecutionStateChange,
        CodeDeployDeploymentStateChange,
        PipelineExecutionStateChange,
        StageExecutionStateChange,
    )

    return (PipelineExecutionStateChange, StageExecutionStateChange, ActionExecutionStateChange,
            CodeDeployDeploymentStateChange)


route = Entry(container, lambda: container.notification_router.handle, message="routed", skip=ignored,
              accepts=accepts)


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
