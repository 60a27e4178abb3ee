"""ArtifactGuard: pipeline artifact buckets kept encrypted, versioned, TLS-only and expiring (daily and on change)."""

from functools import cache

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.core.log import logger
from warden.runtime.container import Container
from warden.runtime.invocation import Entry, deliveries, response, scheduled

metrics = Metrics()
container = Container(needs=("STATE_TABLE", "LEDGER_TABLE"))  # its own tables only (template.yaml)


def _parse(event):
    if isinstance(event, dict) and event.get("detail-type") == "Scheduled Event":
        return scheduled(event)
    return deliveries(event)  # CloudTrail "AWS API Call" events


@cache
def _guard():
    from warden.artifacts.factory import build

    return build(container)


def _run(parsed):
    guard = _guard()
    return guard.sweep() if isinstance(parsed, dict) else guard.handle(parsed)


# No idempotency store: a repeated pass or event finds compliant buckets and findings already told.
def _accepts():
    from warden.models import CloudTrailApiCallEvent

    return (dict, CloudTrailApiCallEvent)  # the scheduled pass, or a CloudTrail call


audit = Entry(container, lambda: _run, parse=_parse, idempotent=False, message="artifacts",
              report=lambda result: {k: v for k, v in result.items() if k != "buckets"}, accepts=_accepts)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    outcome = audit(event, context)
    for result in outcome.results:
        if result.get("status") != "audited":
            continue
        metrics.add_metric(name="ArtifactBucketsAudited", unit=MetricUnit.Count, value=result["audited"])
        metrics.add_metric(name="ArtifactBucketsNoncompliant", unit=MetricUnit.Count, value=result["noncompliant"])
        metrics.add_metric(name="ArtifactBucketsFixed", unit=MetricUnit.Count, value=result["fixed"])
        if result.get("protection"):
            metrics.add_metric(name="RollbackArtifactsRefreshed", unit=MetricUnit.Count,
                               value=result["protection"]["refreshed"])
            metrics.add_metric(name="RollbackArtifactsMissing", unit=MetricUnit.Count,
                               value=result["protection"]["missing"])
    return response(outcome)
