"""ApprovalTracker: pending manual approvals from the approval SNS topic and CodePipeline events."""

import os
from functools import cache

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.log import logger
from warden.runtime import Container, parse

metrics = Metrics()
container = Container()


@cache
def track():
    from warden.approval_tracker import ApprovalTracker
    from warden.approvals import Approvals

    clients, settings = container.clients, container.settings
    tracker = ApprovalTracker(
        approvals=Approvals(clients.dynamodb, settings.state_table),
        codepipeline_in=container.codepipeline_in,
        notifier=container.notifier(),
        region=os.environ.get("AWS_REGION", "us-east-1"),
        account=settings.account_id,
    )
    # Keyed on the EventBridge event id or the SNS message id: a redelivery changes nothing.
    return container.idempotent(lambda event, parsed: tracker.handle(parsed, event["id"]))


def deliveries(event):
    """(delivery id, parsed input) for an EventBridge event or each record of an SNS event."""
    if isinstance(event, dict) and "Records" in event:
        from warden.models import InvalidEvent, parse_sns_event

        try:
            parsed = parse_sns_event(event)
        except InvalidEvent as exc:
            logger.error("invalid event", extra={"error": str(exc)})
            raise
        return [(r["Sns"]["MessageId"], p) for r, p in zip(event["Records"], parsed, strict=True)]
    parsed = parse(event)
    return [(parsed.id, parsed)]


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    results = []
    for delivery_id, parsed in deliveries(event):
        result = track()(context, event={"id": delivery_id}, parsed=parsed)
        logger.info("tracked", extra={"result": result})
        if result.get("status") == "sent":
            metrics.add_metric(name="ApprovalNotifications", unit=MetricUnit.Count, value=1)
        results.append(result)
    return results[0] if len(results) == 1 else results
