"""Embedded S3: what moto 5.2 gets wrong about bucket policies, default encryption, time and lifecycle.

- **Policy conditions.** moto ignores a statement's Condition, so a TLS-only deny (`aws:SecureTransport`
  false) refuses every object request. Here object requests are evaluated statement by statement with the
  request's context: `aws:SecureTransport` is "true" (every SDK call is HTTPS), and the server-side
  encryption keys `s3:x-amz-server-side-encryption` and `s3:x-amz-server-side-encryption-aws-kms-key-id`
  come from the request's headers (absent when not sent, as in S3). Only statements whose principal is
  everyone are evaluated (moto does not know callers either). Operators S3 documents for these keys are
  supported, with `IfExists`; a condition this module cannot evaluate makes the statement not apply and
  is warned about, never guessed.
- **Stored policies** are rewritten as S3 rewrites them: single-item lists collapsed, condition values
  as strings, compact JSON. A comparison by text with what was written therefore fails, as in AWS.
- **Default encryption.** Since January 2023 every bucket has SSE-S3 by default: GetBucketEncryption
  answers AES256 where moto would say "not found", also after DeleteBucketEncryption.
- **Expected bucket owner.** moto ignores `ExpectedBucketOwner`; here a request that names an owner other
  than the bucket's account is refused with 403 AccessDenied, as S3 refuses it (so a bucket of another
  account, named by a pipeline, cannot be read or written through a call that expects this account).
- **Time and lifecycle.** Object timestamps follow the embedded world's clock (`set_clock`), and
  `expire(now)` applies the buckets' lifecycle rules the way S3's daily run does: expiring a current
  version adds a delete marker in a versioned bucket, noncurrent versions go `NoncurrentDays` after they
  became noncurrent, expired delete markers (no versions left) are removed. moto never runs lifecycle.
"""

from __future__ import annotations

import contextvars
import json
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

import moto.s3.models as s3_models
from moto.iam.access_control import PermissionResult
from moto.s3.exceptions import S3AccessDeniedError, S3ClientError
from moto.s3.models import FakeBucket, FakeDeleteMarker, S3Backend, s3_backends
from moto.s3.responses import S3Response

_MARK = "_warden_embedded_s3"
_REQUEST: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("warden_s3_request", default=None)
_clock: Callable[[], datetime] | None = None
_moto_utcnow = s3_models.utcnow
SSE_S3_DEFAULT = {"Rule": {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                           "BucketKeyEnabled": "false"}}
# Object operations by HTTP method, as S3 authorizes them (HEAD needs s3:GetObject).
ACTIONS = {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "PUT": "s3:PutObject", "DELETE": "s3:DeleteObject",
           "POST": "s3:PutObject"}


# ---- time -----------------------------------------------------------------------------------------
def set_clock(source: Callable[[], datetime] | None) -> None:
    """Objects, versions and delete markers are stamped with this clock's time (None: the wall clock)."""
    global _clock
    _clock = source


def _utcnow() -> datetime:
    if _clock is None:
        return _moto_utcnow()
    return _clock().astimezone(UTC).replace(tzinfo=None)  # moto keeps naive UTC


# ---- policies -------------------------------------------------------------------------------------
def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _collapse(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _string(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def normalise_policy(text: str | bytes) -> bytes:
    """The policy as S3 stores and returns it."""
    doc = json.loads(text)
    statements = []
    for statement in _list(doc.get("Statement", [])):
        s = dict(statement)
        for field in ("Action", "NotAction", "Resource", "NotResource"):
            if field in s:
                s[field] = _collapse(s[field])
        for field in ("Principal", "NotPrincipal"):
            if isinstance(s.get(field), dict):
                s[field] = {k: _collapse(v) for k, v in s[field].items()}
        if isinstance(s.get("Condition"), dict):
            s["Condition"] = {op: {key: _collapse([_string(v) for v in _list(values)])
                                   for key, values in keys.items()} for op, keys in s["Condition"].items()}
        statements.append(s)
    doc["Statement"] = statements
    return json.dumps(doc, separators=(",", ":")).encode()


def _context() -> dict[str, str]:
    headers = _REQUEST.get() or {}
    ctx = {"aws:securetransport": "true"}
    for header in ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"):
        if headers.get(header):
            ctx[f"s3:{header}"] = headers[header]
    return ctx


_POSITIVE = {
    "stringequals": lambda actual, wanted: actual in wanted,
    "stringequalsignorecase": lambda actual, wanted: actual.lower() in {w.lower() for w in wanted},
    "stringlike": lambda actual, wanted: any(fnmatchcase(actual, w) for w in wanted),
    "bool": lambda actual, wanted: actual.lower() in {w.lower() for w in wanted},
    "arnequals": lambda actual, wanted: actual in wanted,
    "arnlike": lambda actual, wanted: any(fnmatchcase(actual, w) for w in wanted),
}
_NEGATED = {"stringnotequals": "stringequals", "stringnotequalsignorecase": "stringequalsignorecase",
            "stringnotlike": "stringlike", "arnnotequals": "arnequals", "arnnotlike": "arnlike"}


def _holds(operator: str, key: str, values: Any, ctx: dict[str, str]) -> bool | None:
    """Whether one condition holds; None when this module cannot evaluate it."""
    op = operator.lower().removeprefix("forallvalues:").removeprefix("foranyvalue:")
    if_exists = op.endswith("ifexists")
    op = op.removesuffix("ifexists")
    wanted = {_string(v) for v in _list(values)}
    actual = ctx.get(key.lower())
    if op == "null":
        return (actual is None) == ("true" in wanted)
    if actual is None:
        if if_exists:
            return True
        if op in _NEGATED:
            return True  # a negated operator holds when the key is absent
        return False if op in _POSITIVE else None
    if op in _POSITIVE:
        return _POSITIVE[op](actual, wanted)
    if op in _NEGATED:
        return not _POSITIVE[_NEGATED[op]](actual, wanted)
    return None


def _conditions_hold(condition: dict[str, Any] | None, ctx: dict[str, str]) -> bool:
    for operator, keys in (condition or {}).items():
        for key, values in keys.items():
            result = _holds(operator, key, values, ctx)
            if result is None:
                warnings.warn(f"embedded S3 cannot evaluate the condition {operator} {key}: "
                              "the statement is treated as not applying", stacklevel=2)
                return False
            if not result:
                return False
    return True


def _everyone(principal: Any) -> bool:
    return principal == "*" or (isinstance(principal, dict) and "*" in _list(principal.get("AWS", [])))


def _matches(patterns: Any, value: str, *, case: bool) -> bool:
    return any(fnmatchcase(value if case else value.lower(), p if case else str(p).lower())
               for p in _list(patterns))


def evaluate(policy: str | bytes, action: str, resource: str, ctx: dict[str, str]) -> PermissionResult:
    """An explicit deny wins, then an allow, else neutral (the caller's own permissions decide)."""
    allowed = False
    for s in _list(json.loads(policy).get("Statement", [])):
        if "NotAction" in s:
            concerned = not _matches(s["NotAction"], action, case=False)
        else:
            concerned = _matches(s.get("Action", []), action, case=False)
        if "NotResource" in s:
            concerned = concerned and not _matches(s["NotResource"], resource, case=True)
        else:
            concerned = concerned and _matches(s.get("Resource", []), resource, case=True)
        if not concerned or not _everyone(s.get("Principal")) or not _conditions_hold(s.get("Condition"), ctx):
            continue
        if s.get("Effect") == "Deny":
            return PermissionResult.DENIED
        allowed = True
    return PermissionResult.PERMITTED if allowed else PermissionResult.NEUTRAL


# ---- lifecycle ------------------------------------------------------------------------------------
def _whole_or_prefix(rule: Any) -> str | None:
    """The prefix a rule applies to ("" for the whole bucket), None for filters this model skips (tags,
    sizes): such rules are left alone rather than applied wrongly."""
    lc_filter = rule.filter
    if lc_filter is None:
        return rule.prefix or ""
    if lc_filter.tag_key or lc_filter.and_filter:
        return None
    return lc_filter.prefix or ""


def expire(now: datetime) -> list[dict[str, str]]:
    """Apply every bucket's lifecycle rules at `now` (all accounts); returns what was expired."""
    when = now.astimezone(UTC).replace(tzinfo=None)
    done: list[dict[str, str]] = []
    for account in list(s3_backends):
        backend = s3_backends[account]["global"]
        for bucket in list(backend.buckets.values()):
            for rule in [r for r in bucket.rules if r.status == "Enabled"]:
                prefix = _whole_or_prefix(rule)
                if prefix is not None:
                    done += _apply_rule(backend, bucket, rule, prefix, when)
    return done


def _apply_rule(backend: S3Backend, bucket: FakeBucket, rule: Any, prefix: str, when: datetime) -> list[dict]:
    done = []
    for name in [n for n in list(bucket.keys.keys()) if n.startswith(prefix)]:
        versions = list(bucket.keys.getlist(name, []))
        if not versions:
            continue
        latest = versions[-1]
        if rule.expiration_days and not isinstance(latest, FakeDeleteMarker) and \
                when - latest.last_modified >= timedelta(days=int(rule.expiration_days)):
            backend.delete_object(bucket.name, name)  # a delete marker when versioned, gone otherwise
            done.append({"bucket": bucket.name, "key": name, "action": "expired"})
            versions = list(bucket.keys.getlist(name, []))
        if rule.nve_noncurrent_days:
            # A version became noncurrent when the next one was written.
            for older, newer in zip(versions, versions[1:], strict=False):
                if isinstance(older, FakeDeleteMarker):
                    continue
                if when - newer.last_modified >= timedelta(days=int(rule.nve_noncurrent_days)):
                    backend.delete_object(bucket.name, name, version_id=older.version_id)
                    done.append({"bucket": bucket.name, "key": name, "action": "noncurrent-expired",
                                 "version": older.version_id})
            versions = list(bucket.keys.getlist(name, []))
        if rule.expired_object_delete_marker and len(versions) == 1 and isinstance(versions[0], FakeDeleteMarker):
            backend.delete_object(bucket.name, name, version_id=versions[0].version_id)
            done.append({"bucket": bucket.name, "key": name, "action": "delete-marker-removed"})
    return done


# ---- install --------------------------------------------------------------------------------------
def install() -> None:
    """Patch moto's S3 once; safe to call any number of times."""
    if getattr(S3Response, _MARK, False):
        return
    key_response = S3Response._key_response
    put_policy = S3Backend.put_bucket_policy
    get_encryption = S3Backend.get_bucket_encryption

    bucket_response = S3Response._bucket_response

    def _owner_refused(self: S3Response, request: Any, full_url: str) -> bool:
        expected = {k.lower(): v for k, v in dict(request.headers).items()}.get("x-amz-expected-bucket-owner")
        if not expected:
            return False
        try:
            bucket = self.backend.get_bucket(self.parse_bucket_name_from_url(request, full_url))
        except S3ClientError:
            return False  # a missing bucket answers as it would
        return bucket.account_id != expected

    def bucket_response_checking_owner(self: S3Response, request: Any, full_url: str) -> Any:
        if _owner_refused(self, request, full_url):
            raise S3AccessDeniedError()
        return bucket_response(self, request, full_url)

    def key_response_with_context(self: S3Response, request: Any, full_url: str) -> Any:
        if _owner_refused(self, request, full_url):
            raise S3AccessDeniedError()
        headers = {k.lower(): v for k, v in dict(request.headers).items()}
        token = _REQUEST.set(headers | {":method": request.method})
        try:
            return key_response(self, request, full_url)
        finally:
            _REQUEST.reset(token)

    def get_permission(self: FakeBucket, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        method = (_REQUEST.get() or {}).get(":method", "")
        return evaluate(self.policy, ACTIONS.get(method, action), resource, _context())

    def put_bucket_policy(self: S3Backend, bucket_name: str, policy: bytes) -> None:
        put_policy(self, bucket_name, normalise_policy(policy))

    def get_bucket_encryption(self: S3Backend, bucket_name: str) -> dict[str, Any] | None:
        return get_encryption(self, bucket_name) or json.loads(json.dumps(SSE_S3_DEFAULT))

    S3Response._key_response = key_response_with_context  # type: ignore[method-assign]
    S3Response._bucket_response = bucket_response_checking_owner  # type: ignore[method-assign]
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    S3Backend.put_bucket_policy = put_bucket_policy  # type: ignore[method-assign]
    S3Backend.get_bucket_encryption = get_bucket_encryption  # type: ignore[method-assign]
    s3_models.utcnow = _utcnow  # type: ignore[assignment]
    setattr(S3Response, _MARK, True)


def bucket_configuration(s3: Any, bucket: str) -> dict[str, Any]:
    """A bucket's configuration as the S3 Get* calls return it (None / [] where it has none)."""
    from botocore.exceptions import ClientError

    def read(call: Callable[[], Any], missing: tuple[str, ...], pick: Callable[[Any], Any], empty: Any) -> Any:
        try:
            return pick(call())
        except ClientError as exc:
            if exc.response["Error"]["Code"] in missing:
                return empty
            raise

    policy = read(lambda: s3.get_bucket_policy(Bucket=bucket), ("NoSuchBucketPolicy",), lambda r: r["Policy"], None)
    return {
        "encryption": read(lambda: s3.get_bucket_encryption(Bucket=bucket),
                           ("ServerSideEncryptionConfigurationNotFoundError",),
                           lambda r: r["ServerSideEncryptionConfiguration"], None),
        "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
        "lifecycle": read(lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket),
                          ("NoSuchLifecycleConfiguration",), lambda r: r["Rules"], []),
        "policy": json.loads(policy) if policy else None,
        "public_access_block": read(lambda: s3.get_public_access_block(Bucket=bucket),
                                    ("NoSuchPublicAccessBlockConfiguration",),
                                    lambda r: r["PublicAccessBlockConfiguration"], None),
    }
