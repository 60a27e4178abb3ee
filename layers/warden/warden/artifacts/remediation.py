"""Enforce mode: fix a bucket by merging into what is there, with one write per failed area at most.

Every write is computed from a fresh read and is a no-op in meaning when repeated, so a redelivered event,
an overlapping scheduled pass or Warden's own writes coming back as CloudTrail events find the bucket
compliant and write nothing (no loop). The policy, which people edit too, is read again right before it
is written, and read back after: when what S3 holds is not what was written (someone wrote in between),
the merge is made again from what is there, a bounded number of times, and the outcome says so when it
still does not hold. S3 has no conditional PutBucketPolicy, so an edit landing between the last read and
the write can still be overwritten; the CloudTrail event of that edit restores it (`restore_policy`).

What is never written: a KMS key of another account (a finding), a grant removed (reported only),
expiry on a bucket that holds anything outside the pipelines' folders (`<pipeline name, 20 chars>/`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from warden.artifacts import checks, eligibility, lifecycle, policy
from warden.artifacts.config import BucketPolicy
from warden.core import clock

POLICY_ATTEMPTS = 3  # writes of a policy that keeps changing under Warden before it says so
LIST_PAGES = 5  # ListObjectsV2 pages (1,000 top-level names each) read before expiry is added
GRANT_REPORTED = "reported only: Warden never removes a grant, review it"
FOLDER_CHARS = 20  # CodePipeline names an artifact's folder after the first 20 characters of the pipeline


@dataclass
class Remediation:
    fixed: list[str] = field(default_factory=list)
    not_fixed: dict[str, str] = field(default_factory=dict)  # check id -> why not
    writes: int = 0
    policy_write: dict[str, Any] | None = None  # the base read and the policy written (for `restore_policy`)


def enforce(s3: Any, bucket: str, owner: str, state: checks.BucketState, audit: checks.Audit,
            rules: BucketPolicy, key: str | None, partition: str = "aws", out: Remediation | None = None,
            pipelines: list[str] | None = None) -> Remediation:
    """Fix every failed check that can be fixed; `key` is the customer-managed key to use, if any;
    `pipelines`: the pipelines whose artifact store this is (their folders are all the bucket may hold
    before expiry is added). `out` collects what was done so far, also when a call fails half-way."""
    out = out if out is not None else Remediation()
    failed = {c.id for c in audit.failed}
    common = {"Bucket": bucket, "ExpectedBucketOwner": owner}
    if policy.GRANT_CHECK in failed:
        out.not_fixed[policy.GRANT_CHECK] = GRANT_REPORTED
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
        hold: frozenset[str] = frozenset()
        if lifecycle.DELETES_DATA & set(lifecycle_failed):
            why = other_data(s3, common, pipelines or [])
            if why:
                hold = lifecycle.DELETES_DATA
                out.not_fixed |= {c: why for c in lifecycle_failed if c in hold}
        merged = lifecycle.merge(state.lifecycle, rules.expire_days, rules.noncurrent_days, rules.abort_multipart_days,
                                 hold=hold)
        if merged:
            s3.put_bucket_lifecycle_configuration(**common, LifecycleConfiguration={"Rules": merged})
            out.writes += 1
        out.fixed += [c for c in lifecycle_failed if c not in hold]
    if {policy.TLS_CHECK, policy.SSE_CHECK} & failed:
        _policy(s3, common, bucket, partition, failed, out)
    return out


def _encryption(s3: Any, common: dict[str, str], state: checks.BucketState, audit: checks.Audit,
                key: str | None, out: Remediation) -> None:
    default = checks.kms_default(state)
    current = default.get("KMSMasterKeyID")
    text = audit.by_id(checks.ENCRYPTION).text
    owner = common["ExpectedBucketOwner"]
    if eligibility.foreign_key(current, owner):
        out.not_fixed[checks.ENCRYPTION] = ("not changed: the pipelines may depend on it; choose a key of this "
                                            "account and set it, or configure kms_key_arn")
        return
    if eligibility.foreign_key(key, owner):
        out.not_fixed[checks.ENCRYPTION] = (f"the key {key} belongs to account {eligibility.foreign_key(key, owner)}: "
                                            "Warden never writes another account's key")
        return
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


def _read_policy(s3: Any, common: dict[str, str]) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    try:
        return json.loads(s3.get_bucket_policy(**common)["Policy"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NoSuchBucketPolicy":
            raise
        return None


def _policy(s3: Any, common: dict[str, str], bucket: str, partition: str, failed: set[str], out: Remediation) -> None:
    # Read again right before writing (a person's edit since the audit's read must survive), and read back
    # after writing: a write that landed after Warden's is merged into, not overwritten.
    read_at = clock.iso(clock.now())
    fresh = _read_policy(s3, common)
    for _ in range(POLICY_ATTEMPTS):
        merged = policy.merge(fresh, bucket, partition)
        if merged is None:
            break
        s3.put_bucket_policy(**common, Policy=json.dumps(merged))
        out.writes += 1
        out.policy_write = {"base": json.dumps(fresh), "written": json.dumps(merged), "read_at": read_at,
                            "written_at": clock.iso(clock.now())}
        read_at = clock.iso(clock.now())
        stored = _read_policy(s3, common)
        if policy.same_policy(stored, merged):
            break
        fresh = stored  # someone wrote since: merge into theirs
    else:
        if policy.merge(fresh, bucket, partition) is not None:
            why = f"the policy changed under Warden's {POLICY_ATTEMPTS} writes: someone keeps replacing it"
            out.not_fixed |= {c: why for c in (policy.SSE_CHECK, policy.TLS_CHECK) if c in failed}
            return
    out.fixed += [c for c in (policy.SSE_CHECK, policy.TLS_CHECK) if c in failed]


def other_data(s3: Any, common: dict[str, str], pipelines: list[str]) -> str | None:
    """Why expiry must not be added: top-level names other than the pipelines' artifact folders, or a listing
    too long to read; None when the bucket holds only pipeline artifacts."""
    folders = {name[:FOLDER_CHARS] + "/" for name in pipelines}
    request: dict[str, Any] = {**common, "Delimiter": "/", "MaxKeys": 1000}
    for _ in range(LIST_PAGES):
        page = s3.list_objects_v2(**request)
        other = sorted({p["Prefix"] for p in page.get("CommonPrefixes", []) if p["Prefix"] not in folders}
                       | {o["Key"] for o in page.get("Contents", [])})
        if other:
            shown = ", ".join(other[:5]) + (", ..." if len(other) > 5 else "")
            return (f"the bucket holds objects outside the pipelines' folders ({shown}): expiry would delete "
                    "them, so it is not added")
        if not page.get("IsTruncated"):
            return None
        request["ContinuationToken"] = page["NextContinuationToken"]
    return (f"could not confirm that the bucket holds only pipeline artifacts (more than {LIST_PAGES * 1000} "
            "top-level names): expiry is not added")


def restore_policy(s3: Any, common: dict[str, str], bucket: str, partition: str, edit: dict[str, Any],
                   written: dict[str, Any]) -> dict[str, Any] | None:
    """A person's policy `edit` (from its CloudTrail event) that Warden's write `written` overwrote: write the
    edit with Warden's statements merged in, when the bucket still holds exactly what Warden wrote (a later
    change by anyone wins). Returns the policy written, or None."""
    current = _read_policy(s3, common)
    if not policy.same_policy(current, written):
        return None
    merged = policy.merge(edit, bucket, partition) or edit
    if policy.same_policy(merged, current):
        return None
    s3.put_bucket_policy(**common, Policy=json.dumps(merged))
    return merged
