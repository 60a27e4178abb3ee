"""AWS clients for the account an alarm belongs to: this account's own, or a workload account's through the
optional `WorkloadDeployRoleName` role (one assumed-role session per account for the container's life, its
credentials refreshed by botocore before they expire). No role: None, and the caller says it cannot act.

Only trusted accounts are ever entered: this account, the stack's TrustedAccountIds, or (with OrganizationId
and no list) any account, the deploy role's IAM policy then admitting only the organisation's accounts
(aws:ResourceOrgID). An account named by an input and not trusted is refused before any AssumeRole.
"""

from __future__ import annotations

from typing import Any

from warden.aws.clients import Clients, assumed_session, client_config

ROLE_SESSION_NAME = "pipeline-warden"


class AccountClients:
    """`client(service)` in one account."""

    def __init__(self, account: str, session: Any, own: bool) -> None:
        self.account = account
        self.own = own
        self._session = session
        self._clients: dict[str, Any] = {}

    @property
    def region(self) -> str:
        """The region Warden reads pipeline definitions in (its own)."""
        return self._session.region_name

    def client(self, service: str, region: str | None = None) -> Any:
        """`region`: another region of the same account (an alarm's own region), else the session's."""
        key = service if region in (None, self._session.region_name) else f"{service}@{region}"
        if key not in self._clients:
            self._clients[key] = self._session.client(service, region_name=region or self._session.region_name,
                                                      config=client_config())
        return self._clients[key]


class DeployAccess:
    def __init__(self, clients: Clients, *, own_account: str = "", role_name: str = "",
                 trusted: tuple[str, ...] = (), organization: str = "") -> None:
        self._clients = clients
        self.own_account = own_account
        self.role_name = role_name
        self.trusted_accounts = frozenset(a for a in trusted if a)
        self.organization = organization
        self._accounts: dict[str, AccountClients] = {}

    def is_own(self, account: str | None) -> bool:
        return not account or not self.own_account or account == self.own_account

    def trusts(self, account: str | None) -> bool:
        """Whether Warden may read or act in `account` at all (see the module's note)."""
        if self.is_own(account):
            return True
        if self.trusted_accounts:
            return account in self.trusted_accounts
        return bool(self.organization)

    def __call__(self, account: str) -> AccountClients | None:
        key = "" if self.is_own(account) else account
        if key and not self.trusts(account):
            return None
        if key in self._accounts:
            return self._accounts[key]
        if not key:
            found = AccountClients(account, self._clients.session, own=True)
            # The container's clients are shared with the rest of the handler (one connection pool each).
            found._clients = {"codedeploy": self._clients.codedeploy}
        elif not self.role_name:
            return None
        else:
            found = AccountClients(account, self._assumed_session(account), own=False)
        self._accounts[key] = found
        return found

    def role_arn(self, account: str) -> str:
        return f"arn:{self._sts.meta.partition}:iam::{account}:role/{self.role_name}"

    @property
    def _sts(self) -> Any:
        if not hasattr(self, "_sts_client"):
            self._sts_client = self._clients.client("sts")
        return self._sts_client

    def _assumed_session(self, account: str) -> Any:
        return assumed_session(self._sts, self.role_arn(account), self._clients.session.region_name,
                               session_name=ROLE_SESSION_NAME, purpose=f"workload deploy ({account})")
