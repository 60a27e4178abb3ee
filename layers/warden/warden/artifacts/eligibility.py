"""Which buckets Warden may change: proven artifact stores of this account, never a bucket a pipeline merely names.

A pipeline definition is written by whoever may call CreatePipeline / UpdatePipeline, and it can name any
bucket as its artifact store and any key as its artifact key. Taking that as licence to change the bucket
would make Warden a confused deputy: set expiry, a key and deny statements on another team's bucket. So a
bucket is changed only when all of these hold, and otherwise it is reported, never read or written:

- a pipeline of this account names it as an artifact store (the map: `discovery`);
- its name is CodePipeline's own default artifact bucket name, `codepipeline-<region>-<12 digits>` for the
  store's region, or matches the explicit allow list (`ArtifactBucketAllowList`, which is also the IAM
  resource list, so the code and the role agree);
- every call names this account as the expected bucket owner (`checks`, `remediation`): a bucket of another
  account is refused by S3 (403) and reported as not auditable.

A KMS key is written only when it is a key ARN of this account; a key of another account (from a pipeline
definition or elsewhere) is a finding, because writing it hands that account control over the bucket's data.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

DEFAULT_NAME = re.compile(r"^codepipeline-(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)-\d{12}$")
KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?:key|alias)/.+$")


def allow_list(text: str) -> tuple[str, ...]:
    """`ArtifactBucketAllowList` as the function's environment carries it (comma separated globs). A glob that
    matches every bucket (`*`) is accepted, since the platform team may mean it, but never quietly: it makes
    every bucket a pipeline names writable by Warden, so it is logged as a warning whenever it is read."""
    found = tuple(p.strip() for p in (text or "").split(",") if p.strip())
    for pattern in found:
        if matches_everything(pattern):
            from warden.core.log import logger

            logger.warning("ArtifactBucketAllowList holds a glob that matches every bucket: Warden may change any "
                           "bucket a pipeline of this account names as its artifact store",
                           extra={"pattern": pattern})
    return found


def matches_everything(pattern: str) -> bool:
    """A glob made of wildcards only (`*`, `**`, `*?*`...) allows every name."""
    return bool(pattern) and set(pattern) <= {"*"}


def why_not(bucket: str, region: str, allowed: tuple[str, ...]) -> str | None:
    """None when Warden may change `bucket` (a store in `region`); else why not, in words a person acts on."""
    if any(fnmatchcase(bucket, pattern) for pattern in allowed):
        return None
    found = DEFAULT_NAME.match(bucket)
    if found and found["region"] == region:
        return None
    return (f"not CodePipeline's default artifact bucket name (codepipeline-{region}-<12 digits>) and not in "
            "ArtifactBucketAllowList: Warden neither reads nor changes it")


def key_account(key: str | None) -> str | None:
    """The account of a KMS key ARN (or alias ARN); None for a bare key id or alias (this account's)."""
    found = KEY_ARN.match(key or "")
    return found["account"] if found else None


def foreign_key(key: str | None, own_account: str) -> str | None:
    """The other account that owns `key`, if it is not this account's."""
    account = key_account(key)
    return account if account and own_account and account != own_account else None
