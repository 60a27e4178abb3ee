"""How the ledger names a pipeline: its *ref*, the plain name for a pipeline of this (tools) account,
`<account>/<name>` for a workload account's, so that same-named pipelines of two accounts never share a key.
A CodePipeline name cannot contain "/", so a ref is unambiguous. Public: what a person types and what other
features show is a ref (the keys built from it stay in warden.ledger.keys).
"""

from __future__ import annotations

from warden.core.accounts import is_own


def pipeline_ref(account: str | None, pipeline: str, own_account: str | None) -> str:
    """The ledger's identity of a pipeline: the plain name in this account (an event without an account, or
    an unknown own account, counts as this account's), `<account>/<name>` in another account."""
    if is_own(account, own_account):
        return pipeline
    return f"{account}/{pipeline}"


def normalize_ref(ref: str, own_account: str | None) -> str:
    """A ref as a person types it (`NAME` or `ACCOUNT/NAME`) -> the ref the ledger keys by."""
    account, slash, name = ref.strip().partition("/")
    return pipeline_ref(account, name, own_account) if slash else ref.strip()
