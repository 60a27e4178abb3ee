"""Which account is Warden's own: decided here, and only here.

An event without an account (an approval message names none) is this account's, and so is every
account when Warden does not know its own (WARDEN_ACCOUNT_ID unset): nothing can be told apart then.
The answer depends only on its inputs, so redelivery and reordering cannot change it.
"""

from __future__ import annotations


def is_own(account: str | None, own_account: str | None) -> bool:
    return not account or not own_account or account == own_account
