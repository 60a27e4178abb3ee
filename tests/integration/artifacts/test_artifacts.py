"""ArtifactGuard on the embedded world: merge-only fixes, no loops, audit mode, findings once, rollback targets."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import timedelta
from typing import Any

import jsonschema
import pytest

from tests.helpers import EVENTS, SCHEMA, pipeline_world
from warden.artifacts.policy import TLS_SID, meaning
from warden.core.clock import iso, parse_iso
from warden_local.replay import Replayer, Scenario, Step, replay

BUCKET = "codepipeline-us-east-1-111122223333"
ACCOUNT = "111122223333"
T0 = parse_iso("2026-11-27T06:00:00Z")
TEAM_RULE = {"ID": "team-logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 10}}
TEAM_STATEMENT = {"Sid": "AllowDeployAccountRead", "Effect": "Allow",
                  "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                  "Action": ["s3:GetObject", "s3:GetObjectVersion"], "Resource": [f"arn:aws:s3:::{BUCKET}/*"]}
WRITES = ("s3:Put", "s3:Delete", "s3:CopyObject")


def bucket_world(*, key: bool = True, policy: bool = True, team_rule: bool = True) -> list[dict[str, Any]]:
    """The demo pipeline, its artifact bucket as a team left it (SSE-S3, a team rule and statement)."""
    world = pipeline_world()
    setup = [{"call": "kms:CreateKey", "params": {"Description": "payments artifacts"}, "save": "key"},
             {"call": "s3:CreateBucket", "params": {"Bucket": BUCKET}}]
    if team_rule:
        setup.append({"call": "s3:PutBucketLifecycleConfiguration",
                      "params": {"Bucket": BUCKET, "LifecycleConfiguration": {"Rules": [TEAM_RULE]}}})
    if policy:
        setup.append({"call": "s3:PutBucketPolicy", "params": {"Bucket": BUCKET, "Policy": json.dumps(
            {"Version": "2012-10-17", "Statement": [TEAM_STATEMENT]})}})
    for call in world:
        if call["call"] == "codepipeline:CreatePipeline" and key:
            call["params"]["pipeline"]["artifactStore"]["encryptionKey"] = {"id": "${key.KeyMetadata.Arn}",
                                                                            "type": "KMS"}
    return setup + world


def start(world: Any, *, config: dict[str, Any] | None = None, calls: list | None = None) -> Replayer:
    replayer = Replayer(world)
    replayer._setup(Scenario("test", world=calls if calls is not None else bucket_world(),
                             config={"artifacts": config} if config else {}))
    return replayer


def sweep(replayer: Replayer, at=T0) -> dict[str, Any]:
    return replayer.step(Step("schedule:ArtifactGuard", at, schedule="ArtifactGuard"))


def feed(replayer: Replayer, event: dict[str, Any], at=None) -> dict[str, Any]:
    return replayer.step(Step("event", at or parse_iso(event["time"]), event=event))


def writes(step: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in step["effects"] if e["kind"] == "call" and e["api"].startswith(WRITES)]


def messages(step: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in step["effects"] if e["kind"] == "message"]


def config_of(world: Any) -> dict[str, Any]:
    return world.buckets()[BUCKET]


def cloudtrail(name: str, params: dict[str, Any], at, *, by: str = "arn:aws:sts::111122223333:assumed-role/"
               "PlatformAdmin/jdoe") -> dict[str, Any]:
    """An S3 "AWS API Call via CloudTrail" event, in the documented sample's shape."""
    event = json.loads((EVENTS / "cloudtrail" / "put-bucket-policy.json").read_text())
    event.update(id=str(uuid.uuid4()), time=iso(at))
    detail = event["detail"]
    detail.update(eventName=name, eventTime=iso(at), eventID=str(uuid.uuid4()),
                  requestParameters={"bucketName": BUCKET, "Host": f"{BUCKET}.s3.amazonaws.com", **params})
    detail["userIdentity"]["arn"] = by
    detail["resources"][0]["ARN"] = f"arn:aws:s3:::{BUCKET}"
    return event


def compliant(bucket: dict[str, Any]) -> None:
    assert bucket["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert bucket["encryption"]["Rules"][0]["BucketKeyEnabled"] is True
    assert bucket["versioning"] == "Enabled"
    assert all(bucket["public_access_block"].values()) and len(bucket["public_access_block"]) == 4
    sids = [s.get("Sid") for s in bucket["policy"]["Statement"]]
    assert {"PipelineWardenDenyInsecureTransport", "PipelineWardenDenyUnencryptedUploads"} <= set(sids)


# -- Done when: merge keeps the team's rule and statement, and a second pass writes nothing -----------------
def test_given_a_noncompliant_bucket_with_team_rule_and_statement_when_swept_twice_then_compliant_kept_and_quiet(
        world):
    replayer = start(world)
    before = config_of(world)
    first = sweep(replayer)
    after = config_of(world)
    compliant(after)
    # The team's lifecycle rule and policy statement: exactly as S3 returned them before the pass.
    assert before["lifecycle"] == [TEAM_RULE]
    assert [r for r in after["lifecycle"] if r["ID"] == "team-logs"] == before["lifecycle"]
    [team_before] = before["policy"]["Statement"]
    assert [s for s in after["policy"]["Statement"] if s.get("Sid") == "AllowDeployAccountRead"] == [team_before]
    assert meaning(team_before) == meaning(TEAM_STATEMENT)  # S3 rewrote its spelling, not its meaning
    key = after["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    assert key == replayer.saved["key"]["KeyMetadata"]["Arn"]  # the pipeline's own artifact key
    assert {e["api"] for e in writes(first)} == {
        "s3:PutBucketVersioning", "s3:PutPublicAccessBlock", "s3:PutBucketEncryption",
        "s3:PutBucketLifecycleConfiguration", "s3:PutBucketPolicy"}
    assert all(e["params"]["ExpectedBucketOwner"] == ACCOUNT for e in writes(first))
    [told] = messages(first)
    assert told["topic"] == "TeamTopic" and told["severity"] == "warning" and told["event"] == "artifact.noncompliant"
    assert BUCKET in told["subject"] and "payments-api" in told["body"] and "fixed" in told["body"]

    second = sweep(replayer, T0 + timedelta(days=1))
    assert writes(second) == [] and messages(second) == []
    assert config_of(world) == after


# -- Done when: Warden's own writes, coming back as CloudTrail events, write nothing ------------------------
def test_given_wardens_own_put_events_when_they_come_back_then_no_write(world):
    replayer = start(world)
    first = sweep(replayer)
    own = "arn:aws:sts::111122223333:assumed-role/pipeline-warden-ArtifactGuardRole/pipeline-warden-prod-artifact-guard"
    [policy_call] = [e for e in writes(first) if e["api"] == "s3:PutBucketPolicy"]
    [lifecycle_call] = [e for e in writes(first) if e["api"] == "s3:PutBucketLifecycleConfiguration"]
    events = [
        cloudtrail("PutBucketPolicy", {"bucketPolicy": json.loads(policy_call["params"]["Policy"]), "policy": [""]},
                   T0 + timedelta(minutes=5), by=own),
        cloudtrail("PutBucketLifecycle", {"lifecycle": "", "LifecycleConfiguration": {
            "Rule": lifecycle_call["params"]["LifecycleConfiguration"]["Rules"]}}, T0 + timedelta(minutes=5), by=own),
        json.loads((EVENTS / "cloudtrail" / "put-bucket-lifecycle.json").read_text()),
    ]
    for event in events:
        step = feed(replayer, event, T0 + timedelta(minutes=6))
        assert step["routed_to"] == ["ArtifactGuard"]
        assert writes(step) == [] and messages(step) == []
        assert not [e for e in step["effects"] if e["kind"] == "dead_letter"]


# -- Done when: a person removing the TLS statement is undone, once ------------------------------------------
def test_given_a_person_removes_the_tls_statement_when_its_event_arrives_then_it_is_restored_once(world):
    replayer = start(world)
    sweep(replayer)
    stored = config_of(world)["policy"]
    edited = copy.deepcopy(stored)
    edited["Statement"] = [s for s in edited["Statement"] if s.get("Sid") != TLS_SID]
    at = T0 + timedelta(hours=3)
    replayer.step(Step("call:s3:PutBucketPolicy", at, call={"call": "s3:PutBucketPolicy", "params": {
        "Bucket": BUCKET, "Policy": json.dumps(edited)}}))
    assert TLS_SID not in json.dumps(config_of(world)["policy"])
    event = cloudtrail("PutBucketPolicy", {"bucketPolicy": edited, "policy": [""]}, at)
    undone = feed(replayer, event, at + timedelta(minutes=5))
    assert [e["api"] for e in writes(undone)] == ["s3:PutBucketPolicy"]
    restored = config_of(world)["policy"]
    assert [s.get("Sid") for s in restored["Statement"]] == [s.get("Sid") for s in edited["Statement"]] + [TLS_SID]
    [told] = messages(undone)
    assert "policy.deny-insecure-transport" in told["body"] and "fixed" in told["body"]
    # The same event delivered again, and Warden's own PutBucketPolicy coming back: nothing more.
    again = copy.deepcopy(event)
    feed(replayer, again, at + timedelta(minutes=6))
    back = cloudtrail("PutBucketPolicy", {"bucketPolicy": restored, "policy": [""]}, at + timedelta(minutes=7))
    for step in (feed(replayer, again, at + timedelta(minutes=6)), feed(replayer, back)):
        assert writes(step) == [] and messages(step) == []


# -- Done when: audit mode writes nothing and reports the same findings --------------------------------------
def _findings(body: str) -> list[str]:
    return sorted(line.removeprefix("Finding: ").split(":", 1)[0]
                  for line in body.splitlines() if line.startswith("Finding: "))


def test_given_audit_mode_when_swept_then_no_write_and_the_same_findings_told_once():
    from warden_local.world import World

    with World() as world:
        enforced = sweep(start(world))
    with World() as world:
        replayer = start(world, config={"mode": "audit"})
        before = config_of(world)
        audited = sweep(replayer)
        assert writes(audited) == []
        assert config_of(world) == before
        again = sweep(replayer, T0 + timedelta(days=1))
    assert writes(again) == [] and messages(again) == []
    [enforce_msg], [audit_msg] = messages(enforced), messages(audited)
    assert _findings(audit_msg["body"]) == _findings(enforce_msg["body"])
    assert len(_findings(audit_msg["body"])) == 10  # every check fails on this bucket
    assert "not fixed: audit mode" in audit_msg["body"]
    # The team's grant to another account is reported in either mode, and never removed.
    assert "policy.foreign-account-grant: statement AllowDeployAccountRead allows account 444455556666" \
        in audit_msg["body"] and "Warden never removes a grant" in audit_msg["body"]


@pytest.mark.parametrize(("overrides", "told"), [
    ([{"match": "codepipeline-*", "mode": "audit"}, {"match": "*", "exclude": True}], 1),
    ([{"match": "codepipeline-*", "exclude": True}, {"match": "*", "mode": "enforce"}], 0),
])
def test_given_overrides_when_a_bucket_matches_then_the_first_match_decides(world, overrides, told):
    replayer = start(world, config={"buckets": overrides})
    step = sweep(replayer)
    assert writes(step) == [] and len(messages(step)) == told


def test_given_no_customer_managed_key_known_then_encryption_is_reported_not_written(world):
    replayer = start(world, calls=bucket_world(key=False))
    step = sweep(replayer)
    assert "s3:PutBucketEncryption" not in [e["api"] for e in writes(step)]
    [told] = messages(step)
    assert "encryption.kms-cmk" in told["body"] and "no customer-managed key known" in told["body"]
    assert config_of(world)["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_given_an_s3_event_for_another_bucket_then_it_is_ignored(world):
    replayer = start(world)
    step = feed(replayer, json.loads((EVENTS / "cloudtrail" / "put-bucket-policy.json").read_text()))
    assert step["routed_to"] == ["ArtifactGuard"] and step["effects"] == []


def test_given_a_workload_pipeline_without_read_role_then_not_auditable_told_once(world):
    replayer = start(world)
    event = json.loads((EVENTS / "cloudtrail" / "update-pipeline.json").read_text())
    event["account"] = "444455556666"
    first = feed(replayer, event)
    [told] = messages(first)
    assert "not auditable" in told["subject"] or "bucket.not-auditable" in told["body"]
    assert "no read role" in told["body"] and writes(first) == []
    event["id"] = str(uuid.uuid4())
    assert messages(feed(replayer, event)) == []


def test_given_a_pipeline_naming_a_missing_bucket_then_it_says_so(world):
    replayer = start(world)
    event = json.loads((EVENTS / "cloudtrail" / "update-pipeline.json").read_text())
    for part in ("requestParameters", "responseElements"):
        event["detail"][part]["pipeline"]["artifactStore"]["location"] = "codepipeline-us-east-1-999988887777"
    step = feed(replayer, event)
    [told] = messages(step)
    assert "does not exist" in told["body"] and writes(step) == []


def test_the_replay_document_prints_every_bucket_after_tables(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"world": bucket_world(), "config": {},
                                "steps": [{"at": iso(T0), "schedule": "ArtifactGuard"}]}))
    doc = replay([str(path)])
    schema = json.loads((EVENTS.parent / "tests" / "contract" / "replay.schema.json").read_text())
    for contract in (schema, SCHEMA):
        jsonschema.validate(doc, contract)
    assert [k for k in doc if k in ("steps", "tables", "buckets")] == ["steps", "tables", "buckets"]
    compliant(doc["buckets"][BUCKET])


def test_emf_metrics_name_audited_noncompliant_and_fixed(world):
    replayer = start(world)
    sweep(replayer)
    logged = [json.loads(line) for line in world.logs.getvalue().splitlines() if '"_aws"' in line]
    [emf] = [m for m in logged if "ArtifactBucketsAudited" in m]
    names = ("ArtifactBucketsAudited", "ArtifactBucketsNoncompliant", "ArtifactBucketsFixed")
    assert [emf[name] for name in names] == [[1.0]] * 3


@pytest.mark.parametrize("broken", ["s3:DeleteBucketPolicy", "s3:DeleteBucketEncryption"])
def test_given_a_deleted_configuration_when_its_event_arrives_then_restored(world, broken):
    replayer = start(world)
    sweep(replayer)
    at = T0 + timedelta(hours=1)
    replayer.step(Step(f"call:{broken}", at, call={"call": broken, "params": {"Bucket": BUCKET}}))
    step = feed(replayer, cloudtrail(broken.split(":")[1], {}, at))
    assert len(writes(step)) == 1 and len(messages(step)) == 1
    compliant(config_of(world))


# -- Done when: a compliant pass costs the same for 10 and for many pipelines sharing 3 buckets, and writes 0 --
def test_a_compliant_pass_costs_the_same_calls_whatever_the_number_of_pipelines_and_writes_nothing():
    from tests.benchmarks.artifacts import compliant_pass

    few, many = compliant_pass(10), compliant_pass(40)
    assert few["first_pass_writes"] > 0  # the buckets started noncompliant and were fixed
    assert few["by_api"] == many["by_api"] and few["calls"] == many["calls"]
    assert few["writes"] == many["writes"] == 0
    assert many["by_api"]["s3:GetBucketPolicy"] == 3  # one audit per bucket, not per pipeline


# -- one failed call: the fix happened, the publish failed; the retry tells it, once ------------------------
def test_given_the_publish_fails_once_when_lambda_retries_then_the_finding_is_told_once(world, monkeypatch):
    import botocore.client
    from botocore.exceptions import ClientError

    original, failed = botocore.client.BaseClient._make_api_call, []

    def flaky(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "Publish" and not failed:
            failed.append(params["TopicArn"])
            raise ClientError({"Error": {"Code": "InternalError", "Message": "SNS unavailable"}}, operation)
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", flaky)
    replayer = start(world)
    step = sweep(replayer)
    assert failed, "the first publish failed"
    [told] = messages(step)
    assert "encryption.kms-cmk" in told["body"]
    assert not [e for e in step["effects"] if e["kind"] == "dead_letter"]
    compliant(config_of(world))
    assert messages(sweep(replayer, T0 + timedelta(days=1))) == []


# -- Done when: `make demo` shows a finding fixed -------------------------------------------------------------
def test_the_demo_shows_artifact_findings_fixed_and_told_once_each():
    from warden_local.demo import STORY
    from warden_local.timeline import render

    doc = replay([str(STORY)])
    told = [e for s in doc["steps"] for e in s["effects"] if e.get("event") == "artifact.noncompliant"]
    assert len(told) == 2 and all("— fixed" in e["body"] for e in told)
    assert "policy.deny-insecure-transport" in told[1]["body"] and "public-access-block" in told[0]["body"]
    compliant(doc["buckets"][BUCKET])
    assert doc["steps"][-1]["routed_to"] == ["ArtifactGuard"] and doc["steps"][-1]["effects"] == []
    fixed = "- policy.deny-insecure-transport: the policy does not deny requests with aws:SecureTransport false — fixed"
    assert " ".join(fixed.split()) in " ".join(render(doc).split())  # wrapped at 100 columns


def test_warden_artifacts_prints_the_audit_as_a_table_and_as_json(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "bucket.json"
    path.write_text(json.dumps({"world": bucket_world(), "steps": []}))

    def warden(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "warden_local.cli", "artifacts", *args], capture_output=True,
                              text=True, check=True)

    table = warden("--replay", str(path)).stdout
    assert table.splitlines()[0].split() == ["BUCKET", "PIPELINES", "MODE", "RESULT"]
    assert f"{BUCKET}  payments-api  enforce  9 failed: encryption.kms-cmk" in table
    [row] = json.loads(warden("--replay", str(path), "--json").stdout)["buckets"]
    assert row["pipelines"] == ["payments-api"] and row["compliant"] is False
    assert json.loads(warden("--json").stdout)["buckets"][0]["compliant"] is True  # the demo ends compliant


def test_given_s3_refuses_a_fix_then_the_finding_says_so_and_the_rest_is_fixed(world, monkeypatch):
    import botocore.client
    from botocore.exceptions import ClientError

    original = botocore.client.BaseClient._make_api_call

    def refusing(client: Any, operation: str, params: dict[str, Any]) -> Any:
        if operation == "PutBucketPolicy" and params.get("ExpectedBucketOwner"):  # Warden's, not the setup's
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied by an SCP"}}, operation)
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", refusing)
    step = sweep(start(world))
    assert not [e for e in step["effects"] if e["kind"] == "dead_letter"]
    [told] = messages(step)
    assert "policy.deny-insecure-transport" in told["body"] and "S3 refused the fix (AccessDenied)" in told["body"]
    assert config_of(world)["versioning"] == "Enabled"


def test_with_the_read_role_a_workload_bucket_is_audited_there_and_only_reported():
    from tests.integration.runtime.test_workload_accounts import READ_ROLE, WORKLOAD, in_workload, workload_account
    from warden_local.world import World

    with World(parameters={"WorkloadReadRoleName": READ_ROLE}) as world:
        world.workload = workload_account(world)
        _workload_bucket_reported(world, WORKLOAD, in_workload)


def _workload_bucket_reported(reading_world: Any, account: str, in_workload: Any) -> None:
    bucket = f"payments-api-artifacts-{account}"
    reading_world.workload.client("s3").create_bucket(Bucket=bucket)
    replayer = Replayer(reading_world)
    event = in_workload(json.loads((EVENTS / "cloudtrail" / "update-pipeline.json").read_text()))
    step = feed(replayer, event)
    assert step["routed_to"] == ["ArtifactGuard"] and writes(step) == []
    [told] = messages(step)
    assert bucket in told["subject"] and "versioning.enabled" in told["body"]
    assert "Warden only reports there" in told["body"]
    assert reading_world.workload.client("s3").get_bucket_versioning(Bucket=bucket).get("Status") is None
