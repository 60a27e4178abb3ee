"""DeploymentTracker: CodePipeline state changes, into the deployment ledger, with DORA metrics."""

from aws_lambda_powertools import Metrics

from warden.aws.container import Container
from warden.aws.entry import Entry, response
from warden.core.log import logger

metrics = Metrics()
container = Container(needs=("LEDGER_TABLE",))  # its own tables only (template.yaml)


def report(recorded):
    if recorded is None:  # logged with the result: never silent
        return {"status": "ignored",
                "reason": "the ledger keeps pipeline and stage executions and decided approvals, not this event"}
    return {"status": "recorded" if recorded.applied else "unchanged", "kind": recorded.kind,
            "pipeline": recorded.pipeline, "execution_id": recorded.execution_id, "partial": recorded.partial}


# No idempotency store: every ledger write converges under redelivery (warden.ledger.recorder), so a
# duplicate changes nothing and emits no metric, and it costs no extra calls.
def accepts():
    from warden.models import ActionExecutionStateChange, PipelineExecutionStateChange, StageExecutionStateChange

    return (PipelineExecutionStateChange, StageExecutionStateChange, ActionExecutionStateChange)


record = Entry(container, lambda: container.ledger.record, idempotent=False, message="ledger", report=report,
               accepts=accepts)


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
    return response(outcome, report)
