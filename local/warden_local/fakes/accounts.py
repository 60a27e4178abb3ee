"""Assumed-role credentials act in the role's account, as they do in AWS.

The embedded world pins moto to the tools account with MOTO_ACCOUNT_ID, and moto puts that variable
before the request's access key when it picks the account that serves a request. So a client on
credentials from AssumeRole (a workload account's read role, a scenario step run `as` someone)
would still reach the tools account. Here, the temporary keys that AssumeRole hands out are
remembered with the role's account, and a request signed with one is served by that account;
every other request is served as before.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import BaseResponse
from moto.sts.models import STSBackend

_ACCOUNT_OF_KEY: dict[str, str] = {}
_MARK = "_warden_assumed_accounts"


def install() -> None:
    """Patch moto's account lookup once; safe to call any number of times."""
    if getattr(BaseResponse.get_current_account, _MARK, False):
        return
    assume_role = STSBackend.assume_role
    current_account = BaseResponse.get_current_account

    def assume_role_remembering_the_account(self: STSBackend, *args: Any, **kwargs: Any) -> Any:
        role = assume_role(self, *args, **kwargs)
        _ACCOUNT_OF_KEY[role.access_key_id] = role.account_id
        return role

    def account_of_the_credentials(self: BaseResponse) -> str:
        return _ACCOUNT_OF_KEY.get(self.get_access_key()) or current_account(self)

    setattr(account_of_the_credentials, _MARK, True)
    STSBackend.assume_role = assume_role_remembering_the_account  # type: ignore[method-assign]
    BaseResponse.get_current_account = account_of_the_credentials  # type: ignore[method-assign]
