"""RollbackTrigger: CloudWatch alarm transitions into ALARM (EventBridge, this account and forwarded workload
accounts, or an alarm action's SNS message, confirmed with CloudWatch first) roll back the stage or deployment
group they guard; the rollback's own stage events finish it (the rollback after a stop) and resolve its page,
and CodeDeploy's rollback of a deployment Warden stopped resolves that page.

The `rollback` document is read strictly: unreadable, the invocation fails and Lambda retries it (then the
dead-letter queue, whose alarm tells on-call); invalid, it is dead-lettered at once with the reason. Warden
never acts on built-in defaults in place of a document that exists (a dry_run document stays a dry run)."""

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.core.log import logger
from warden.runtime.container import function
from warden.runtime.invocation import response

metrics = Metrics()
trigger = function("RollbackTrigger")  # its settings are checked here, at start-up (warden.runtime.settings)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    outcome = trigger(event, context)
    for result in outcome.results:
        for one in result.get("outcomes", []):
            metrics.add_metric(name="RollbackSkipped" if one["status"] == "skipped" else "RollbackActions",
                               unit=MetricUnit.Count, value=1)
    return {"status": "handled", "results": list(outcome.results)} if outcome.dead_lettered is None \
        else response(outcome)
