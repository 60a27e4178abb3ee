"""ApprovalTracker: pending manual approvals from the approval SNS topic and CodePipeline events."""

from functools import cache

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.aws.container import Container, deliveries
from warden.core.log import logger

metrics = Metrics()
container = Container()


@cache
def track():
    from warden.approvals.store import Approvals
    from warden.approvals.tracker import ApprovalTracker

    clients, settings = container.clients, container.settings
    tracker = ApprovalTracker(
        approvals=Approvals(clients.dynamodb, settings.state_table),
        codepipeline=container.codepipeline,
        notifier=container.notifier(),
        region=settings.region,
    )
    # Keyed on the EventBridge event id or the SNS message id: a redelivery changes nothing.
    return container.idempotent(lambda event, parsed: tracker.handle(parsed, event["id"]))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    def work():
        return [track()(context, event={"id": delivery_id}, parsed=parsed) for delivery_id, parsed in deliveries(event)]

    results = container.guard(event, work)  # an invalid input goes straight to the DLQ (a dict, then)
    for result in results if isinstance(results, list) else [results]:
        logger.info("tracked", extra={"result": result})
        if result.get("status") == "sent":
            metrics.add_metric(name="ApprovalNotifications", unit=MetricUnit.Count, value=1)
    return results[0] if isinstance(results, list) and len(results) == 1 else results
