"""Artifact bucket rules as pure functions: policy meaning and merge, lifecycle merge, configuration."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from warden.artifacts import lifecycle, policy
from warden.artifacts.config import ArtifactsConfig
from warden.runtime.documents import ConfigError, parse_document
from warden_local.fakes.s3 import evaluate, normalise_policy

BUCKET = "codepipeline-us-east-1-111122223333"


def stored(doc: dict) -> dict:
    """What S3 gives back for a policy that was put."""
    return json.loads(normalise_policy(json.dumps(doc)))


def test_a_policy_as_s3_rewrites_it_means_the_same_and_is_not_merged_again():
    team = {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
            "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": False}, "NumericLessThan": {"s3:max-keys": 10}}}
    merged = policy.merge({"Version": "2012-10-17", "Statement": [team]}, BUCKET)
    back = stored(merged)
    assert back != merged  # the spelling changed: a text comparison would loop
    assert back["Statement"][0]["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "false"},
                                                 "NumericLessThan": {"s3:max-keys": "10"}}
    assert policy.same_policy(back, merged)
    assert policy.merge(back, BUCKET) is None
    assert all(policy.check(back, BUCKET).values())


def test_a_team_statement_meeting_a_requirement_is_enough():
    team = {"Sid": "TeamTls", "Effect": "Deny", "Principal": {"AWS": ["*"]}, "Action": ["s3:*"],
            "Resource": [f"arn:aws:s3:::{BUCKET}*"], "Condition": {"Bool": {"aws:SecureTransport": False}}}
    merged = policy.merge({"Version": "2012-10-17", "Statement": [team]}, BUCKET)
    assert [s["Sid"] for s in merged["Statement"]] == ["TeamTls", policy.SSE_SID]
    assert merged["Statement"][0] is not team and merged["Statement"][0] == team


def test_a_warden_statement_that_was_weakened_is_replaced_in_place():
    weak = policy.tls_statement(BUCKET) | {"Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    other = {"Sid": "Other", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    merged = policy.merge({"Statement": [weak, other, policy.sse_statement(BUCKET)]}, BUCKET)
    assert [s["Sid"] for s in merged["Statement"]] == [policy.TLS_SID, "Other", policy.SSE_SID]
    assert merged["Statement"][0] == policy.tls_statement(BUCKET)


@pytest.mark.parametrize(("headers", "expected"), [
    ({}, "DENIED"), ({"s3:x-amz-server-side-encryption": "AES256"}, "DENIED"),
    ({"s3:x-amz-server-side-encryption": "aws:kms"}, "NEUTRAL"),
])
def test_the_embedded_s3_evaluates_the_encryption_condition_of_the_request(headers, expected):
    doc = normalise_policy(json.dumps(policy.merge(None, BUCKET)))
    ctx = {"aws:securetransport": "true", **headers}
    assert evaluate(doc, "s3:PutObject", f"arn:aws:s3:::{BUCKET}/k", ctx).name == expected
    assert evaluate(doc, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/k", ctx).name == "NEUTRAL"
    assert evaluate(doc, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/k", {"aws:securetransport": "false"}).name == "DENIED"


PREFIXES = ["payments-api/SourceArti/", "payments-api/BuildArtif/"]


def test_lifecycle_merge_keeps_team_rules_and_is_idempotent():
    team = {"ID": "team", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 3}}
    merged = lifecycle.merge([team], 30, 7, 7, prefixes=PREFIXES)
    assert merged[0] is team
    assert {r["ID"] for r in merged[1:]} == {*lifecycle.WARDEN_IDS, *(lifecycle.PREFIX_ID + p for p in PREFIXES)}
    assert lifecycle.merge(merged, 30, 7, 7, prefixes=PREFIXES) is None
    assert all(lifecycle.check(merged, 30, 7, 7, prefixes=PREFIXES).values())


def test_warden_expires_only_the_artifact_prefixes_never_the_whole_bucket():
    merged = lifecycle.merge([], 30, 7, 7, prefixes=PREFIXES)
    expiring = [r for r in merged if "Days" in (r.get("Expiration") or {}) or r.get("NoncurrentVersionExpiration")]
    assert sorted(r["Filter"]["Prefix"] for r in expiring) == sorted(PREFIXES)
    assert not any(lifecycle.whole_bucket(r) for r in expiring)
    # A held prefix (someone's files there) gets no rule, and the requirement stays unmet.
    held = lifecycle.merge([], 30, 7, 7, prefixes=PREFIXES, held=frozenset(PREFIXES[:1]))
    assert [r["Filter"]["Prefix"] for r in held if r["ID"].startswith(lifecycle.PREFIX_ID)] == PREFIXES[1:]
    assert not lifecycle.check(held, 30, 7, 7, prefixes=PREFIXES)[lifecycle.CURRENT]
    # No prefix known: no expiry at all, only the harmless rules.
    assert not any("Days" in (r.get("Expiration") or {}) for r in lifecycle.merge([], 30, 7, 7))
    # An expiry in Warden's own whole-bucket rule (an earlier version's) no longer counts, and is narrowed.
    legacy = [{"ID": lifecycle.EXPIRE_ID, "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 30},
               "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
               "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
              {"ID": lifecycle.MARKERS_ID, "Filter": {}, "Status": "Enabled",
               "Expiration": {"ExpiredObjectDeleteMarker": True}}]
    assert not lifecycle.check(legacy, 30, 7, 7, prefixes=PREFIXES)[lifecycle.CURRENT]
    narrowed = lifecycle.merge(legacy, 30, 7, 7, prefixes=PREFIXES)
    assert narrowed[0] == {"ID": lifecycle.EXPIRE_ID, "Filter": {}, "Status": "Enabled",
                           "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}


def test_codepipeline_writes_under_the_pipeline_20_and_artifact_10_characters():
    from warden.artifacts.discovery import artifact_prefix, artifacts_of
    from warden.artifacts.remediation import ARTIFACT_NAME

    assert artifact_prefix("CodeBuild-Python-Pipeline", "SourceArtifact") == "CodeBuild-Python-Pip/SourceArti/"
    assert artifacts_of({"stages": [{"actions": [{"outputArtifacts": [{"name": "BuildArtifact"}]},
                                                 {"outputArtifacts": []}]}]}) == ["BuildArtifact"]
    assert all(ARTIFACT_NAME.match(n) for n in ("1TspnN3", "gZkH2iH", "azeG09Z", "ZRe7z8k.zip"))
    assert not any(ARTIFACT_NAME.match(n) for n in ("q3.xlsx", "ledger-2026-11.dump", "2026/q3", "abcdefgh"))


def test_a_team_rule_that_expires_everything_sooner_is_compliant_as_it_is():
    team = {"ID": "team", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 14},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}}
    markers = {"ID": "m", "Status": "Enabled", "Prefix": "", "Expiration": {"ExpiredObjectDeleteMarker": True}}
    assert lifecycle.merge([team, markers], 30, 7, 7) is None
    longer = team | {"Expiration": {"Days": 60}}
    merged = lifecycle.merge([longer, markers], 30, 7, 7, prefixes=PREFIXES)
    assert merged[:2] == [longer, markers]
    assert merged[2:] == [{"ID": lifecycle.PREFIX_ID + p, "Filter": {"Prefix": p}, "Status": "Enabled",
                           "Expiration": {"Days": 30}} for p in sorted(PREFIXES)]


def test_configuration_overrides_first_match_wins():
    config = ArtifactsConfig.model_validate({"buckets": [{"match": "legacy-*", "mode": "audit"},
                                                         {"match": "sandbox-*", "exclude": True},
                                                         {"match": "legacy-x*", "exclude": True}]})
    assert config.for_bucket("legacy-x1").mode == "audit"
    assert config.for_bucket("sandbox-1") is None
    assert config.for_bucket("prod").mode == "enforce" and config.for_bucket("prod").expire_days == 30


def test_a_bad_artifacts_document_is_named_clearly():
    with pytest.raises(ConfigError, match=r"artifacts\.buckets\[0\]\.mode"):
        parse_document("artifacts", {"buckets": [{"match": "x", "mode": "enforced"}]})
    with pytest.raises(ConfigError, match=r"artifacts\.expire_dayz"):
        parse_document("artifacts", {"expire_dayz": 3})


def test_warden_config_validate_accepts_an_artifacts_document(tmp_path):
    path = tmp_path / "artifacts.json"
    path.write_text(json.dumps({"mode": "audit", "expire_days": 30, "noncurrent_days": 7,
                                "abort_multipart_days": 7, "buckets": [{"match": "legacy-*", "mode": "audit"}]}))
    done = subprocess.run([sys.executable, "-m", "warden_local.cli", "config", "validate", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "valid (artifacts)" in done.stdout
    path.write_text(json.dumps({"noncurrent_days": 0}))
    done = subprocess.run([sys.executable, "-m", "warden_local.cli", "config", "validate", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "artifacts.noncurrent_days" in done.stderr


def test_a_persons_overwritten_edit_is_made_again_on_what_is_there_now():
    grant = {"Sid": "Grant", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
             "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    auditor = {"Sid": "Auditor", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/a"},
               "Action": "s3:GetBucketPolicy", "Resource": "arn:aws:s3:::b"}
    later = {"Sid": "Later", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/l"},
             "Action": "s3:GetBucketPolicy", "Resource": "arn:aws:s3:::b"}
    base = {"Version": "2012-10-17", "Statement": [grant]}
    edit = {"Version": "2012-10-17", "Statement": [auditor]}  # the person added one and revoked the grant
    wardens = policy.merge(base, "b")
    now = wardens | {"Statement": [*wardens["Statement"], later]}  # someone else added one since
    merged, conflicts = policy.reapply(base, edit, now)
    assert [s["Sid"] for s in merged["Statement"]] == [policy.TLS_SID, policy.SSE_SID, "Later", "Auditor"]
    assert conflicts == []
    assert policy.same_policy(policy.reapply(base, edit, merged)[0], merged)  # made again: nothing more
    # A statement the person changed, that someone changed too since: the later form stays, said.
    changed = grant | {"Action": "s3:GetObjectVersion"}
    theirs = wardens | {"Statement": [s if s.get("Sid") != "Grant" else grant | {"Action": "s3:*"}
                                      for s in wardens["Statement"]]}
    kept, conflicts = policy.reapply(base, {"Statement": [changed]}, theirs)
    assert conflicts == ["Grant"] and [s for s in kept["Statement"] if s["Sid"] == "Grant"][0]["Action"] == "s3:*"
