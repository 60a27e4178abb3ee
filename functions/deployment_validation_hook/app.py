"""DeploymentValidationHook: a CodeDeploy lifecycle hook (BeforeAllowTraffic, AfterAllowTestTraffic,
AfterAllowTraffic) that reports Succeeded or Failed from the alarms guarding the deployment group. A transient
read failure fails the attempt for Lambda to retry; only the last attempt reports `hook_on_error`."""

import os
from functools import cache

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from warden.core.log import logger
from warden.runtime.container import Container
from warden.runtime.invocation import response

metrics = Metrics()
container = Container(needs=("STATE_TABLE",))  # the state table only counts failed attempts


@cache
def hook():
    from warden.rollback.hook import AttemptCounter, ValidationHook

    clients = container.clients
    attempts = AttemptCounter(clients.dynamodb, container.settings.state_table,
                              int(os.environ.get("HOOK_ATTEMPTS", "3")))
    return ValidationHook(codedeploy=clients.codedeploy, cloudwatch=clients.client("cloudwatch"),
                          tagging=clients.client("resourcegroupstaggingapi"),
                          config=lambda: container.config.require("rollback"), account=container.settings.account_id,
                          attempts=attempts)


def invocation(event):
    """The lifecycle hook's payload; InvalidEvent (dead-lettered) for anything else."""
    from warden.models import CodeDeployLifecycleHookEvent, InvalidEvent, parse_event

    parsed = parse_event(event)
    if not isinstance(parsed, CodeDeployLifecycleHookEvent):
        raise InvalidEvent(f"not an input of this function: {getattr(parsed, 'detail_type', type(parsed).__name__)}")
    return parsed


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    # No idempotency store: a redelivered invocation reports again and CodeDeploy says it is done already.
    outcome = container.guard(event, lambda: [hook().run(invocation(event))])
    for result in outcome.results:
        logger.info("validation hook", extra={"result": result})
        if result.get("status") in ("Succeeded", "Failed"):
            metrics.add_metric(name=f"Hook{result['status']}", unit=MetricUnit.Count, value=1)
    return response(outcome)
