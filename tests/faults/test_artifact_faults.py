"""Fault injection for ArtifactGuard: every AWS call it makes in a story, failing once past botocore's retries
(one Lambda attempt fails), answered but lost for the calls that change something (the call happened, its
answer did not arrive: botocore repeats a call that was carried out), and failing every attempt (the
invocation is dead-lettered, then redriven).
The buckets' final configuration and the state table must equal the fault-free run, and every finding must
be told: at least once, never lost (a lost answer may add one message).

S3 faults are S3's own throttling (503 SlowDown): ArtifactGuard must treat it as "could not confirm" and let
Lambda retry, never as a refusal that leaves the bucket non-compliant until the next daily pass.

The story: a first scheduled pass fixes a non-compliant artifact bucket (encryption with the pipeline's key,
versioning, public access block, lifecycle after listing the bucket's folders, the policy merged and read
back); a person removes Warden's TLS statement and its CloudTrail event arrives; an UpdatePipeline event
without the artifact store (read with GetPipeline); a second pass the next day.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from tests.faults.inject import BOTOCORE_ATTEMPTS, LAMBDA_ATTEMPTS
from tests.helpers import EVENTS
from tests.integration.artifacts.test_artifacts import BUCKET, T0, bucket_world, cloudtrail, start
from warden.artifacts.policy import TLS_SID
from warden_local.replay import Step

NOT_HANDLERS = {"dynamodb:Scan", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage",
                "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "s3:ListBuckets"}
EDIT_AT = T0 + timedelta(hours=3)
APIS = ["codepipeline:ListPipelines", "codepipeline:GetPipeline", "dynamodb:Query", "dynamodb:PutItem",
        "dynamodb:UpdateItem", "dynamodb:DeleteItem", "kms:DescribeKey", "s3:GetBucketPolicy",
        "s3:GetBucketEncryption", "s3:GetBucketVersioning", "s3:GetBucketLifecycleConfiguration",
        "s3:GetPublicAccessBlock", "s3:ListObjectsV2", "s3:PutBucketVersioning", "s3:PutPublicAccessBlock",
        "s3:PutBucketEncryption", "s3:PutBucketLifecycleConfiguration", "s3:PutBucketPolicy", "s3:HeadObject",
        "s3:CopyObject", "sns:Publish", "ssm:GetParameter", "secrets-manager:GetSecretValue"]
# A lost answer matters where the call changed something (a read whose answer is lost is a failed read).
WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "s3:PutBucketVersioning",
          "s3:PutPublicAccessBlock", "s3:PutBucketEncryption", "s3:PutBucketLifecycleConfiguration",
          "s3:PutBucketPolicy", "s3:CopyObject", "sns:Publish"}
CASES = [(api, mode) for api in APIS for mode in ("once", "lost", "every_attempt") if mode != "lost" or api in WRITES]


def world_calls() -> list[dict[str, Any]]:
    return bucket_world() + [{"call": "s3:PutObject", "params": {"Bucket": BUCKET, "Key": "payments-api/bundle/a1b2c3d",
                                                                 "Body": "zip"}}]


def update_pipeline_without_store() -> dict[str, Any]:
    event = json.loads((EVENTS / "cloudtrail" / "update-pipeline.json").read_text())
    event["detail"]["requestParameters"]["pipeline"].pop("artifactStore")
    event["detail"]["requestParameters"]["pipeline"]["name"] = "payments-api"
    event["detail"].pop("responseElements", None)
    event["time"] = event["detail"]["eventTime"] = "2026-11-27T10:00:00Z"
    return event


def play(world, faults, *, arm=None) -> dict[str, Any]:
    """Run the story; `arm(index)` arms faults before a step's handler runs (after any outside call).
    Dead letters are redriven once the faults are cleared."""
    replayer = start(world, calls=world_calls())
    messages: Counter = Counter()
    dead, calls = [], []
    for index, at, outside, schedule, event in _story(world):
        world.set_time(at)
        if outside:
            replayer._call(outside, "outside Warden")
        if arm:
            arm(index)
        routes = (replayer.schedule(Step("schedule", at, schedule="ArtifactGuard")) if schedule
                  else replayer.routes(copy.deepcopy(event)))
        assert [fn for fn, _ in routes] == ["ArtifactGuard"]
        before, mark = dict(faults.calls), world.begin()
        for function, payload in routes:
            world.invoke(function, copy.deepcopy(payload))
        calls.append({api for api, n in faults.calls.items() if n > before.get(api, 0)} - NOT_HANDLERS)
        faults.clear()
        effects = world.effects(mark)
        for dead_letter in [e for e in effects if e["kind"] == "dead_letter"]:
            dead.append(dead_letter)
            world.invoke(dead_letter["function"], copy.deepcopy(routes[0][1]))
        effects += world.effects(world.begin())
        messages.update((e["topic"], e["event"], e["subject"]) for e in effects if e["kind"] == "message")
    # The world makes the pipeline's KMS key afresh: compared without its id.
    key = replayer.saved["key"]["KeyMetadata"]["Arn"]
    # ListPipelines' `updated` is the embedded CodePipeline's wall-clock time of creation: also world-made.
    tables = sorted(json.dumps({k: v for k, v in i.items() if k != "updated"}, sort_keys=True,
                               default=str).replace(key, "KEY") for i in world.table_items("StateTable"))
    buckets = json.loads(json.dumps(world.buckets(), default=str).replace(key, "KEY"))
    return {"messages": messages, "buckets": buckets, "tables": tables, "dead": dead, "calls": calls}


def _story(world):
    stored: dict[str, Any] = {}

    def edit() -> dict[str, Any]:
        policy = json.loads(world.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"])
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != TLS_SID]
        stored["edited"] = policy
        return {"call": "s3:PutBucketPolicy", "params": {"Bucket": BUCKET, "Policy": json.dumps(policy)}}

    yield 0, T0, None, True, None
    outside = edit()
    yield 1, EDIT_AT, outside, False, cloudtrail("PutBucketPolicy", {"bucketPolicy": stored["edited"],
                                                                   "policy": [""]}, EDIT_AT)
    yield 2, T0 + timedelta(hours=4), None, False, update_pipeline_without_store()
    yield 3, T0 + timedelta(days=1), None, True, None


@pytest.fixture(scope="module")
def reference():
    from tests.faults.inject import install
    from warden_local.world import World

    faults = install()
    faults.clear()
    with World() as world:
        observed = play(world, faults)
    first: dict[str, int] = {}
    for index, step_calls in enumerate(observed["calls"]):
        for api in step_calls:
            first.setdefault(api, index)
    return observed, first


def test_the_story_fixes_tells_and_restores_without_faults(reference):
    observed, first = reference
    assert observed["dead"] == []
    bucket = observed["buckets"][BUCKET]
    assert bucket["versioning"] == "Enabled" and TLS_SID in json.dumps(bucket["policy"])
    assert sum(observed["messages"].values()) == 2  # the first pass's findings, and the restored statement
    # The calls that matter for this issue are in the story.
    assert {"s3:ListObjectsV2", "codepipeline:GetPipeline", "s3:PutBucketPolicy", "sns:Publish"} <= set(first)


def test_the_suite_covers_every_call_artifact_guard_makes(reference):
    _, first = reference
    assert set(first) <= set(APIS), set(first) - set(APIS)


@pytest.mark.parametrize(("api", "mode"), CASES)
def test_a_failing_call_changes_no_outcome(reference, world, faults, api, mode):
    expected, first = reference
    if api not in first:
        pytest.skip(f"{api} is not called in this story")
    times = {"once": BOTOCORE_ATTEMPTS, "lost": 1, "every_attempt": BOTOCORE_ATTEMPTS * LAMBDA_ATTEMPTS}[mode]
    rules = []

    def arm(index):
        if index == first[api]:
            rules.append(faults.fail(api, times, lost=(mode == "lost")))

    observed = play(world, faults, arm=arm)
    assert rules and rules[0].failed >= min(times, BOTOCORE_ATTEMPTS), f"{api} failed {rules[0].failed} times"
    assert observed["buckets"] == expected["buckets"]
    assert observed["tables"] == expected["tables"]
    missing = expected["messages"] - observed["messages"]
    extra = observed["messages"] - expected["messages"]
    assert not missing, f"findings never told: {missing}"
    assert sum(extra.values()) <= (1 if api == "sns:Publish" and mode != "once" else 0), extra
    if mode == "every_attempt":
        assert len(observed["dead"]) == 1  # then redriven
    else:
        assert observed["dead"] == []


def test_s3_throttling_is_not_a_refusal(world, faults):
    """SlowDown past botocore's retries on the first write: Lambda's retry fixes the bucket in the same
    pass, and nobody is told that S3 refused anything."""
    def arm(index):
        if index == 0:
            faults.fail("s3:PutBucketVersioning", BOTOCORE_ATTEMPTS)

    observed = play(world, faults, arm=arm)
    assert observed["buckets"][BUCKET]["versioning"] == "Enabled" and observed["dead"] == []
    assert "refused" not in world.logs.getvalue()
    assert "could not confirm" in world.logs.getvalue()
