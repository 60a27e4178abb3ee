"""The ledger's text facts, cleaned and clipped (SECURITY.md, "Everything from an event is data").

A git author, e-mail, branch, tag and repository name are written by whoever pushes a commit; the ledger
stores them and `warden ledger` prints them in a terminal. Each fact is cleaned (warden.core.text: no
control characters, so no ESC/BEL terminal escapes; no direction overrides or invisible characters; one
line) and clipped to its kind's limit when it is written (DeploymentTracker), and again when it is printed
(items written before this, or by hand, are shown safely too). Cleaning is a pure function of the value:
a redelivered event writes the same text, so the ledger's convergence is unchanged.
"""

from __future__ import annotations

from typing import Any

from warden.core.text import LIMITS, clean

# Fact -> the kind of its limit in warden.core.text.LIMITS. Any other text: "other".
FACT_KINDS = {
    "author": "author", "author_email": "email", "approver": "author", "updated_by": "author",
    "repository": "repository", "branch": "ref", "tag": "ref",
    "commit_id": "id", "rollback_target": "id", "release_from": "id",
    "trigger_type": "name", "execution_type": "name", "author_date": "name",
    "comment": "note", "commit_message": "stored_commit_message",
}
MULTI_LINE = frozenset({"commit_message"})  # lines kept (controls still dropped)


def fact(name: str, value: Any) -> Any:
    """`value` as the ledger keeps and shows fact `name`: text cleaned and clipped; anything else as is."""
    if not isinstance(value, str):
        return value
    return clean(value, LIMITS[FACT_KINDS.get(name, "other")], one_line=name not in MULTI_LINE)


def stored(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts about to be written: each text cleaned and clipped (lists of revisions too); a fact that
    cleans to nothing is left out, as a missing one is."""
    out: dict[str, Any] = {}
    for name, value in facts.items():
        value = printable(value, name)
        if value not in (None, ""):
            out[name] = value
    return out


def printable(value: Any, name: str = "") -> Any:
    """`value` (a record, a list of them, a fact) with every text fact cleaned and clipped, for a terminal
    or a JSON document: what the ledger holds is shown as data, never as terminal control."""
    if isinstance(value, dict):
        return {(clean(k, LIMITS["other"]) if isinstance(k, str) else k): printable(v, k if isinstance(k, str) else "")
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable(v, name) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(printable(v, name) for v in value)
    return fact(name, value)
