"""The checks of one artifact bucket: read its configuration (S3 Get* calls), judge each requirement.

Reading and judging are apart so that a judgement is a pure function of what S3 answered: the same
answers always give the same findings, whichever event asked and however often (redelivery changes
nothing). Every call names the expected bucket owner, so a bucket name that changed hands is refused by
S3 instead of audited (or written) in someone else's account.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from warden.artifacts import eligibility, lifecycle, policy
from warden.artifacts.config import BucketPolicy

ENCRYPTION = "encryption.kms-cmk"
ONE_KEY = "encryption.one-key"
VERSIONING = "versioning.enabled"
PUBLIC_ACCESS = "public-access-block.all"
PAB_FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
ORDER = (ENCRYPTION, policy.SSE_CHECK, policy.TLS_CHECK, policy.GRANT_CHECK, VERSIONING, *lifecycle.CHECKS,
         PUBLIC_ACCESS)


@dataclass
class BucketState:
    """What the S3 Get* calls returned (None / [] where the bucket has none)."""

    encryption: list[dict[str, Any]] | None
    versioning: str | None
    lifecycle: list[dict[str, Any]]
    policy: dict[str, Any] | None
    public_access_block: dict[str, Any] | None


@dataclass
class Check:
    id: str
    ok: bool
    text: str  # what is wrong (or right), in words a person acts on


@dataclass
class Audit:
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def by_id(self, check_id: str) -> Check:
        return next(c for c in self.checks if c.id == check_id)


def _missing(exc: Exception, *codes: str) -> bool:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") in codes


def read_state(s3: Any, bucket: str, owner: str) -> BucketState:
    from botocore.exceptions import ClientError

    def get(call: Callable[..., Any], missing: tuple[str, ...], pick: Callable[[Any], Any], empty: Any) -> Any:
        try:
            return pick(call(Bucket=bucket, ExpectedBucketOwner=owner))
        except ClientError as exc:
            if _missing(exc, *missing):
                return empty
            raise

    text = get(s3.get_bucket_policy, ("NoSuchBucketPolicy",), lambda r: r["Policy"], None)
    return BucketState(
        encryption=get(s3.get_bucket_encryption, ("ServerSideEncryptionConfigurationNotFoundError",),
                       lambda r: r["ServerSideEncryptionConfiguration"]["Rules"], None),
        versioning=get(s3.get_bucket_versioning, (), lambda r: r.get("Status"), None),
        lifecycle=get(s3.get_bucket_lifecycle_configuration, ("NoSuchLifecycleConfiguration",),
                      lambda r: r["Rules"], []),
        policy=json.loads(text) if text else None,
        public_access_block=get(s3.get_public_access_block, ("NoSuchPublicAccessBlockConfiguration",),
                                lambda r: r["PublicAccessBlockConfiguration"], None),
    )


def kms_default(state: BucketState) -> dict[str, Any]:
    rules = state.encryption or []
    return (rules[0].get("ApplyServerSideEncryptionByDefault") or {}) if rules else {}


def is_aws_managed_alias(key: str | None) -> bool:
    return not key or key.endswith("alias/aws/s3") or key == "aws/s3"


def judge(state: BucketState, bucket: str, rules: BucketPolicy, *,
          customer_managed: Callable[[str], bool | str | None], partition: str = "aws", owner: str = "",
          acknowledged: tuple[str, ...] = (), prefixes: list[str] | tuple[str, ...] = ()) -> Audit:
    """`customer_managed(key)`: True (a usable customer-managed key), False (AWS-managed), a string saying why
    the key is not usable ("could not confirm ..." when it cannot be told), or None when it cannot be told;
    `owner`: the bucket's account (a key or a grant of any other account is a finding); `acknowledged`:
    accounts whose grants are expected; `prefixes`: where the pipelines write their artifacts (expiry there
    meets the expiry requirements)."""
    audit = Audit()
    default = kms_default(state)
    algorithm, key = default.get("SSEAlgorithm"), default.get("KMSMasterKeyID")
    bucket_key = bool(state.encryption and state.encryption[0].get("BucketKeyEnabled"))
    if algorithm != "aws:kms":
        audit.checks.append(Check(ENCRYPTION, False, f"default encryption is {algorithm or 'none'} (SSE-S3), "
                                  "not aws:kms with a customer-managed key"))
    elif eligibility.foreign_key(key, owner):
        audit.checks.append(Check(ENCRYPTION, False, f"default encryption uses {key}, a key of account "
                                  f"{eligibility.foreign_key(key, owner)}: that account controls this bucket's data"))
    elif is_aws_managed_alias(key):
        audit.checks.append(Check(ENCRYPTION, False, "default encryption uses the AWS-managed key aws/s3, "
                                  "not a customer-managed key"))
    else:
        managed = customer_managed(key)
        if managed is None:
            audit.checks.append(Check(ENCRYPTION, False, f"could not confirm that {key} is a customer-managed key"))
        elif isinstance(managed, str):
            audit.checks.append(Check(ENCRYPTION, False, f"{managed.replace('it is', f'{key} is', 1)}"
                                      if managed.startswith("could not confirm") else
                                      f"default encryption uses {key}, which {managed}"))
        elif not managed:
            audit.checks.append(Check(ENCRYPTION, False, f"{key} is an AWS-managed key, not a customer-managed one"))
        elif not bucket_key:
            audit.checks.append(Check(ENCRYPTION, False, f"S3 Bucket Key is off (key {key})"))
        else:
            audit.checks.append(Check(ENCRYPTION, True, f"aws:kms with {key}, bucket key on"))
    found = policy.check(state.policy, bucket, partition)
    audit.checks.append(Check(policy.SSE_CHECK, found[policy.SSE_CHECK],
                              "the policy denies s3:PutObject without aws:kms encryption"
                              if found[policy.SSE_CHECK] else
                              "the policy does not deny s3:PutObject without aws:kms encryption"))
    audit.checks.append(Check(policy.TLS_CHECK, found[policy.TLS_CHECK],
                              "the policy denies requests without TLS" if found[policy.TLS_CHECK] else
                              "the policy does not deny requests with aws:SecureTransport false"))
    grants = policy.foreign_grants(state.policy, owner, acknowledged) if owner else []
    audit.checks.append(Check(policy.GRANT_CHECK, not grants, "; ".join(grants) if grants else
                              "the policy grants no other account access"))
    audit.checks.append(Check(VERSIONING, state.versioning == "Enabled",
                              f"versioning is {state.versioning or 'off (never enabled)'}"))
    days = (rules.expire_days, rules.noncurrent_days, rules.abort_multipart_days)
    met = lifecycle.check(state.lifecycle, *days, prefixes=prefixes)
    texts = {
        lifecycle.CURRENT: f"current versions expire within {rules.expire_days} days",
        lifecycle.NONCURRENT: f"noncurrent versions expire within {rules.noncurrent_days} days",
        lifecycle.MARKERS: "expired object delete markers are removed",
        lifecycle.MULTIPART: f"incomplete multipart uploads abort within {rules.abort_multipart_days} days",
    }
    for check_id in lifecycle.CHECKS:
        text = texts[check_id]
        if not met[check_id] and check_id in lifecycle.DELETES_DATA and prefixes:
            # Which prefixes is said by the fix (or why not): the finding stays the same as they get covered.
            text = "no lifecycle rule over the whole bucket or every artifact prefix: " + text
        elif not met[check_id]:
            text = "no whole-bucket lifecycle rule: " + text
        audit.checks.append(Check(check_id, met[check_id], text))
    pab = state.public_access_block or {}
    off = [f for f in PAB_FIELDS if not pab.get(f)]
    audit.checks.append(Check(PUBLIC_ACCESS, not off, "all four public access block settings are on" if not off
                              else f"public access block settings off: {', '.join(off)}"))
    return audit
