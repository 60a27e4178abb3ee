"""What the embedded world relies on in moto's internals, in one place, checked.

moto's model and response classes are not its public API: 5.2.6 renamed `CodePipeline._created` to
`.created` and dropped `PipelineExecution.to_dict()`, and the fakes that read them broke 77 tests at
once. The fakes now keep their own state (CodePipeline executions, CodeDeploy outcomes) and touch moto
only where they must extend it: the backends' dictionaries of resources, the response classes they add
methods to, and the few model attributes and methods listed in `CONTRACT`. `check()` verifies that
contract against the installed moto and fails with one message naming the moto version and every broken
item; `install()` runs it, and tests/unit/local/test_moto_model.py runs it and probes it live, so a moto
release that changes a shape fails there, saying so, instead of somewhere downstream.
"""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Any

import moto
from moto.cloudwatch.models import Alarm, cloudwatch_backends
from moto.cloudwatch.responses import CloudWatchResponse
from moto.codedeploy.models import CodeDeployBackend, codedeploy_backends
from moto.codedeploy.responses import CodeDeployResponse
from moto.codepipeline.models import CodePipelineBackend, codepipeline_backends
from moto.codepipeline.responses import CodePipelineResponse
from moto.core.responses import BaseResponse
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.iam.access_control import PermissionResult
from moto.kms import models as kms_models
from moto.s3 import models as s3_models
from moto.s3.models import FakeBucket, FakeDeleteMarker, S3Backend
from moto.s3.responses import S3Response
from moto.sqs.models import Queue, sqs_backends

MOTO_VERSION = moto.__version__
# The versions this contract was checked against (uv.lock pins one of them).
KNOWN_GOOD = ("5.2.5", "5.2.6")


class MotoShapeChanged(RuntimeError):
    """moto no longer has something the embedded world extends."""


def _has(owner: Any, *names: str) -> bool:
    return all(hasattr(owner, name) for name in names)


def _takes(function: Any, *params: str) -> bool:
    try:
        return set(params) <= set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return False


# (what, check): each check is cheap and static (classes and signatures, no AWS resources).
CONTRACT: tuple[tuple[str, Any], ...] = (
    ("BaseResponse._get_param / current_account / region / get_access_key",
     lambda: _has(BaseResponse, "_get_param", "get_access_key")),
    ("CodePipelineBackend(region, account).pipelines: a dict of name -> object with .pipeline",
     lambda: isinstance(CodePipelineBackend("us-east-1", "000000000000").pipelines, dict)),
    ("CodePipelineBackend.create_pipeline(pipeline, tags) (benchmarks create thousands without HTTP)",
     lambda: _takes(CodePipelineBackend.create_pipeline, "pipeline", "tags")),
    ("CodePipelineResponse dispatches actions by method name (get_pipeline, list_pipelines)",
     lambda: _has(CodePipelineResponse, "get_pipeline", "list_pipelines")),
    ("CodeDeployBackend.get_deployment / create_deployment(application_name, deployment_group_name, revision,"
     " deployment_config_name) / get_deployment_group",
     lambda: _has(CodeDeployBackend, "get_deployment", "get_deployment_group")
     and _takes(CodeDeployBackend.create_deployment, "deployment_config_name")),
    ("CodeDeployResponse.get_deployment_group / create_deployment / get_deployment / batch_get_deployments",
     lambda: _has(CodeDeployResponse, "get_deployment_group", "create_deployment", "get_deployment",
                  "batch_get_deployments")),
    ("S3Response._key_response(request, full_url)", lambda: _takes(S3Response._key_response, "request", "full_url")),
    ("FakeBucket.get_permission(action, resource)", lambda: _takes(FakeBucket.get_permission, "action", "resource")),
    ("S3Backend.put_bucket_policy / get_bucket_encryption / delete_object(bucket, key, version_id)",
     lambda: _has(S3Backend, "put_bucket_policy", "get_bucket_encryption")
     and _takes(S3Backend.delete_object, "version_id")),
    ("moto.s3.models.utcnow (objects and lifecycle on the world's clock)", lambda: _has(s3_models, "utcnow")),
    ("cloudwatch Alarm(..., rule) with update_state (state_value, state_reason, state_reason_data,"
     " state_updated_timestamp, history); DescribeAlarms renders attributes by name (actions_suppressed_by)",
     lambda: _takes(Alarm.__init__, "rule") and _has(Alarm, "update_state")),
    ("CloudWatchResponse.put_metric_alarm / cloudwatch_backend (PutCompositeAlarm is added beside them)",
     lambda: _has(CloudWatchResponse, "put_metric_alarm", "cloudwatch_backend")),
    ("FakeDeleteMarker, PermissionResult.PERMITTED / DENIED / NEUTRAL",
     lambda: bool(FakeDeleteMarker) and _has(PermissionResult, "PERMITTED", "DENIED", "NEUTRAL")),
    ("dynamodb get_table(name).all_items(), each Item's .attrs of DynamoType.to_regular_json (the world's table"
     " reads, in a Scan's order)", lambda: _has(Table, "all_items") and _has(DynamoType, "to_regular_json")),
    ("moto.kms.models.generate_private_key(key_spec), what Key.__init__ calls for its signing pair",
     lambda: _takes(kms_models.generate_private_key, "key_spec")),
    ("sqs Queue.approximate_number_of_messages / _not_visible / _delayed (an empty queue is not asked)",
     lambda: _has(Queue, "approximate_number_of_messages", "approximate_number_of_messages_not_visible",
                  "approximate_number_of_messages_delayed")),
)


def broken() -> list[str]:
    """The contract items the installed moto does not meet."""
    failed = []
    for what, check in CONTRACT:
        try:
            ok = check()
        except Exception:  # noqa: BLE001 - any failure to inspect is a broken item
            ok = False
        if not ok:
            failed.append(what)
    return failed


def check() -> None:
    failed = broken()
    if failed:
        raise MotoShapeChanged(
            f"moto {MOTO_VERSION} changed what the embedded world extends (checked against moto "
            f"{', '.join(KNOWN_GOOD)}; uv.lock pins the version `make` installs): " + "; ".join(failed)
        )


# ---- CodePipeline: definitions are moto's, everything that happens to them is the fake's -----------------
def pipeline_definition(account_id: str, region: str, name: Any) -> dict[str, Any] | None:
    """The pipeline's declaration as CreatePipeline/UpdatePipeline stored it, or None."""
    if not isinstance(name, str):
        return None
    found = codepipeline_backends[account_id][region].pipelines.get(name)
    return None if found is None else found.pipeline


def pipeline_times(account_id: str, region: str, name: str) -> tuple[datetime, datetime] | None:
    """(created, updated) of a pipeline: `created`/`updated` since moto 5.2.6, `_created`/`_updated` before."""
    found = codepipeline_backends[account_id][region].pipelines.get(name)
    for created, updated in (("created", "updated"), ("_created", "_updated")):
        if found is not None and isinstance(getattr(found, created, None), datetime):
            return getattr(found, created), getattr(found, updated)
    return None


def create_pipelines(account_id: str, region: str, definitions: list[dict[str, Any]]) -> None:
    """Many pipelines at once, straight into moto's backend (the API takes long for thousands)."""
    backend = codepipeline_backends[account_id][region]
    for definition in definitions:
        backend.create_pipeline(definition, [])


def codepipeline_backend(account_id: str, region: str) -> Any:
    return codepipeline_backends[account_id][region]


def cloudwatch_alarms(account_id: str, region: str) -> dict[str, Any]:
    """moto's alarms of an account and region, by name."""
    return cloudwatch_backends[account_id][region].alarms


def codedeploy_backend(account_id: str, region: str) -> Any:
    return codedeploy_backends[account_id][region]


# ---- DynamoDB and SQS: what the world observes, read without a call --------------------------------------
def table_items(account_id: str, region: str, table_name: str) -> list[dict[str, Any]]:
    """A table's items as attribute maps in DynamoDB's JSON, binary values as bytes (as botocore parses a Scan's
    answer), in the order a Scan returns them."""
    table = dynamodb_backends[account_id][region].get_table(table_name)
    return [{k: v.to_regular_json() for k, v in item.attrs.items()} for item in table.all_items()]


def queue_holds_messages(account_id: str, region: str, name: str) -> bool | None:
    """Whether a queue holds any message (visible, in flight or delayed); None when moto has no such queue."""
    queue = sqs_backends[account_id][region].queues.get(name) if account_id in sqs_backends else None
    if queue is None:
        return None
    return bool(queue.approximate_number_of_messages + queue.approximate_number_of_messages_not_visible
                + queue.approximate_number_of_messages_delayed)
