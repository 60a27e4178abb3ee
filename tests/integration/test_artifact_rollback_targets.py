"""Rollback targets stay restorable: a stage deployed 90 and 45 days ago keeps both executions' artifacts,
while everything else in the bucket expires on the 30-day schedule (S3 lifecycle run by the embedded world)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import timedelta
from typing import Any

from tests.helpers import EVENTS
from tests.integration.test_artifacts import BUCKET, T0, start, sweep, writes
from warden.core.clock import iso
from warden_local.replay import Step

TYPES = {"Source": ("AWS", "CodeStarSourceConnection", "Source"), "Build": ("AWS", "CodeBuild", "Build"),
         "Deploy-Prod": ("AWS", "CodeDeploy", "Deploy")}
ACTIONS = {"Source": "Source", "Build": "Compile", "Deploy-Prod": "Deploy"}


def _event(sample: str, at, execution: str, **detail: Any) -> dict[str, Any]:
    event = json.loads((EVENTS / "codepipeline" / sample).read_text())
    event.update(id=str(uuid.uuid4()), time=iso(at))
    event["detail"] = {k: v for k, v in event["detail"].items() if k in ("pipeline", "version")} | {
        "execution-id": execution, "pipeline-execution-attempt": 1} | detail
    return event


def deployment(at, execution: str) -> list[dict[str, Any]]:
    """One execution through Source, Build and Deploy-Prod, as CodePipeline's events tell it."""
    events = [_event("pipeline-started.json", at, execution, state="STARTED")]
    for n, stage in enumerate(("Source", "Build", "Deploy-Prod")):
        owner, provider, category = TYPES[stage]
        moment = at + timedelta(minutes=5 * n + 1)
        events.append(_event("action-started-build.json", moment, execution, stage=stage, action=ACTIONS[stage],
                             state="SUCCEEDED", region="us-east-1",
                             type={"owner": owner, "provider": provider, "category": category, "version": "1"}))
        events.append(_event("stage-succeeded-build.json", moment + timedelta(seconds=5), execution, stage=stage,
                             state="SUCCEEDED"))
    events.append(_event("pipeline-succeeded.json", at + timedelta(minutes=20), execution, state="SUCCEEDED"))
    return events


def feed_all(replayer: Any, events: list[dict[str, Any]]) -> None:
    for event in events:
        replayer.step(Step("event", None, event=copy.deepcopy(event)))


def readable(world: Any, key: str) -> bool:
    s3 = world.client("s3")
    try:
        s3.get_object(Bucket=BUCKET, Key=key)
    except s3.exceptions.NoSuchKey:
        return False
    return True


def test_given_deployments_90_and_45_days_old_when_time_passes_then_both_stay_restorable(world):
    replayer = start(world)
    old, recent = str(uuid.uuid4()), str(uuid.uuid4())
    begin = T0 - timedelta(days=90)
    sweep(replayer, begin - timedelta(hours=1))  # the bucket is made compliant: 30-day expiry from now on
    feed_all(replayer, deployment(begin, old))
    at, refreshed = begin, 0
    while at < T0:
        at = min(at + timedelta(days=6), T0)
        if at - timedelta(days=6) < T0 - timedelta(days=45) <= at:
            feed_all(replayer, deployment(T0 - timedelta(days=45), recent))
        step = sweep(replayer, at)
        refreshed += len([e for e in writes(step) if e["api"] == "s3:CopyObject"])
        assert {e["api"] for e in writes(step)} <= {"s3:CopyObject"}

    ledger = {i["execution_id"]: i for i in world.table_items("LedgerTable") if i.get("kind") == "execution"}
    keys = {eid: ledger[eid]["stage:Deploy-Prod:artifacts"][0]["key"] for eid in (old, recent)}
    assert all(readable(world, key) for key in keys.values()), "both rollback targets must stay readable"
    # The same key is what a rollback re-deploys: CodePipeline's own answer for the old execution says so.
    details = world.client("codepipeline").list_action_executions(
        pipelineName="payments-api", filter={"pipelineExecutionId": old})["actionExecutionDetails"]
    [deploy] = [d for d in details if d["stageName"] == "Deploy-Prod"]
    assert deploy["input"]["inputArtifacts"][0]["s3location"] == {"bucket": BUCKET, "key": keys[old]}
    # Everything else expired on time: the old execution's source artifact, read by no deploying stage.
    [source] = [d for d in details if d["stageName"] == "Source"]
    source_key = source["output"]["outputArtifacts"][0]["s3location"]["key"]
    assert source_key != keys[old] and not readable(world, source_key)
    assert source_key not in _all_keys(world), "expired, its delete marker removed too"
    assert refreshed >= 3  # 90 days: the old artifact refreshed at least every ~23 days
    versions = world.client("s3").list_object_versions(Bucket=BUCKET, Prefix=keys[old]).get("Versions", [])
    assert len(versions) <= 2, "replaced versions expire on the noncurrent schedule"


def _all_keys(world: Any) -> list[str]:
    s3 = world.client("s3")
    versions = s3.list_object_versions(Bucket=BUCKET)
    return sorted({v["Key"] for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])})


# -- only where Warden may write; a refused location is told and the pass goes on ------------------------------
def _copies(step: dict[str, Any], bucket: str = BUCKET) -> list[dict[str, Any]]:
    return [e for e in writes(step) if e["api"] == "s3:CopyObject" and e["params"]["Bucket"] == bucket]


def _dead(step: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in step["effects"] if e["kind"] == "dead_letter"]


def _deploy(replayer: Any, at, execution: str) -> None:
    """One execution's events, each at its own time (the artifacts are written then)."""
    from warden.core.clock import parse_iso

    for event in deployment(at, execution):
        replayer.step(Step("event", parse_iso(event["time"]), event=copy.deepcopy(event)))


def _targets(world: Any, execution: str) -> str:
    ledger = {i["execution_id"]: i for i in world.table_items("LedgerTable") if i.get("kind") == "execution"}
    return ledger[execution]["stage:Deploy-Prod:artifacts"][0]["key"]


def test_a_store_that_is_not_eligible_gets_no_copy_25_days_on(world):
    from tests.integration.test_artifacts_hostile import TEAM_BUCKET, pipeline_naming

    replayer = start(world, calls=pipeline_naming(TEAM_BUCKET, calls=[
        {"call": "s3:CreateBucket", "params": {"Bucket": TEAM_BUCKET}}]))
    sweep(replayer, T0 - timedelta(days=26))
    _deploy(replayer, T0 - timedelta(days=25), str(uuid.uuid4()))
    step = sweep(replayer, T0)
    assert _copies(step, TEAM_BUCKET) == [] and [e for e in writes(step) if e["params"].get("Bucket") == TEAM_BUCKET] \
        == []
    assert _dead(step) == []


def test_a_copy_s3_refuses_is_told_per_location_and_the_other_target_is_still_kept(world, monkeypatch):
    import botocore.client
    from botocore.exceptions import ClientError

    replayer = start(world)
    old, recent = str(uuid.uuid4()), str(uuid.uuid4())
    sweep(replayer, T0 - timedelta(days=40))
    _deploy(replayer, T0 - timedelta(days=28), old)
    _deploy(replayer, T0 - timedelta(days=25), recent)
    denied = _targets(world, old)
    original = botocore.client.BaseClient._make_api_call

    def iam_denies_one(self, operation, params):
        if operation == "CopyObject" and params.get("Key") == denied:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, operation)
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", iam_denies_one)
    step = sweep(replayer, T0)
    assert _dead(step) == []  # the pass is not failed into the dead-letter queue
    assert [e["params"]["Key"] for e in _copies(step)] == [_targets(world, recent)]
    [told] = [m for m in step["effects"] if m["kind"] == "message"]
    assert f"s3://{BUCKET}/{denied}" in told["body"] and "AccessDenied" in told["body"]
    assert "rollback-target.kept" in told["body"] and "Deploy-Prod" in told["body"]
    # Told once: the next day's pass, refused again, is quiet; once the copy works, it is kept.
    again = sweep(replayer, T0 + timedelta(days=1))
    assert _dead(again) == [] and [m for m in again["effects"] if m["kind"] == "message"] == []
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", original)
    later = sweep(replayer, T0 + timedelta(days=2))
    assert [e["params"]["Key"] for e in _copies(later)] == [denied]


def test_an_artifact_under_another_accounts_key_is_never_copied_and_is_told(world):
    from tests.integration.test_artifacts_hostile import OTHER, OTHER_KEY, pipeline_naming

    replayer = start(world, calls=pipeline_naming(BUCKET, OTHER_KEY))
    sweep(replayer, T0 - timedelta(days=26))
    execution = str(uuid.uuid4())
    _deploy(replayer, T0 - timedelta(days=25), execution)
    step = sweep(replayer, T0)
    assert _copies(step) == [] and _dead(step) == []
    body = "\n".join(m["body"] for m in step["effects"] if m["kind"] == "message")
    assert f"s3://{BUCKET}/{_targets(world, execution)}" in body
    assert f"encrypted with a key of account {OTHER}" in body
