"""The `artifacts` configuration document: what artifact buckets must look like, and per-bucket overrides.

Overrides are tried in order and the first whose `match` glob fits the bucket name decides (like routing
rules), so a person can read the list top to bottom and know which one applies.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Annotated, Literal

from pydantic import Field

from warden.core.documents import StrictDocument

Mode = Literal["enforce", "audit"]


class BucketOverride(StrictDocument):
    match: str = Field(description="bucket name glob")
    mode: Mode | None = None
    exclude: bool = False
    kms_key_arn: str | None = Field(None, pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")


class BucketPolicy(StrictDocument):
    """What applies to one bucket after the overrides."""

    mode: Mode
    expire_days: int
    noncurrent_days: int
    abort_multipart_days: int
    kms_key_arn: str | None


class ArtifactsConfig(StrictDocument):
    mode: Mode = "enforce"
    expire_days: int = Field(30, ge=1, le=3650, description="current versions expire after this many days")
    noncurrent_days: int = Field(7, ge=1, le=3650, description="noncurrent versions expire after this many days")
    abort_multipart_days: int = Field(7, ge=1, le=3650, description="incomplete multipart uploads abort after")
    kms_key_arn: str | None = Field(None, pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$",
                                    description="key for buckets whose pipelines name none")
    buckets: list[BucketOverride] = Field(default_factory=list)
    grant_accounts: list[Annotated[str, Field(pattern=r"^\d{12}$")]] = Field(
        default_factory=list, description="accounts whose grants in an artifact bucket's policy are expected "
                                          "(not reported); grants are never removed either way")

    def for_bucket(self, bucket: str) -> BucketPolicy | None:
        """The policy of one bucket, or None when it is excluded."""
        override = next((o for o in self.buckets if fnmatchcase(bucket, o.match)), None)
        if override is not None and override.exclude:
            return None
        return BucketPolicy(
            mode=(override.mode if override and override.mode else self.mode),
            expire_days=self.expire_days, noncurrent_days=self.noncurrent_days,
            abort_multipart_days=self.abort_multipart_days,
            kms_key_arn=(override.kms_key_arn if override and override.kms_key_arn else self.kms_key_arn),
        )
