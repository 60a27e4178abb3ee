"""ArtifactGuard: pipeline artifact buckets kept encrypted, versioned, TLS-only and expiring (daily and on change)."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.core.log import logger
from warden.runtime.container import function
from warden.runtime.invocation import response

metrics = Metrics()
audit = function("ArtifactGuard")  # its settings are checked here, at start-up (warden.runtime.settings)


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
