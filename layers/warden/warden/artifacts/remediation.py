"""Enforce mode: fix a bucket by merging into what is there, with one write per failed area at most.

Every write is computed from a fresh read and is a no-op in meaning when repeated, so a redelivered event,
an overlapping scheduled pass or Warden's own writes coming back as CloudTrail events find the bucket
compliant and write nothing (no loop). The policy, which people edit too, is read again right before it
is written, so a statement added by someone in between is kept, not overwritten from a stale copy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from warden.artifacts import checks, lifecycle, policy
from warden.artifacts.config import BucketPolicy


@dataclass
class Outcome:
    fixed: list[str] = field(default_factory=list)
    not_fixed: dict[str, str] = field(default_factory=dict)  # check id -> why not
    writes: int = 0


def enforce(s3: Any, bucket: str, owner: str, state: checks.BucketState, audit: checks.Audit,
            rules: BucketPolicy, key: str | None, partition: str = "aws", out: Outcome | None = None) -> Outcome:
    """Fix every failed check that can be fixed; `key` is the customer-managed key to use, if any.
    `out` collects what was done so far, also when a call fails half-way."""
    out = out if out is not None else Outcome()
    failed = {c.id for c in audit.failed}
    common = {"Bucket": bucket, "ExpectedBucketOwner": owner}
    if checks.VERSIONING in failed:
        # Only Status: MFADelete stays as it is (changing it needs the root user's MFA anyway).
        s3.put_bucket_versioning(**common, VersioningConfiguration={"Status": "Enabled"})
        out.writes += 1
        out.fixed.append(checks.VERSIONING)
    if checks.PUBLIC_ACCESS in failed:
        s3.put_public_access_block(**common, PublicAccessBlockConfiguration={f: True for f in checks.PAB_FIELDS})
        out.writes += 1
        out.fixed.append(checks.PUBLIC_ACCESS)
    if checks.ENCRYPTION in failed:
        _encryption(s3, common, state, audit, key, out)
    lifecycle_failed = [c for c in lifecycle.CHECKS if c in failed]
    if lifecycle_failed:
        merged = lifecycle.merge(state.lifecycle, rules.expire_days, rules.noncurrent_days, rules.abort_multipart_days)
        if merged is not None:
            s3.put_bucket_lifecycle_configuration(**common, LifecycleConfiguration={"Rules": merged})
            out.writes += 1
        out.fixed += lifecycle_failed
    if {policy.TLS_CHECK, policy.SSE_CHECK} & failed:
        _policy(s3, common, bucket, partition, failed, out)
    return out


def _encryption(s3: Any, common: dict[str, str], state: checks.BucketState, audit: checks.Audit,
                key: str | None, out: Outcome) -> None:
    default = checks.kms_default(state)
    current = default.get("KMSMasterKeyID")
    text = audit.by_id(checks.ENCRYPTION).text
    keep_current = (default.get("SSEAlgorithm") == "aws:kms" and not checks.is_aws_managed_alias(current)
                    and text.startswith("S3 Bucket Key is off"))
    if text.startswith("could not confirm"):
        # A key Warden cannot classify may be someone's CMK: replacing it could lock them out.
        out.not_fixed[checks.ENCRYPTION] = text + "; not changed"
        return
    target = current if keep_current else key
    if not target:
        out.not_fixed[checks.ENCRYPTION] = ("no customer-managed key known: the pipelines name no "
                                            "artifactStore.encryptionKey and no kms_key_arn is configured")
        return
    rule = dict((state.encryption or [{}])[0])  # other fields of the rule stay as they are
    rule["ApplyServerSideEncryptionByDefault"] = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": target}
    rule["BucketKeyEnabled"] = True
    s3.put_bucket_encryption(**common, ServerSideEncryptionConfiguration={"Rules": [rule]})
    out.writes += 1
    out.fixed.append(checks.ENCRYPTION)


def _policy(s3: Any, common: dict[str, str], bucket: str, partition: str, failed: set[str], out: Outcome) -> None:
    # Read again right before writing: a person's edit since the audit's read must survive.
    from botocore.exceptions import ClientError

    try:
        fresh = json.loads(s3.get_bucket_policy(**common)["Policy"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucketPolicy":
            raise
        fresh = None
    merged = policy.merge(fresh, bucket, partition)
    if merged is not None:
        s3.put_bucket_policy(**common, Policy=json.dumps(merged))
        out.writes += 1
    out.fixed += [c for c in (policy.SSE_CHECK, policy.TLS_CHECK) if c in failed]
