"""Rollback targets stay restorable: the artifacts a rollback would re-deploy are refreshed before they expire.

CodePipeline's RollbackStage re-runs the stage with the target execution's artifacts, which actions read
by bucket and object *key* (ArtifactDetail.s3location and the job's s3Location carry no version id), so
what must survive is the key's current version. DeploymentTracker records each deploying stage's input
artifact locations on the execution item (`stage:<name>:artifacts`). For every stage of this account that
has a current deployment, the artifacts of that execution and of the two newest successful STANDARD
executions of the stage (the rollback target is among them, whichever of them is current) are kept: an
object older than the bucket's expiry minus a margin is copied onto itself (same key, same KMS key,
metadata REPLACE), which makes a new current version with a fresh date. The replaced version becomes
noncurrent and expires on the noncurrent schedule; no Object Lock, no retention, and everything else
expires on time. Copying is idempotent in effect (a copy of a fresh object is never made: its age is
below the threshold), so redelivered or overlapping passes refresh once.

Copies are made only where ArtifactGuard may write (`s3_for` answers only for enforced, proven artifact
stores of this account), and never with another account's key: an object encrypted with one is not copied
(the copy would write that key). A location S3 refuses (AccessDenied, a copy source over 5 GiB, a key
Warden may not use) is one failed location, said with its reason; the other locations and buckets go on.
A transient failure (throttling past botocore's retries) is kept apart, so that the caller retries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from warden.artifacts.eligibility import foreign_key
from warden.core import clock
from warden.core.log import logger
from warden.ledger.view import current_items, recent_executions

MAX_COPY_BYTES = 5 * 1024**3  # CopyObject's limit for a copy source (a larger one needs UploadPartCopy)
MARGIN_DAYS = 7  # a daily pass gets seven chances before the expiry date
HISTORY_LIMIT = 50  # executions read per pipeline to find the newest successful ones of each stage
KEEP_SUCCESSFUL = 2


@dataclass
class Protection:
    kept: list[dict[str, str]] = field(default_factory=list)  # every location looked after
    refreshed: list[dict[str, str]] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)  # gone already: a rollback there would fail
    skipped: list[dict[str, str]] = field(default_factory=list)  # audit mode, not eligible, a workload account
    failed: list[dict[str, str]] = field(default_factory=list)  # refused: {bucket, key, pipeline, stage, reason}
    unconfirmed: list[dict[str, str]] = field(default_factory=list)  # transient: retried with the invocation


def locations(ddb: Any, table: str, own_account: str) -> list[tuple[str, str, dict[str, str]]]:
    """(pipeline ref, stage, {bucket, key}) of every artifact to keep, this account's pipelines only."""
    current = current_items(ddb, table)
    stages: dict[str, dict[str, str]] = {}
    for item in current:
        if item.get("account") and own_account and item["account"] != own_account:
            continue  # Warden does not write in workload accounts
        stages.setdefault(item.get("pipeline_ref") or item["pipeline"], {})[item["stage"]] = item["execution_id"]
    found: list[tuple[str, str, dict[str, str]]] = []
    for ref, current_of in sorted(stages.items()):
        history = recent_executions(ddb, table, ref, HISTORY_LIMIT)
        for stage, execution_id in sorted(current_of.items()):
            keep = [h for h in history if h.get("execution_id") == execution_id]
            keep += [h for h in history if h.get("execution_type", "STANDARD") == "STANDARD"
                     and (h["stages"].get(stage) or {}).get("status") == "SUCCEEDED"][:KEEP_SUCCESSFUL]
            for execution in keep:
                for where in (execution["stages"].get(stage) or {}).get("artifacts") or []:
                    entry = (ref, stage, {"bucket": where["bucket"], "key": where["key"]})
                    if entry not in found:
                        found.append(entry)
    return found


def expiry_days(rules: list[dict[str, Any]], key: str, default: int) -> int:
    """The shortest current-version expiry that applies to `key` (team rules included)."""
    days = [int(r["Expiration"]["Days"]) for r in rules
            if r.get("Status") == "Enabled" and (r.get("Expiration") or {}).get("Days")
            and not (r.get("Filter") or {}).get("Tag") and not (r.get("Filter") or {}).get("And")
            and fnmatchcase(key, ((r.get("Filter") or {}).get("Prefix") or r.get("Prefix") or "") + "*")]
    return min(days, default=default)


def refresh_threshold(days: int) -> float:
    return max(days - min(MARGIN_DAYS, days / 2), 0.5)


def protect(*, ddb: Any, table: str, own_account: str, s3_for: Callable[[str], Any | None],
            lifecycle_of: Callable[[str], list[dict[str, Any]]], expire_days_of: Callable[[str], int | None],
            now: datetime | None = None, transient: Callable[[Exception], str | None] | None = None) -> Protection:
    """`s3_for(bucket)`: the S3 client of the bucket's region, None where Warden may not write (unknown, not a
    proven artifact store, not enforced); `expire_days_of(bucket)`: the configured expiry, None when the
    bucket is not enforced; `transient(exc)`: the error code when `exc` is worth retrying."""
    now = now or clock.now()
    result = Protection()
    for ref, stage, where in locations(ddb, table, own_account):
        result.kept.append(where | {"pipeline": ref, "stage": stage})
        s3, configured = s3_for(where["bucket"]), expire_days_of(where["bucket"])
        if s3 is None or configured is None:
            result.skipped.append(where)
            continue
        try:
            _keep(s3, where, ref, stage, own_account, now, lifecycle_of, configured, result)
        except Exception as exc:  # one location: said, and the others go on
            code = transient(exc) if transient else None
            if code is not None:
                result.unconfirmed.append(where | {"pipeline": ref, "stage": stage, "reason": code})
                logger.warning("could not confirm a rollback target (retried)",
                               extra={"pipeline": ref, "stage": stage, **where, "error": str(exc)})
                continue
            error = getattr(exc, "response", {}).get("Error", {})
            if not error.get("Code"):
                raise  # not an AWS answer: a bug, not a refusal
            reason = f"S3 refused it ({error['Code']}: {error.get('Message') or 'no message'})"
            result.failed.append(where | {"pipeline": ref, "stage": stage, "reason": reason})
            logger.error("a rollback target could not be kept", extra={"pipeline": ref, "stage": stage, **where,
                                                                      "error": str(exc)})
    return result


def _keep(s3: Any, where: dict[str, str], ref: str, stage: str, own_account: str, now: datetime,
          lifecycle_of: Callable[[str], list[dict[str, Any]]], configured: int, result: Protection) -> None:
    from botocore.exceptions import ClientError

    common = {"Bucket": where["bucket"], "Key": where["key"], "ExpectedBucketOwner": own_account}
    try:
        head = s3.head_object(**common)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            logger.error("rollback artifact already gone", extra={"pipeline": ref, "stage": stage, **where})
            result.missing.append(where)
            return
        raise
    days = expiry_days(lifecycle_of(where["bucket"]), where["key"], configured)
    age = (now - head["LastModified"]).total_seconds() / 86400
    if age < refresh_threshold(days):
        return
    said = where | {"pipeline": ref, "stage": stage}
    other = foreign_key(head.get("SSEKMSKeyId"), own_account)
    if other:
        result.failed.append(said | {"reason": f"encrypted with a key of account {other}: Warden never writes "
                                               "another account's key, so it is not copied"})
        return
    if int(head.get("ContentLength") or 0) > MAX_COPY_BYTES:
        result.failed.append(said | {"reason": f"{head['ContentLength']} bytes, over CopyObject's 5 GiB limit"})
        return
    params: dict[str, Any] = {
        **common, "CopySource": {"Bucket": where["bucket"], "Key": where["key"]},
        "ExpectedSourceBucketOwner": own_account, "MetadataDirective": "REPLACE",
        # The metadata change is what lets S3 accept a copy onto itself; it also says why.
        "Metadata": dict(head.get("Metadata") or {}) | {"warden-kept-for-rollback": clock.iso(now)},
        "ServerSideEncryption": "aws:kms",
    }
    if head.get("ContentType"):
        params["ContentType"] = head["ContentType"]
    if head.get("SSEKMSKeyId"):
        params["SSEKMSKeyId"] = head["SSEKMSKeyId"]
    s3.copy_object(**params)
    result.refreshed.append(where)
