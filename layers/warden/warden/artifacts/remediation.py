"""Enforce mode: fix a bucket by merging into what is there, with one write per failed area at most.

Every write is computed from a fresh read and is a no-op in meaning when repeated, so a redelivered event,
an overlapping scheduled pass or Warden's own writes coming back as CloudTrail events find the bucket
compliant and write nothing (no loop). The policy, which people edit too, is read again right before it
is written, and read back after: when what S3 holds is not what was written (someone wrote in between),
the merge is made again from what is there, a bounded number of times, and the outcome says so when it
still does not hold. S3 has no conditional PutBucketPolicy, so an edit landing between the last read and
the write can still be overwritten: every write is recorded (what was read, what was written, when), and
the CloudTrail event of an edit timed inside such a window has the person's changes made again on what
the bucket holds then (`restore_policy`, a three-way merge: later changes by anyone stay).

What is never written: a KMS key of another account or one DescribeKey does not show usable (a finding), a
grant removed (reported only), expiry over the whole bucket. Expiry is added only on the prefixes where
CodePipeline writes the artifacts of the pipelines that use the store (`<pipeline, 20 chars>/<output
artifact, 10 chars>/`, from their definitions), and on such a prefix only when every object there has
the name CodePipeline gives an artifact (7 letters and digits): a pipeline named after someone's folder
(`finance`) gets expiry on `finance/SourceArti/` at most, and not even there when that holds their files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from warden.artifacts import checks, eligibility, lifecycle, policy
from warden.artifacts.config import BucketPolicy
from warden.core import clock

POLICY_ATTEMPTS = 3  # writes of a policy that keeps changing under Warden before it says so
LIST_PAGES = 10  # ListObjectsV2 pages (1,000 keys each) read per artifact prefix before expiry is added there
GRANT_REPORTED = "reported only: Warden never removes a grant, review it"
ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9]{7}(?:\.zip)?$")  # the object name CodePipeline gives an artifact


@dataclass
class Remediation:
    fixed: list[str] = field(default_factory=list)
    not_fixed: dict[str, str] = field(default_factory=dict)  # check id -> why not
    writes: int = 0
    policy_writes: list[dict[str, Any]] = field(default_factory=list)  # base read, policy written, when


def enforce(s3: Any, bucket: str, owner: str, state: checks.BucketState, audit: checks.Audit,
            rules: BucketPolicy, key: str | None, partition: str = "aws", out: Remediation | None = None,
            pipelines: list[str] | None = None, key_problem: str | None = None,
            prefixes: list[str] | None = None, unknown: list[str] | None = None) -> Remediation:
    """Fix every failed check that can be fixed; `key` is the customer-managed key to use, if any;
    `pipelines`: the pipelines whose artifact store this is; `prefixes`: where their actions write artifacts
    (expiry goes there, and only there); `unknown`: pipelines whose artifacts are not known yet;
    `key_problem`: why no key can be set (DescribeKey's verdict, or pipelines that disagree). `out` collects
    what was done so far, also when a call fails half-way."""
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
        _encryption(s3, common, state, audit, key, out, key_problem)
    lifecycle_failed = [c for c in lifecycle.CHECKS if c in failed]
    if lifecycle_failed:
        _lifecycle(s3, common, state, rules, lifecycle_failed, list(prefixes or []), list(unknown or []), out)
    if {policy.TLS_CHECK, policy.SSE_CHECK} & failed:
        _policy(s3, common, bucket, partition, failed, out)
    return out


def _encryption(s3: Any, common: dict[str, str], state: checks.BucketState, audit: checks.Audit,
                key: str | None, out: Remediation, key_problem: str | None = None) -> None:
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
    if not target and key_problem:
        out.not_fixed[checks.ENCRYPTION] = key_problem + "; not changed"
        return
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
        out.policy_writes.append({"base": json.dumps(fresh), "written": json.dumps(merged), "read_at": read_at,
                                  "written_at": clock.iso(clock.now())})
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


def _lifecycle(s3: Any, common: dict[str, str], state: checks.BucketState, rules: BucketPolicy,
               failed: list[str], prefixes: list[str], unknown: list[str], out: Remediation) -> None:
    days = (rules.expire_days, rules.noncurrent_days, rules.abort_multipart_days)
    hold: frozenset[str] = frozenset()
    held: dict[str, str] = {}
    expiry = lifecycle.DELETES_DATA & set(failed)
    if expiry and unknown:
        hold = lifecycle.DELETES_DATA
    elif expiry:
        missing = {p for c in expiry for p in lifecycle.uncovered(state.lifecycle, c, prefixes, *days)}
        held = not_artifacts(s3, common, sorted(missing))
    merged = lifecycle.merge(state.lifecycle, *days, hold=hold, prefixes=prefixes, held=frozenset(held))
    if merged:
        s3.put_bucket_lifecycle_configuration(**common, LifecycleConfiguration={"Rules": merged})
        out.writes += 1
    after = lifecycle.check(merged if merged is not None else state.lifecycle, *days, prefixes=prefixes)
    for check_id in failed:
        if after[check_id]:
            out.fixed.append(check_id)
        elif unknown:
            out.not_fixed[check_id] = (f"the output artifacts of {', '.join(sorted(unknown))} are not known yet: "
                                       "expiry waits for the next pass")
        elif held:
            shown = "; ".join(held[p] for p in sorted(held)[:3]) + ("; ..." if len(held) > 3 else "")
            out.not_fixed[check_id] = f"not added where it would delete what CodePipeline did not write: {shown}"
        elif not prefixes:
            out.not_fixed[check_id] = ("the pipelines declare no output artifacts, so no prefix is known to be "
                                       "theirs: Warden adds expiry only on artifact prefixes, never on the whole "
                                       "bucket")
        else:
            out.not_fixed[check_id] = (f"{len(prefixes)} artifact prefixes need more rules than one lifecycle "
                                       f"configuration holds ({lifecycle.MAX_RULES}): add a rule yourself")


def not_artifacts(s3: Any, common: dict[str, str], prefixes: list[str]) -> dict[str, str]:
    """The artifact prefixes Warden must not expire, each with why: a prefix holding an object whose name is
    not one CodePipeline gives an artifact (someone's data), or too many objects to read. An empty prefix gets
    expiry: nothing is there to delete, and it is the pipeline's own artifact prefix."""
    held: dict[str, str] = {}
    for prefix in prefixes:
        request: dict[str, Any] = {**common, "Prefix": prefix, "MaxKeys": 1000}
        for _ in range(LIST_PAGES):
            page = s3.list_objects_v2(**request)
            other = sorted(o["Key"] for o in page.get("Contents", [])
                           if not ARTIFACT_NAME.match(o["Key"][len(prefix):]))
            if other:
                shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
                held[prefix] = f"{prefix} holds objects CodePipeline does not write ({shown})"
                break
            if not page.get("IsTruncated"):
                break
            request["ContinuationToken"] = page["NextContinuationToken"]
        else:
            held[prefix] = (f"could not confirm that {prefix} holds only artifacts (more than {LIST_PAGES * 1000} "
                            "objects)")
    return held


def restore_policy(s3: Any, common: dict[str, str], bucket: str, partition: str, edit: dict[str, Any],
                   bases: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[str]]:
    """A person's policy `edit` (from its CloudTrail event) that Warden's writes overwrote, `bases` being what
    each of those writes was built on (oldest first): the person's changes are made again on the policy the
    bucket holds now (`policy.reapply`), Warden's statements merged in, and written when that changes
    anything. Returns (the policy read, the policy written or None, statements a later change kept)."""
    current = _read_policy(s3, common)
    result, conflicts = current, []
    for base in bases:
        result, lost = policy.reapply(base, edit, result)
        conflicts += [c for c in lost if c not in conflicts]
    merged = policy.merge(result, bucket, partition) or result
    if policy.same_policy(merged, current):
        return current, None, conflicts
    s3.put_bucket_policy(**common, Policy=json.dumps(merged))
    return current, merged, conflicts
