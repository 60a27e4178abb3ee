"""KMS keys are verified with DescribeKey before Warden writes one or counts one compliant.

A pipeline definition names its artifact key, and whoever writes the definition can name anything: a key
that does not exist, a disabled one, an AWS-managed one, another account's. Taking the name on trust made
a nonexistent key the shared bucket's default encryption (every upload then fails) and the next pass
called it compliant. So every key, the pipeline's own included, is described first (DescribeKey, in the
bucket's region: S3 can only use a key of its own region) and is usable only when it exists, is enabled,
is a symmetric customer-managed key, and belongs to this account. A key of another account is refused
without a call. What DescribeKey cannot answer for a reason other than "not found" (AccessDenied, a key
policy that hides it) is "could not confirm": never written, and a bucket key Warden cannot confirm is
never replaced (it may be someone's CMK). Throttling is raised, so that the invocation is retried.
The answer depends only on KMS's state, so redelivery and reordering change nothing; within one
invocation each key is described once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from warden.artifacts import eligibility

UNCONFIRMED = "could not confirm"


@dataclass(frozen=True)
class Key:
    named: str  # as the pipeline or the bucket names it (ARN, alias ARN, alias name or key id)
    arn: str | None  # the key's ARN, when DescribeKey answered
    problem: str | None  # None: usable; else why not, in words (starts with UNCONFIRMED when unknown)

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def unknown(self) -> bool:
        return bool(self.problem) and self.problem.startswith(UNCONFIRMED)


class Keys:
    """DescribeKey once per (region, key) per invocation."""

    def __init__(self, kms_in: Callable[[str], Any], account: str,
                 transient: Callable[[Exception], str | None]) -> None:
        self._kms_in = kms_in
        self._account = account
        self._transient = transient
        self._seen: dict[tuple[str, str], Key] = {}

    def verify(self, key: str, region: str) -> Key:
        if (region, key) not in self._seen:
            self._seen[(region, key)] = self._verify(key, region)
        return self._seen[(region, key)]

    def _verify(self, key: str, region: str) -> Key:
        other = eligibility.foreign_key(key, self._account)
        if other:
            return Key(key, None, f"belongs to account {other}: Warden never writes another account's key")
        found = eligibility.KEY_ARN.match(key)
        if found and found["region"] != region:
            return Key(key, None, f"is a key of {found['region']}: S3 in {region} can only use a key of {region}")
        try:
            metadata = self._kms_in(region).describe_key(KeyId=key)["KeyMetadata"]
        except Exception as exc:
            if self._transient(exc):
                raise
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code == "NotFoundException":
                return Key(key, None, f"does not exist in {region} (DescribeKey: NotFoundException)")
            if code is None:
                raise
            return Key(key, None, f"{UNCONFIRMED} that it is a usable customer-managed key (DescribeKey: {code})")
        arn = metadata.get("Arn") or key
        owner = metadata.get("AWSAccountId") or eligibility.key_account(arn)
        if owner and owner != self._account:
            return Key(key, arn, f"belongs to account {owner}: Warden never writes another account's key")
        if metadata.get("KeyManager") != "CUSTOMER":
            return Key(key, arn, "is an AWS-managed key, not a customer-managed one")
        state = metadata.get("KeyState") or ("Enabled" if metadata.get("Enabled") else "Disabled")
        if state != "Enabled" or metadata.get("Enabled") is False:
            return Key(key, arn, f"is not enabled (KeyState {state}): S3 cannot encrypt with it")
        spec = metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
        if spec != "SYMMETRIC_DEFAULT" or metadata.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
            return Key(key, arn, f"is a {spec} key: S3 default encryption needs a symmetric encryption key")
        return Key(key, arn, None)
