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
    TEAM_RULE,
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


# -- expiry only on the prefixes CodePipeline writes ------------------------------------------------------------
def _expiring(world: Any) -> list[dict[str, Any]]:
    """The rules that delete data, the team's own `logs/` rule aside."""
    return [r for r in config_of(world)["lifecycle"] if r["ID"] != TEAM_RULE["ID"]
            and ((r.get("Expiration") or {}).get("Days") or r.get("NoncurrentVersionExpiration"))]


def _prefix(rule: dict[str, Any]) -> str:
    return (rule.get("Filter") or {}).get("Prefix") or rule.get("Prefix") or ""


def _exists(world: Any, key: str) -> bool:
    s3 = world.client("s3")
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
    except Exception:  # noqa: BLE001 (404: expired)
        return False
    return True


def test_expiry_is_added_only_on_the_artifact_prefixes_and_other_data_survives(world):
    calls = pipeline_naming(BUCKET, calls=[
        {"call": "s3:PutObject", "params": {"Bucket": BUCKET, "Key": "payments-api/bundle/a1b2c3d", "Body": "zip"}},
        {"call": "s3:PutObject", "params": {"Bucket": BUCKET, "Key": "backups/ledger-2026-11.dump", "Body": "db"}}])
    replayer = start(world, calls=calls)
    sweep(replayer)
    assert sorted(_prefix(r) for r in _expiring(world)) == ["payments-api/bundle/", "payments-api/src/"]
    assert any(r.get("AbortIncompleteMultipartUpload") for r in config_of(world)["lifecycle"])
    # Sixty days on, the backup is still there, and the pipeline's old artifact has expired.
    replayer.step(Step("later", T0 + timedelta(days=60)))
    assert world.client("s3").get_object(Bucket=BUCKET, Key="backups/ledger-2026-11.dump")["Body"].read() == b"db"
    assert not _exists(world, "payments-api/bundle/a1b2c3d")


def test_pipelines_named_after_someones_folders_never_get_their_data_expired(world):
    """Issue 27: pipelines `finance` and `backups` on a shared default-named bucket that also holds `finance/`
    and `backups/` folders made Warden add a 30-day whole-bucket expiry (the bucket emptied a month later)."""
    data = {"finance/2026/q3-ledger.xlsx": "ledger", "backups/db-2026-11-01.dump": "db", "finance/README": "r"}
    calls = bucket_world() + [second_pipeline("finance", "${key.KeyMetadata.Arn}"),
                              second_pipeline("backups", "${key.KeyMetadata.Arn}")] + [
        {"call": "s3:PutObject", "params": {"Bucket": BUCKET, "Key": key, "Body": body}} for key, body in data.items()]
    replayer = start(world, calls=calls)
    step = sweep(replayer)
    assert not any(_prefix(r) == "" for r in _expiring(world))  # never the whole bucket
    assert {_prefix(r) for r in _expiring(world)} == {f"{p}/{a}/" for p in ("payments-api", "finance", "backups")
                                                      for a in ("src", "bundle")}
    assert dead(step) == []
    replayer.step(Step("later", T0 + timedelta(days=60)))
    assert all(_exists(world, key) for key in data)


def test_an_artifact_named_after_someones_subfolder_gets_no_expiry_there(world):
    reports = second_pipeline("finance", "${key.KeyMetadata.Arn}")
    stages = reports["params"]["pipeline"]["stages"]
    stages[0]["actions"][0]["outputArtifacts"] = [{"name": "reports"}]
    stages[1]["actions"][0]["inputArtifacts"] = [{"name": "reports"}]
    calls = bucket_world() + [reports, {"call": "s3:PutObject", "params": {
        "Bucket": BUCKET, "Key": "finance/reports/q3-2026.xlsx", "Body": "numbers"}}]
    replayer = start(world, calls=calls)
    step = sweep(replayer)
    assert "finance/reports/" not in {_prefix(r) for r in _expiring(world)}
    assert "payments-api/bundle/" in {_prefix(r) for r in _expiring(world)}
    [told] = messages(step)
    assert "finance/reports/ holds objects CodePipeline does not write (finance/reports/q3-2026.xlsx)" in told["body"]
    replayer.step(Step("later", T0 + timedelta(days=60)))
    assert _exists(world, "finance/reports/q3-2026.xlsx")
    # Told once; the next pass lists the held prefix again and writes nothing.
    again = sweep(replayer, T0 + timedelta(days=61))
    assert messages(again) == [] and writes(again) == []


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


# -- keys: described before they are written or counted ----------------------------------------------------------
MISSING_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/00000000-0000-4000-8000-000000000000"


def second_pipeline(name: str, key: str | None) -> dict[str, Any]:
    """Another pipeline of this account with the same artifact store, naming its own key."""
    [create] = [copy.deepcopy(c) for c in bucket_world() if c["call"] == "codepipeline:CreatePipeline"]
    create["params"]["pipeline"]["name"] = name
    store = create["params"]["pipeline"]["artifactStore"]
    if key:
        store["encryptionKey"] = {"id": key, "type": "KMS"}
    else:
        store.pop("encryptionKey", None)
    return create


def encryption_of(world: Any) -> dict[str, Any]:
    return config_of(world)["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]


def test_a_key_that_does_not_exist_is_never_written_nor_counted_compliant(world):
    replayer = start(world, calls=pipeline_naming(BUCKET, MISSING_KEY))
    step = sweep(replayer)
    assert "s3:PutBucketEncryption" not in {e["api"] for e in writes(step)}
    assert encryption_of(world)["SSEAlgorithm"] == "AES256"
    [told] = messages(step)
    assert f"the key {MISSING_KEY} (named by payments-api) does not exist in us-east-1" in told["body"]
    # Someone sets it by hand: the next pass does not call the bucket compliant because a pipeline names it.
    put = {"Bucket": BUCKET, "ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {
        "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": MISSING_KEY}, "BucketKeyEnabled": True}]}}
    replayer.step(Step("call", T0 + timedelta(hours=1), call={"call": "s3:PutBucketEncryption", "params": put}))
    later = sweep(replayer, T0 + timedelta(days=1))
    [again] = messages(later)
    assert f"default encryption uses {MISSING_KEY}, which does not exist" in again["body"]


def test_a_disabled_key_is_not_written(world):
    calls = bucket_world() + [{"call": "kms:DisableKey", "params": {"KeyId": "${key.KeyMetadata.KeyId}"}}]
    replayer = start(world, calls=calls)
    step = sweep(replayer)
    assert "s3:PutBucketEncryption" not in {e["api"] for e in writes(step)}
    [told] = messages(step)
    assert "is not enabled (KeyState Disabled)" in told["body"]


def test_pipelines_sharing_a_bucket_with_different_keys_is_a_finding_not_a_choice(world):
    calls = bucket_world() + [
        {"call": "kms:CreateKey", "params": {"Description": "another team's artifacts"}, "save": "other"},
        second_pipeline("aaa-first-by-name", "${other.KeyMetadata.Arn}")]
    replayer = start(world, calls=calls)
    step = sweep(replayer)
    assert "s3:PutBucketEncryption" not in {e["api"] for e in writes(step)}
    assert encryption_of(world)["SSEAlgorithm"] == "AES256"
    [told] = messages(step)
    assert "encryption.one-key: the pipelines sharing the bucket name different artifact keys" in told["body"]
    assert "aaa-first-by-name" in told["body"] and "Warden does not choose one" in told["body"]
    again = sweep(replayer, T0 + timedelta(days=1))  # told once, and still nothing chosen
    assert messages(again) == [] and "s3:PutBucketEncryption" not in {e["api"] for e in writes(again)}


# -- the policy race, when more happens before the overwritten edit's event arrives ---------------------------
AUDITOR_TWO = {"Sid": "AllowSecondAuditor", "Effect": "Allow",
               "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/auditor-two"}, "Action": "s3:GetBucketPolicy",
               "Resource": f"arn:aws:s3:::{BUCKET}"}


def _sweep_overwriting_an_edit(replayer: Any, monkeypatch: Any, edit: Any) -> dict[str, Any]:
    """A scheduled pass during which a person's PutBucketPolicy lands between Warden's last read and its write
    (`edit(current)` is what the person writes); returns the person's policy, as its CloudTrail event has it."""
    original = botocore.client.BaseClient._make_api_call
    edits: list[dict[str, Any]] = []

    def racing(self, operation, params):
        if operation == "PutBucketPolicy" and not edits:
            edits.append(edit(json.loads(self.get_bucket_policy(Bucket=BUCKET)["Policy"])))
            _person_writes(edits[0])
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", racing)
    sweep(replayer)
    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", original)
    return edits[0]


def _adds(statement: dict[str, Any]) -> Any:
    return lambda current: current | {"Statement": [*current["Statement"], statement]}


def _sids(world: Any) -> list[str]:
    return [s.get("Sid") for s in config_of(world)["policy"]["Statement"]]


def test_an_overwritten_edit_is_made_again_after_someone_else_changed_the_policy(world, monkeypatch):
    replayer = start(world)
    edit = _sweep_overwriting_an_edit(replayer, monkeypatch, _adds(PERSON))
    assert "AllowAuditorRead" not in _sids(world)
    # A second person adds their statement (to what S3 holds: Warden's write) before the first edit's event arrives.
    later = config_of(world)["policy"] | {"Statement": [*config_of(world)["policy"]["Statement"], AUDITOR_TWO]}
    replayer.step(Step("call", T0 + timedelta(minutes=2), call={"call": "s3:PutBucketPolicy", "params": {
        "Bucket": BUCKET, "Policy": json.dumps(later)}}))
    feed(replayer, cloudtrail("PutBucketPolicy", {"bucketPolicy": later, "policy": [""]}, T0 + timedelta(minutes=2)),
         T0 + timedelta(minutes=4))
    event = cloudtrail("PutBucketPolicy", {"bucketPolicy": edit, "policy": [""]}, T0)
    step = feed(replayer, event, T0 + timedelta(minutes=6))
    assert {"AllowAuditorRead", "AllowSecondAuditor", TLS_SID, SSE_SID, TEAM_STATEMENT["Sid"]} <= set(_sids(world))
    assert [e["api"] for e in writes(step)] == ["s3:PutBucketPolicy"]
    # The person later removes their statement on purpose; the same event delivered again does not undo that.
    gone = config_of(world)["policy"] | {"Statement": [s for s in config_of(world)["policy"]["Statement"]
                                                       if s.get("Sid") != "AllowAuditorRead"]}
    replayer.step(Step("call", T0 + timedelta(minutes=8), call={"call": "s3:PutBucketPolicy", "params": {
        "Bucket": BUCKET, "Policy": json.dumps(gone)}}))
    assert writes(feed(replayer, copy.deepcopy(event), T0 + timedelta(minutes=9))) == []
    assert "AllowAuditorRead" not in _sids(world)


def test_an_overwritten_edit_is_made_again_after_warden_wrote_the_policy_again(world, monkeypatch):
    replayer = start(world)
    edit = _sweep_overwriting_an_edit(replayer, monkeypatch, _adds(PERSON))
    # Someone removes Warden's TLS statement; its event makes Warden write again (a newer write record).
    removed = config_of(world)["policy"] | {"Statement": [s for s in config_of(world)["policy"]["Statement"]
                                                          if s.get("Sid") != TLS_SID]}
    replayer.step(Step("call", T0 + timedelta(minutes=2), call={"call": "s3:PutBucketPolicy", "params": {
        "Bucket": BUCKET, "Policy": json.dumps(removed)}}))
    rewrite = feed(replayer, cloudtrail("PutBucketPolicy", {"bucketPolicy": removed, "policy": [""]},
                                       T0 + timedelta(minutes=2)), T0 + timedelta(minutes=3))
    assert "s3:PutBucketPolicy" in [e["api"] for e in writes(rewrite)]
    step = feed(replayer, cloudtrail("PutBucketPolicy", {"bucketPolicy": edit, "policy": [""]}, T0),
                T0 + timedelta(minutes=6))
    assert {"AllowAuditorRead", TLS_SID, SSE_SID, TEAM_STATEMENT["Sid"]} <= set(_sids(world))
    assert [e["api"] for e in writes(step)] == ["s3:PutBucketPolicy"]


def test_a_grant_revoked_between_wardens_read_and_write_stays_revoked(world, monkeypatch):
    replayer = start(world)
    edit = _sweep_overwriting_an_edit(replayer, monkeypatch, lambda current: current | {"Statement": [
        s for s in current["Statement"] if s.get("Sid") != TEAM_STATEMENT["Sid"]]})
    assert TEAM_STATEMENT["Sid"] in _sids(world)  # Warden's write brought the revoked grant back
    step = feed(replayer, cloudtrail("PutBucketPolicy", {"bucketPolicy": edit, "policy": [""]}, T0),
                T0 + timedelta(minutes=5))
    assert TEAM_STATEMENT["Sid"] not in _sids(world) and {TLS_SID, SSE_SID} <= set(_sids(world))
    assert [e["api"] for e in writes(step)] == ["s3:PutBucketPolicy"]


def test_the_bundled_story_of_pipelines_named_after_folders_replays_with_the_folders_kept(world):
    from tests.helpers import EVENTS
    from warden_local.replay import replay

    doc = replay([str(EVENTS / "scenarios" / "artifact-pipelines-named-after-folders.json")], world=world)
    rules = doc["buckets"][BUCKET]["lifecycle"]
    expiring = [r for r in rules if (r.get("Expiration") or {}).get("Days") or r.get("NoncurrentVersionExpiration")]
    assert {_prefix(r) for r in expiring} == {TEAM_RULE["Filter"]["Prefix"]} | {
        f"{p}/{a}/" for p in ("payments-api", "finance", "backups") for a in ("src", "bundle")}
    assert all(_exists(world, key) for key in ("finance/2026/q3-ledger.xlsx", "finance/README",
                                                "backups/db-2026-11-01.dump"))
    assert not [e for step in doc["steps"] for e in step["effects"] if e["kind"] == "dead_letter"]
