"""Embedded CodePipeline artifacts: where each action's artifacts live, and the objects themselves.

CodePipeline stores an action's output artifact in the pipeline's artifact bucket (the store of the
action's region) under `<pipeline name, 20 chars>/<artifact name, 10 chars>/<random id>`, encrypted with
aws:kms (the store's key, or aws/s3), and reports it in ListActionExecutions as `s3location {bucket, key}`
(ArtifactDetail) of the producing action's output and of every consuming action's input. Here the random
id is derived from the execution and artifact name, so producer and consumers agree without state; an
action of a rollback execution reads the target execution's artifacts, as CodePipeline's rollback does.
When a fed event says an action with output artifacts succeeded, its objects are written (as
CodePipeline's action would have), if the bucket exists in the embedded world.
"""

from __future__ import annotations

import hashlib
from typing import Any

from moto.s3.models import s3_backends


def store_of(pipeline_def: dict[str, Any], region: str) -> dict[str, Any]:
    stores = pipeline_def.get("artifactStores") or {}
    return stores.get(region) or pipeline_def.get("artifactStore") or {}


def location(pipeline_def: dict[str, Any], region: str, execution_id: str, artifact: str) -> dict[str, str] | None:
    store = store_of(pipeline_def, region)
    if not store.get("location"):
        return None
    suffix = hashlib.sha256(f"{execution_id}/{artifact}".encode()).hexdigest()[:7]
    return {"bucket": store["location"], "key": f"{pipeline_def['name'][:20]}/{artifact[:10]}/{suffix}"}


def source_execution(state: Any, pipeline_name: str, execution_id: str) -> str:
    """The execution whose artifacts an execution's actions read (a rollback reads its target's)."""
    execution = state.pipelines.get(pipeline_name)
    record = execution.executions.get(execution_id) if execution else None
    return (record.rollback_target if record is not None and record.rollback_target else execution_id)


def detail(state: Any, pipeline_def: dict[str, Any], run: Any, names: list[str]) -> list[dict[str, Any]]:
    """ArtifactDetail list: `name` and `s3location` of each named artifact of the run's execution."""
    execution_id = source_execution(state, pipeline_def["name"], run.pipeline_execution_id)
    found = []
    for name in names:
        where = location(pipeline_def, state.region, execution_id, name)
        found.append({"name": name, **({"s3location": where} if where else {})})
    return found


def write_outputs(state: Any, pipeline_def: dict[str, Any], action_def: dict[str, Any], run: Any) -> None:
    """The succeeded action's output artifacts, written where CodePipeline would write them."""
    execution_id = source_execution(state, pipeline_def["name"], run.pipeline_execution_id)
    store = store_of(pipeline_def, state.region)
    key_id = (store.get("encryptionKey") or {}).get("id")
    backend = s3_backends[state.account_id]["global"]
    for artifact in action_def.get("outputArtifacts") or []:
        where = location(pipeline_def, state.region, execution_id, artifact["name"])
        if where is None or where["bucket"] not in backend.buckets:
            continue
        if backend.buckets[where["bucket"]].keys.get(where["key"]) is not None:
            continue  # a redelivered event: the object is there already
        body = f"artifact {artifact['name']} of {pipeline_def['name']} execution {execution_id}".encode()
        backend.put_object(where["bucket"], where["key"], body, encryption="aws:kms", kms_key_id=key_id,
                           disable_notification=True)
