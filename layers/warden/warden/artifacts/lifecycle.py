"""Lifecycle rules: checked by what they do, merged by Warden's fixed rule IDs, others left exactly as read.

A requirement (current versions expire, noncurrent versions expire, expired delete markers go, incomplete
multipart uploads abort) is met by *any* enabled rule at least as strict, so a team's own rule counts. The
two that delete data (current and noncurrent expiry) are met by a whole-bucket rule, or by rules covering
every prefix where the pipelines' actions write their artifacts (`<pipeline, 20 chars>/<artifact, 10
chars>/`, `discovery.artifact_prefix`); the harmless two by a whole-bucket rule. Warden itself never
writes expiry over the whole bucket: its expiry rules are one per artifact prefix
(`pipeline-warden-expire:<prefix>`), so what it deletes is only what CodePipeline wrote there, whatever
else the bucket holds. Its whole-bucket rules carry only the harmless requirements (and an expiry in
Warden's whole-bucket rule, written by an earlier version, no longer counts: it is narrowed to the
prefixes). The merge replaces only Warden's rules, built from what the team's rules leave unmet, so
merging a compliant configuration changes nothing and merging twice is merging once. S3 refuses
`ExpiredObjectDeleteMarker` beside `Days` in one Expiration, hence two whole-bucket rules.
"""

from __future__ import annotations

from typing import Any

EXPIRE_ID = "pipeline-warden-expire"
MARKERS_ID = "pipeline-warden-delete-markers"
WARDEN_IDS = (EXPIRE_ID, MARKERS_ID)
PREFIX_ID = EXPIRE_ID + ":"  # + the artifact prefix: Warden's expiry, one rule per prefix
MAX_RULES = 1000  # S3's limit of rules in one lifecycle configuration
CURRENT = "lifecycle.expire-current"
NONCURRENT = "lifecycle.expire-noncurrent"
MARKERS = "lifecycle.remove-delete-markers"
MULTIPART = "lifecycle.abort-multipart"
CHECKS = (CURRENT, NONCURRENT, MARKERS, MULTIPART)
DELETES_DATA = frozenset({CURRENT, NONCURRENT})  # the rules that remove objects (not markers or uploads)


def is_wardens(rule: dict[str, Any]) -> bool:
    return rule.get("ID") in WARDEN_IDS or str(rule.get("ID", "")).startswith(PREFIX_ID)


def whole_bucket(rule: dict[str, Any]) -> bool:
    """Enabled, and no prefix, tag or size filter: it applies to every object."""
    return scope(rule) == ""


def scope(rule: dict[str, Any]) -> str | None:
    """The key prefix an enabled rule applies to ("" for every object); None when it is disabled or filtered
    by tag or size (it may not apply to a given object)."""
    if rule.get("Status") != "Enabled":
        return None
    lc_filter = rule.get("Filter")
    if lc_filter is None:
        return str(rule.get("Prefix") or "")
    if any(lc_filter.get(k) for k in ("Tag", "And", "ObjectSizeGreaterThan", "ObjectSizeLessThan")):
        return None
    return str(lc_filter.get("Prefix") or "")


def _days(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


def does(rule: dict[str, Any], expire_days: int, noncurrent_days: int, multipart_days: int) -> set[str]:
    """The requirements one rule meets where it applies."""
    met = set()
    expiration = rule.get("Expiration") or {}
    days = _days(expiration.get("Days"))
    if days is not None and days <= expire_days:
        met.add(CURRENT)
    if expiration.get("ExpiredObjectDeleteMarker") in (True, "true"):
        met.add(MARKERS)
    noncurrent = rule.get("NoncurrentVersionExpiration") or {}
    nc_days = _days(noncurrent.get("NoncurrentDays"))
    # Keeping the N newest noncurrent versions means not everything expires.
    if nc_days is not None and nc_days <= noncurrent_days and not noncurrent.get("NewerNoncurrentVersions"):
        met.add(NONCURRENT)
    abort = _days((rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation"))
    if abort is not None and abort <= multipart_days:
        met.add(MULTIPART)
    if rule.get("ID") == EXPIRE_ID:
        met -= DELETES_DATA  # Warden's whole-bucket rule no longer stands for expiry (narrowed to prefixes)
    return met


def meets(rule: dict[str, Any], expire_days: int, noncurrent_days: int, multipart_days: int) -> set[str]:
    """The requirements one rule meets on its own, over the whole bucket."""
    return does(rule, expire_days, noncurrent_days, multipart_days) if whole_bucket(rule) else set()


def uncovered(rules: list[dict[str, Any]], requirement: str, prefixes: list[str] | tuple[str, ...],
              expire_days: int, noncurrent_days: int, multipart_days: int) -> list[str]:
    """The prefixes where no rule meets `requirement` (none when a whole-bucket rule does)."""
    scopes = [scope(r) for r in rules if requirement in does(r, expire_days, noncurrent_days, multipart_days)]
    scopes = [s for s in scopes if s is not None]
    if "" in scopes:
        return []
    return [p for p in prefixes if not any(p.startswith(s) for s in scopes)]


def check(rules: list[dict[str, Any]], expire_days: int, noncurrent_days: int, multipart_days: int,
          prefixes: list[str] | tuple[str, ...] = ()) -> dict[str, bool]:
    """Each requirement met or not; expiry is met over `prefixes` (the artifact prefixes), or the whole
    bucket. With no prefix known, only a whole-bucket rule meets it."""
    met: set[str] = set()
    for rule in rules:
        met |= meets(rule, expire_days, noncurrent_days, multipart_days)
    for requirement in DELETES_DATA - met:
        if prefixes and not uncovered(rules, requirement, prefixes, expire_days, noncurrent_days, multipart_days):
            met.add(requirement)
    return {c: c in met for c in CHECKS}


def warden_rules(unmet: set[str], expire_days: int, noncurrent_days: int, multipart_days: int,
                 per_prefix: dict[str, set[str]] | None = None) -> list[dict]:
    """Warden's rules for what is unmet: harmless ones over the whole bucket, expiry per prefix
    (`per_prefix`: prefix -> the expiry requirements to meet there)."""
    rules = []
    if MULTIPART in unmet:
        rules.append({"ID": EXPIRE_ID, "Filter": {}, "Status": "Enabled",
                      "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": multipart_days}})
    if MARKERS in unmet:
        rules.append({"ID": MARKERS_ID, "Filter": {}, "Status": "Enabled",
                      "Expiration": {"ExpiredObjectDeleteMarker": True}})
    for prefix, needed in sorted((per_prefix or {}).items()):
        rule: dict[str, Any] = {"ID": PREFIX_ID + prefix, "Filter": {"Prefix": prefix}, "Status": "Enabled"}
        if CURRENT in needed:
            rule["Expiration"] = {"Days": expire_days}
        if NONCURRENT in needed:
            rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": noncurrent_days}
        if len(rule) > 3:
            rules.append(rule)
    return rules


def merge(rules: list[dict[str, Any]], expire_days: int, noncurrent_days: int, multipart_days: int,
          hold: frozenset[str] = frozenset(), prefixes: list[str] | tuple[str, ...] = (),
          held: frozenset[str] = frozenset()) -> list[dict[str, Any]] | None:
    """The rules to write, or None when nothing changes. `prefixes`: the artifact prefixes (expiry is added
    there only); `held`: prefixes Warden must not expire (they hold something CodePipeline does not write);
    `hold`: requirements Warden must not add at all."""
    theirs = [r for r in rules if not is_wardens(r)]
    still = {c for c, ok in check(theirs, expire_days, noncurrent_days, multipart_days, prefixes).items() if not ok}
    per_prefix: dict[str, set[str]] = {}
    for requirement in DELETES_DATA & still - hold:
        for prefix in uncovered(theirs, requirement, prefixes, expire_days, noncurrent_days, multipart_days):
            if prefix not in held:
                per_prefix.setdefault(prefix, set()).add(requirement)
    merged = theirs + warden_rules(still - hold, expire_days, noncurrent_days, multipart_days, per_prefix)
    if len(merged) > MAX_RULES:
        merged = theirs + warden_rules(still - hold - DELETES_DATA, expire_days, noncurrent_days, multipart_days)
    return merged if merged != rules else None
