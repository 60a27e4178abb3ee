"""What ArtifactGuard may change, as pure functions: proven artifact stores, other accounts' keys and grants,
expiry held back."""

from __future__ import annotations

from warden.artifacts import eligibility, lifecycle, policy

OWN = "111122223333"


def test_only_codepipelines_default_name_for_the_stores_region_or_the_allow_list_is_eligible():
    assert eligibility.why_not("codepipeline-us-east-1-123456789012", "us-east-1", ()) is None
    assert eligibility.why_not("codepipeline-eu-west-2-123456789012", "eu-west-2", ()) is None
    # Another region's name, a short number, any other name: reported, never changed.
    assert eligibility.why_not("codepipeline-eu-west-2-123456789012", "us-east-1", ())
    assert eligibility.why_not("codepipeline-us-east-1-1234", "us-east-1", ())
    assert "ArtifactBucketAllowList" in eligibility.why_not("team-data-lake", "us-east-1", ())
    assert eligibility.why_not("team-a-artifacts", "us-east-1", eligibility.allow_list(" team-*-artifacts ,x")) is None
    assert eligibility.allow_list("") == ()


def test_a_key_of_another_account_is_foreign_and_a_bare_id_is_not():
    assert eligibility.foreign_key("arn:aws:kms:us-east-1:999988887777:key/abc", OWN) == "999988887777"
    assert eligibility.foreign_key(f"arn:aws:kms:us-east-1:{OWN}:key/abc", OWN) is None
    assert eligibility.foreign_key("arn:aws:kms:us-east-1:999988887777:alias/theirs", OWN) == "999988887777"
    assert eligibility.foreign_key("alias/mine", OWN) is None and eligibility.foreign_key(None, OWN) is None


def test_grants_to_other_accounts_and_to_anyone_are_found_own_and_acknowledged_are_not():
    doc = {"Statement": [
        {"Sid": "Deploy", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
         "Principal": {"AWS": ["arn:aws:iam::444455556666:role/deploy", "777788889999"]}},
        {"Sid": "Own", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OWN}:root"}, "Action": "s3:*"},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject"},
        {"Sid": "OrgOnly", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}},
        {"Sid": "Deny", "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "s3:*"},
    ]}
    assert policy.foreign_grants(doc, OWN) == [
        "statement Deploy allows account 444455556666 and account 777788889999 s3:GetObject",
        "statement #3 allows anyone s3:GetObject"]
    assert policy.foreign_grants(doc, OWN, ("444455556666", "777788889999")) == [
        "statement #3 allows anyone s3:GetObject"]


def test_held_expiry_is_left_out_and_nothing_is_written_when_only_held_requirements_are_unmet():
    merged = lifecycle.merge([], 30, 7, 7, hold=lifecycle.DELETES_DATA)
    assert merged and not any("Expiration" in r and "Days" in r["Expiration"] or "NoncurrentVersionExpiration" in r
                              for r in merged)
    assert lifecycle.merge(merged, 30, 7, 7, hold=lifecycle.DELETES_DATA) is None
    assert any((r.get("Expiration") or {}).get("Days") == 30
               for r in lifecycle.merge(merged, 30, 7, 7, prefixes=["p/SourceArti/"]))
