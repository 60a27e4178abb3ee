"""Lifecycle rules: checked by what they do, merged by Warden's fixed rule IDs, others left exactly as read.

A requirement (current versions expire, noncurrent versions expire, expired delete markers go, incomplete
multipart uploads abort) is met by *any* enabled rule that applies to the whole bucket and is at least as
strict, so a team's own rule counts. The merge replaces only Warden's rules (fixed IDs), built from what
the team's rules leave unmet, so merging a compliant configuration changes nothing and merging twice is
merging once. S3 refuses `ExpiredObjectDeleteMarker` beside `Days` in one Expiration, hence two rules.
"""

from __future__ import annotations

from typing import Any

EXPIRE_ID = "pipeline-warden-expire"
MARKERS_ID = "pipeline-warden-delete-markers"
WARDEN_IDS = (EXPIRE_ID, MARKERS_ID)
CURRENT = "lifecycle.expire-current"
NONCURRENT = "lifecycle.expire-noncurrent"
MARKERS = "lifecycle.remove-delete-markers"
MULTIPART = "lifecycle.abort-multipart"
CHECKS = (CURRENT, NONCURRENT, MARKERS, MULTIPART)
DELETES_DATA = frozenset({CURRENT, NONCURRENT})  # the rules that remove objects (not markers or uploads)


def whole_bucket(rule: dict[str, Any]) -> bool:
    """Enabled, and no prefix, tag or size filter: it applies to every object."""
    if rule.get("Status") != "Enabled" or rule.get("Prefix"):
        return False
    lc_filter = rule.get("Filter")
    if lc_filter is None:
        return True
    return not any(lc_filter.get(k) for k in ("Prefix", "Tag", "And", "ObjectSizeGreaterThan",
                                              "ObjectSizeLessThan"))


def _days(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


def meets(rule: dict[str, Any], expire_days: int, noncurrent_days: int, multipart_days: int) -> set[str]:
    """The requirements one rule meets on its own."""
    if not whole_bucket(rule):
        return set()
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
    return met


def check(rules: list[dict[str, Any]], expire_days: int, noncurrent_days: int, multipart_days: int) -> dict[str, bool]:
    met: set[str] = set()
    for rule in rules:
        met |= meets(rule, expire_days, noncurrent_days, multipart_days)
    return {c: c in met for c in CHECKS}


def warden_rules(unmet: set[str], expire_days: int, noncurrent_days: int, multipart_days: int) -> list[dict]:
    rules = []
    expire: dict[str, Any] = {"ID": EXPIRE_ID, "Filter": {}, "Status": "Enabled"}
    if CURRENT in unmet:
        expire["Expiration"] = {"Days": expire_days}
    if NONCURRENT in unmet:
        expire["NoncurrentVersionExpiration"] = {"NoncurrentDays": noncurrent_days}
    if MULTIPART in unmet:
        expire["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": multipart_days}
    if len(expire) > 3:
        rules.append(expire)
    if MARKERS in unmet:
        rules.append({"ID": MARKERS_ID, "Filter": {}, "Status": "Enabled",
                      "Expiration": {"ExpiredObjectDeleteMarker": True}})
    return rules


def merge(rules: list[dict[str, Any]], expire_days: int, noncurrent_days: int,
          multipart_days: int, hold: frozenset[str] = frozenset()) -> list[dict[str, Any]] | None:
    """The rules to write, or None when the configuration already meets every requirement (or every unmet
    one is held). `hold`: requirements Warden must not add (expiry on a bucket holding other data)."""
    met = check(rules, expire_days, noncurrent_days, multipart_days)
    if all(ok or c in hold for c, ok in met.items()):
        return None
    theirs = [r for r in rules if r.get("ID") not in WARDEN_IDS]
    still = {c for c, ok in check(theirs, expire_days, noncurrent_days, multipart_days).items() if not ok}
    merged = theirs + warden_rules(still - hold, expire_days, noncurrent_days, multipart_days)
    return merged if merged != rules else None
