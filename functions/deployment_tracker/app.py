"""DeploymentTracker: CodePipeline state changes, into the deployment ledger, with DORA metrics."""

from functools import cache

from aws_lambda_powertools import Metrics

from warden.aws.container import Container, parse
from warden.core.log import logger

metrics = Metrics()
container = Container()


@cache
def ledger():
    from warden.ledger.recorder import Ledger

    clients = container.clients
    # No idempotency store: every ledger write converges under redelivery (warden.ledger.recorder), so a
    # duplicate changes nothing and emits no metric, and it costs no extra calls.
    return Ledger(dynamodb=clients.dynamodb, table=container.settings.ledger_table,
                  codepipeline=container.codepipeline, codecommit=clients.codecommit,
                  config=lambda: container.config.get("ledger"))


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    recorded = container.guard(event, lambda: ledger().record(parse(event)) or {"status": "ignored"})
    if isinstance(recorded, dict):  # ignored, or dead-lettered as invalid
        return recorded
    result = {"status": "recorded" if recorded.applied else "unchanged", "kind": recorded.kind,
              "pipeline": recorded.pipeline, "execution_id": recorded.execution_id, "partial": recorded.partial}
    logger.info("ledger", extra={"result": result})
    if recorded.metrics:
        # The pipeline's ref: same-named pipelines of two accounts are two series.
        metrics.add_dimension(name="pipeline", value=recorded.pipeline)
        for metric in recorded.metrics:
            metrics.add_metric(name=metric.name, unit=metric.unit, value=metric.value)
    if recorded.partial:
        metrics.add_metric(name="LedgerPartialRecords", unit="Count", value=1)
    return result
