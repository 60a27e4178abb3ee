"""ArtifactGuard against an adversary: a pipeline definition is not a licence to change a bucket.

Each test is one case of the issue, on the embedded world (S3 there refuses a call whose ExpectedBucketOwner
is not the bucket's account, as S3 does). Whoever may call CreatePipeline / UpdatePipeline can name any
bucket and any KMS key; Warden must change only proven artifact stores of its own account, never write
another account's key, never add expiry over data that is not the pipelines', report grants to other
accounts, and not lose a person's policy edit to its own write.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import botocore.client

from tests.integration.test_artifacts import (
    ACCOUNT,
    BUCKET,
    T0,
    TEAM_STATEMENT,
    bucket_world,
    cloudtrail,
    config_of,
    feed,
    messages,
    start,
    sweep,
    writes,
)
from warden.artifacts.lifecycle import WARDEN_IDS
from warden.artifacts.policy import SSE_SID, TLS_SID
from warden_local.replay import Step

OTHER = "999988887777"
OTHER_KEY = f"arn:aws:kms:us-east-1:{OTHER}:key/0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b"
TEAM_BUCKET = "team-data-lake-111122223333"


def pipeline_naming(location: str, key: str | None = None, *, calls: list | None = None) -> list[dict[str, Any]]:
    """The demo pipeline, with its artifact store (and key) pointed elsewhere by whoever wrote it."""
    world = bucket_world()
    for call in world:
        if call["call"] == "codepipeline:CreatePipeline":
            store = call["params"]["pipeline"]["artifactStore"]
            store["location"] = location
            if key:
                store["encryptionKey"] = {"id": key, "type": "KMS"}
            else:
                store.pop("encryptionKey", None)
    return world + (calls or [])


def s3_calls(step: dict[str, Any], bucket: str) -> list[str]:
    return [e["api"] for e in step["effects"] if e["kind"] == "call" and e["api"].startswith("s3:")
            and e["params"].get("Bucket") == bucket]


def dead(step: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in step["effects"] if e["kind"] == "dead_letter"]


# -- confused deputy: another team's bucket, another account's key ----------------------------------------
def test_a_pipeline_naming_another_teams_bucket_and_a_foreign_key_changes_nothing_and_is_reported(world, monkeypatch):
    team = [{"call": "s3:CreateBucket", "params": {"Bucket": TEAM_BUCKET}},
            {"call": "s3:PutObject", "params": {"Bucket": TEAM_BUCKET, "Key": "warehouse/2026/11/part-0.parquet",
                                                "Body": "rows"}}]
    replayer = start(world, calls=pipeline_naming(TEAM_BUCKET, OTHER_KEY, calls=team))
    before = world.buckets()[TEAM_BUCKET]
    original, asked = botocore.client.BaseClient._make_api_call, []

    def recording(self, operation, params):
        if params.get("Bucket") == TEAM_BUCKET:
            asked.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    step = sweep(replayer)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", original)
    assert asked == [] and s3_calls(step, TEAM_BUCKET) == []  # not written, not even read
    assert world.buckets()[TEAM_BUCKET] == before
    [told] = messages(step)
    assert TEAM_BUCKET in told["subject"] and "bucket.not-an-artifact-store" in told["body"]
    assert "ArtifactBucketAllowList" in told["body"] and "neither reads nor changes" in told["body"]
    # Told once: the next pass is quiet, and still writes nothing.
    again = sweep(replayer, T0 + timedelta(days=1))
    assert messages(again) == [] and s3_calls(again, TEAM_BUCKET) == []


def test_a_default_named_bucket_of_another_account_is_refused_by_s3_and_reported(world):
    foreign = f"codepipeline-us-east-1-{OTHER}"
    theirs = [{"call": "s3:CreateBucket", "params": {"Bucket": foreign},
               "as": f"arn:aws:iam::{OTHER}:role/their-admin/mallory"}]
    replayer = start(world, calls=pipeline_naming(foreign, calls=theirs))
    step = sweep(replayer)
    assert s3_calls(step, foreign) == [] and dead(step) == []
    [told] = messages(step)
    assert "bucket.not-auditable" in told["body"] and "not owned by 111122223333" in told["body"]


def test_a_foreign_key_named_by_the_pipeline_is_never_written_and_the_rest_is_fixed(world):
    replayer = start(world, calls=pipeline_naming(BUCKET, OTHER_KEY))
    step = sweep(replayer)
    apis = {e["api"] for e in writes(step)}
    assert "s3:PutBucketEncryption" not in apis and "s3:PutBucketVersioning" in apis
    rule = config_of(world)["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert rule["SSEAlgorithm"] == "AES256" and OTHER not in json.dumps(config_of(world))
    [told] = messages(step)
    assert f"belongs to account {OTHER}: Warden never writes another account's key" in told["body"]


def test_a_foreign_key_already_on_the_bucket_is_a_finding_and_stays(world):
    calls = pipeline_naming(BUCKET, calls=[{"call": "s3:PutBucketEncryption", "params": {
        "Bucket": BUCKET, "ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": OTHER_KEY}, "BucketKeyEnabled": True}]}}}])
    replayer = start(world, calls=calls, config={"kms_key_arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/mine"})
    step = sweep(replayer)
    assert "s3:PutBucketEncryption" not in {e["api"] for e in writes(step)}
    [told] = messages(step)
    assert f"a key of account {OTHER}: that account controls this bucket's data" in told["body"]


def test_a_bucket_on_the_allow_list_is_enforced():
    from warden_local.world import World

    with World(parameters={"ArtifactBucketAllowList": "team-*-artifacts,other"}) as world:
        replayer = start(world, calls=pipeline_naming("team-a-artifacts", calls=[
            {"call": "s3:CreateBucket", "params": {"Bucket": "team-a-artifacts"}}]))
        step = sweep(replayer)
        assert "s3:PutBucketVersioning" in s3_calls(step, "team-a-artifacts")


# -- expiry only over the pipelines' own folders -------------------------------------------------------------
def test_expiry_is_not_added_to_a_bucket_holding_other_data_and_the_data_survives(world):
    calls = pipeline_naming(BUCKET, calls=[
        {"call": "s3:PutObject", "params": {"Bucket": BUCKET, "Key": "payments-api/bundle/a1b2c3d", "Body": "zip"}},
        {"call": "s3:PutObject", "params": {"Bucket": BUCKET, "Key": "backups/ledger-2026-11.dump", "Body": "db"}}])
    replayer = start(world, calls=calls)
    step = sweep(replayer)
    wardens = [r for r in config_of(world)["lifecycle"] if r["ID"] in WARDEN_IDS]
    assert not any(r.get("Expiration", {}).get("Days") or r.get("NoncurrentVersionExpiration") for r in wardens)
    assert any(r.get("AbortIncompleteMultipartUpload") for r in wardens)  # harmless rules are still added
    [told] = messages(step)
    assert "outside the pipelines' folders (backups/)" in told["body"] and "expiry would delete them" in told["body"]
    # Sixty days on, the backup is still there.
    replayer.step(Step("later", T0 + timedelta(days=60)))
    assert world.client("s3").get_object(Bucket=BUCKET, Key="backups/ledger-2026-11.dump")["Body"].read() == b"db"


def test_expiry_is_added_when_the_bucket_holds_only_pipeline_folders(world):
    calls = pipeline_naming(BUCKET, calls=[
        {"call": "s3:PutObject", "params": {"Bucket": BUCKET, "Key": "payments-api/bundle/a1b2c3d", "Body": "zip"}}])
    replayer = start(world, calls=calls)
    sweep(replayer)
    assert any((r.get("Expiration") or {}).get("Days") == 30 for r in config_of(world)["lifecycle"])


# -- grants to other accounts: reported, never removed -------------------------------------------------------
def test_a_cross_account_grant_is_reported_in_enforce_mode_and_kept(world):
    replayer = start(world)
    step = sweep(replayer)
    kept = [s for s in config_of(world)["policy"]["Statement"] if s.get("Sid") == TEAM_STATEMENT["Sid"]]
    assert len(kept) == 1
    [told] = messages(step)
    assert "policy.foreign-account-grant: statement AllowDeployAccountRead allows account 444455556666" in told["body"]
    assert "Warden never removes a grant" in told["body"]


def test_an_acknowledged_account_is_not_reported(world):
    replayer = start(world, config={"grant_accounts": ["444455556666"]})
    [told] = messages(sweep(replayer))
    assert "foreign-account-grant" not in told["body"]


# -- the policy race -------------------------------------------------------------------------------------------
PERSON = {"Sid": "AllowAuditorRead", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/auditor"},
          "Action": "s3:GetBucketPolicy", "Resource": f"arn:aws:s3:::{BUCKET}"}


def _person_writes(policy: dict[str, Any]) -> None:
    """A person's PutBucketPolicy straight into the embedded S3 (no client: it happens inside Warden's call)."""
    from moto.s3.models import s3_backends

    from warden_local.fakes.s3 import normalise_policy

    s3_backends[ACCOUNT]["aws"].put_bucket_policy(BUCKET, normalise_policy(json.dumps(policy)))


def test_an_edit_landing_between_wardens_read_and_its_write_is_restored_from_its_event(world, monkeypatch):
    replayer = start(world)
    original = botocore.client.BaseClient._make_api_call
    edits: list[dict[str, Any]] = []

    def racing(self, operation, params):
        if operation == "PutBucketPolicy" and not edits:
            # Someone adds a statement after Warden's last read, just before Warden's write lands.
            current = json.loads(self.get_bucket_policy(Bucket=BUCKET)["Policy"])
            current["Statement"].append(PERSON)
            edits.append(current)
            _person_writes(current)
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", racing)
    sweep(replayer)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", original)
    assert "AllowAuditorRead" not in json.dumps(config_of(world)["policy"])  # overwritten: S3 has no conditional put
    event = cloudtrail("PutBucketPolicy", {"bucketPolicy": edits[0], "policy": [""]}, T0)
    step = feed(replayer, event, T0 + timedelta(minutes=5))
    sids = [s.get("Sid") for s in config_of(world)["policy"]["Statement"]]
    assert {"AllowAuditorRead", TLS_SID, SSE_SID, TEAM_STATEMENT["Sid"]} <= set(sids)
    assert [e["api"] for e in writes(step)] == ["s3:PutBucketPolicy"]
    # The same event again, and one from before Warden's read: nothing more is written.
    assert writes(feed(replayer, copy.deepcopy(event), T0 + timedelta(minutes=6))) == []
    stale = cloudtrail("PutBucketPolicy", {"bucketPolicy": {"Version": "2012-10-17", "Statement": [PERSON]},
                                           "policy": [""]}, T0 - timedelta(hours=2))
    assert writes(feed(replayer, stale, T0 + timedelta(minutes=7))) == []


def test_a_write_landing_right_after_wardens_is_merged_into(world, monkeypatch):
    replayer = start(world)
    original = botocore.client.BaseClient._make_api_call
    done: list[bool] = []

    def racing(self, operation, params):
        result = original(self, operation, params)
        if operation == "PutBucketPolicy" and not done:
            done.append(True)  # someone replaces the policy from their stale copy, dropping Warden's statements
            _person_writes({"Version": "2012-10-17", "Statement": [TEAM_STATEMENT, PERSON]})
        return result

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", racing)
    step = sweep(replayer)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", original)
    sids = [s.get("Sid") for s in config_of(world)["policy"]["Statement"]]
    assert {"AllowAuditorRead", TLS_SID, SSE_SID, TEAM_STATEMENT["Sid"]} <= set(sids)
    assert [e["api"] for e in writes(step)].count("s3:PutBucketPolicy") == 2


def test_a_policy_replaced_after_every_write_is_said_to_be_fighting(world, monkeypatch):
    replayer = start(world)
    original = botocore.client.BaseClient._make_api_call

    def racing(self, operation, params):
        result = original(self, operation, params)
        if operation == "PutBucketPolicy":
            _person_writes({"Version": "2012-10-17", "Statement": [TEAM_STATEMENT]})
        return result

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", racing)
    step = sweep(replayer)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", original)
    [told] = messages(step)
    assert "the policy changed under Warden's 3 writes" in told["body"]
    assert [e["api"] for e in writes(step)].count("s3:PutBucketPolicy") == 3


# -- events: a bucket before the first pass, a definition the event does not carry -------------------------
def test_a_bucket_change_before_the_first_pass_is_audited_at_once(world):
    replayer = start(world)  # no scheduled pass yet: the map is empty
    at = T0 + timedelta(minutes=1)
    step = feed(replayer, cloudtrail("PutBucketVersioning", {"VersioningConfiguration": {"Status": "Suspended"}}, at))
    assert "s3:PutBucketVersioning" in [e["api"] for e in writes(step)]
    assert config_of(world)["versioning"] == "Enabled" and len(messages(step)) == 1


def test_an_update_pipeline_event_without_the_store_reads_the_pipeline(world):
    from tests.helpers import EVENTS

    replayer = start(world)
    event = json.loads((EVENTS / "cloudtrail" / "update-pipeline.json").read_text())
    event["detail"]["requestParameters"]["pipeline"].pop("artifactStore")
    event["detail"]["requestParameters"]["pipeline"]["name"] = "payments-api"
    event["detail"].pop("responseElements", None)
    step = feed(replayer, event)
    assert "s3:PutBucketVersioning" in s3_calls(step, BUCKET)
    [item] = [e for e in step["effects"] if e["kind"] == "item" and "PIPELINE#" in e["key"]["sk"]]
    assert item["item"]["stores"][0]["bucket"] == BUCKET
