"""Bucket policies compared by meaning, and Warden's two deny statements merged in, never replacing.

S3 rewrites the policy it stores (single-item lists become strings, booleans and numbers in conditions
become strings, whitespace and key order change), so comparing text with what was written never matches
and a naive tool appends its statement again on every run. Here every statement is reduced to its meaning
(`meaning`), a requirement is met when *any* statement (the team's or Warden's) carries it, and the merge
only adds or corrects the statements whose Sid is Warden's: the result of merging an already compliant
policy is the policy itself (no write), and merging twice gives the same policy as merging once.
"""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

TLS_SID = "PipelineWardenDenyInsecureTransport"
SSE_SID = "PipelineWardenDenyUnencryptedUploads"
WARDEN_SIDS = (TLS_SID, SSE_SID)
TLS_CHECK = "policy.deny-insecure-transport"
SSE_CHECK = "policy.deny-unencrypted-uploads"
GRANT_CHECK = "policy.foreign-account-grant"
_ACCOUNT = re.compile(r"^(?:arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):.*|(\d{12}))$")


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _scalar(value: Any) -> str:
    # S3 stores `false` as "false" and 7 as "7": the meaning is the string.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _principal(value: Any) -> frozenset[tuple[str, str]]:
    if value == "*":
        return frozenset({("AWS", "*")})
    if isinstance(value, dict):
        return frozenset((kind, str(v)) for kind, vs in value.items() for v in _list(vs))
    return frozenset()


def meaning(statement: dict[str, Any]) -> tuple[Any, ...]:
    """What a statement says, whatever S3 did to its spelling (the Sid is a name, not a meaning)."""
    condition = frozenset(
        (op.lower(), key.lower(), frozenset(_scalar(v) for v in _list(values)))
        for op, keys in (statement.get("Condition") or {}).items() for key, values in keys.items())
    return (
        str(statement.get("Effect", "")).capitalize(),
        _principal(statement.get("Principal")), _principal(statement.get("NotPrincipal")),
        frozenset(a.lower() for a in _list(statement.get("Action"))),
        frozenset(a.lower() for a in _list(statement.get("NotAction"))),
        frozenset(_list(statement.get("Resource"))), frozenset(_list(statement.get("NotResource"))),
        condition,
    )


def same_policy(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Equal by meaning: the same statements (as a multiset of meanings and Sids)."""
    def key(policy: dict[str, Any] | None) -> list[str]:
        statements = _list((policy or {}).get("Statement"))
        return sorted(repr((s.get("Sid"), meaning(s))) for s in statements)
    return key(a) == key(b)


def arns(bucket: str, partition: str = "aws") -> tuple[str, str]:
    return f"arn:{partition}:s3:::{bucket}", f"arn:{partition}:s3:::{bucket}/*"


def tls_statement(bucket: str, partition: str = "aws") -> dict[str, Any]:
    return {"Sid": TLS_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": list(arns(bucket, partition)),
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def sse_statement(bucket: str, partition: str = "aws") -> dict[str, Any]:
    # The statement CodePipeline's own guide gives for artifact buckets: its uploads always say aws:kms.
    return {"Sid": SSE_SID, "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
            "Resource": arns(bucket, partition)[1],
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}}


def _denies_everyone(s: dict[str, Any]) -> bool:
    return s.get("Effect") == "Deny" and ("AWS", "*") in _principal(s.get("Principal")) \
        and not s.get("NotPrincipal") and not s.get("NotAction") and not s.get("NotResource")


def _covers(s: dict[str, Any], actions: set[str], resources: set[str]) -> bool:
    """Every one of `resources` matched by the statement's Resource globs, for any of `actions` (or all)."""
    stated = {a.lower() for a in _list(s.get("Action"))}
    globs = [str(r) for r in _list(s.get("Resource"))]
    return bool(stated & ({"*", "s3:*"} | actions)) and all(
        any(fnmatchcase(r, g) for g in globs) for r in resources)


def _condition(s: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    return {(op.lower(), key.lower()): {_scalar(v) for v in _list(values)}
            for op, keys in (s.get("Condition") or {}).items() for key, values in keys.items()}


def denies_insecure_transport(s: dict[str, Any], bucket: str, partition: str = "aws") -> bool:
    cond = _condition(s)
    return (_denies_everyone(s) and _covers(s, set(), set(arns(bucket, partition)))
            and len(cond) == 1 and cond.get(("bool", "aws:securetransport")) == {"false"})


def denies_unencrypted_uploads(s: dict[str, Any], bucket: str, partition: str = "aws") -> bool:
    cond = _condition(s)
    kms_only = cond in ({("stringnotequals", "s3:x-amz-server-side-encryption"): {"aws:kms"}},
                        {("stringnotequalsifexists", "s3:x-amz-server-side-encryption"): {"aws:kms"}})
    return _denies_everyone(s) and _covers(s, {"s3:putobject"}, {arns(bucket, partition)[1]}) and kms_only


def parse(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text else None


def check(policy: dict[str, Any] | None, bucket: str, partition: str = "aws") -> dict[str, bool]:
    statements = _list((policy or {}).get("Statement"))
    return {TLS_CHECK: any(denies_insecure_transport(s, bucket, partition) for s in statements),
            SSE_CHECK: any(denies_unencrypted_uploads(s, bucket, partition) for s in statements)}


def merge(policy: dict[str, Any] | None, bucket: str, partition: str = "aws") -> dict[str, Any] | None:
    """The policy with Warden's statements added where a requirement is unmet; None when nothing changes.

    Other statements stay exactly as they are (same order, same spelling). A Warden-Sid statement that
    no longer says what it should is replaced in place; a missing one is appended."""
    passed = check(policy, bucket, partition)
    wanted = {TLS_SID: tls_statement(bucket, partition), SSE_SID: sse_statement(bucket, partition)}
    needed = {sid for sid, check_id in ((TLS_SID, TLS_CHECK), (SSE_SID, SSE_CHECK)) if not passed[check_id]}
    if not needed:
        return None
    base = dict(policy or {"Version": "2012-10-17"})
    statements = [dict(s) for s in _list(base.get("Statement"))]
    for sid in sorted(needed):
        at = next((i for i, s in enumerate(statements) if s.get("Sid") == sid), None)
        if at is None:
            statements.append(wanted[sid])
        else:
            statements[at] = wanted[sid]
    base["Statement"] = statements
    base.setdefault("Version", "2012-10-17")
    return base


def foreign_grants(policy: dict[str, Any] | None, own_account: str, acknowledged: tuple[str, ...] = ()) -> list[str]:
    """Allow statements that grant another account (or anyone, unconditionally) access, one line each.

    Reported, never removed: a grant is someone's decision (cross-account deploy roles read artifacts this
    way), and removing it would break their pipeline. `acknowledged` accounts are expected and not reported."""
    found = []
    for index, s in enumerate(_list((policy or {}).get("Statement"))):
        if str(s.get("Effect", "")).capitalize() != "Allow":
            continue
        who = set()
        for kind, value in _principal(s.get("Principal")):
            if kind != "AWS":
                continue
            if value == "*":
                if not s.get("Condition"):
                    who.add("anyone")
                continue
            match = _ACCOUNT.match(value)
            account = (match[1] or match[2]) if match else None
            if account and account != own_account and account not in acknowledged:
                who.add(f"account {account}")
        if who:
            actions = ", ".join(str(a) for a in _list(s.get("Action")) or _list(s.get("NotAction")))
            found.append(f"statement {s.get('Sid') or '#' + str(index + 1)} allows {' and '.join(sorted(who))} "
                         f"{actions}")
    return found


def _ident(statement: dict[str, Any]) -> tuple[str, Any]:
    return ("sid", statement["Sid"]) if statement.get("Sid") else ("meaning", meaning(statement))


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.get("Sid") == b.get("Sid") and meaning(a) == meaning(b)


def reapply(base: dict[str, Any] | None, edit: dict[str, Any] | None,
            current: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
    """A three-way merge: the changes a person's `edit` made to `base` (the policy Warden read before a write
    that overwrote the edit), made again to `current`. Statements are matched by Sid (by meaning without one):
    one the person added or changed is put in, one they removed is taken out, unless `current` no longer
    holds what `base` held there (someone changed it since: the later change stays, and is returned as a
    conflict). Everything else in `current` stays as it is. Returns (the policy, conflicts)."""
    before = {_ident(s): s for s in _list((base or {}).get("Statement"))}
    after = {_ident(s): s for s in _list((edit or {}).get("Statement"))}
    result = [dict(s) for s in _list((current or {}).get("Statement"))]
    conflicts: list[str] = []

    def at(ident: tuple[str, Any]) -> int | None:
        return next((i for i, s in enumerate(result) if _ident(s) == ident), None)

    for ident, statement in after.items():
        old = before.get(ident)
        if old is not None and _same(old, statement):
            continue  # not the person's change
        where = at(ident)
        if where is None and old is None:
            result.append(dict(statement))
        elif where is not None and _same(result[where], statement):
            continue
        elif where is not None and old is not None and _same(result[where], old):
            result[where] = dict(statement)
        else:
            conflicts.append(statement.get("Sid") or "a statement without Sid")
    for ident, old in before.items():
        if ident in after:
            continue
        where = at(ident)
        if where is not None and _same(result[where], old):
            del result[where]  # the person removed it (a grant revoked must not come back)
    merged = dict(current or {"Version": (edit or {}).get("Version", "2012-10-17")})
    merged["Statement"] = result
    return merged, conflicts
