"""NotificationRouter: CodePipeline and CodeDeploy state changes, to the audience that must know."""

from functools import cache

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.aws.container import Container, parse
from warden.core.log import logger
from warden.router.incidents import Incidents
from warden.router.router import NotificationRouter

metrics = Metrics()
container = Container()


@cache
def route():
    clients, settings = container.clients, container.settings
    router = NotificationRouter(
        notifier=container.notifier(),
        incidents=Incidents(clients.dynamodb, settings.state_table),
        codepipeline=container.codepipeline,
    )
    # Keyed on the EventBridge event id: a redelivered event publishes nothing new.
    return container.idempotent(lambda event, parsed: router.handle(parsed))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    def work():
        parsed = parse(event)
        return route()(context, event={"id": parsed.id}, parsed=parsed)

    result = container.guard(event, work)
    logger.info("routed", extra={"result": result})
    if result.get("status") == "sent":
        metrics.add_dimension(name="event", value=result["event"])
        metrics.add_metric(name="Notifications", unit=MetricUnit.Count, value=len(result["audiences"]))
        if result.get("paged"):
            metrics.add_metric(name="Pages", unit=MetricUnit.Count, value=1)
    return result
