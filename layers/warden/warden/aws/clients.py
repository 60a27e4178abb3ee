"""AWS clients, created lazily and once per container, with botocore's standard retry mode.

Handlers build one `Clients` at import time (which costs nothing) and pass it to domain code, so
the first client is only paid for when an event needs it and tests can inject their own.

`CodePipelineIn` picks the CodePipeline client for the account an event or an approval belongs
to: this account's own client, an assumed-role client for a workload account when a read role is
configured, or None when Warden has no way to read that account.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from warden.core.log import logger

# Standard mode retries throttling and 5xx with exponential backoff and jitter.
RETRIES = {"mode": "standard", "max_attempts": 5}
ROLE_SESSION_NAME = "pipeline-warden"


def _config() -> Any:
    from botocore.config import Config

    return Config(retries=RETRIES, connect_timeout=3, read_timeout=10)


class Clients:
    def __init__(self, session: Any = None) -> None:
        self._session = session

    @property
    def session(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.session.Session()
        return self._session

    def client(self, service: str) -> Any:
        return self.session.client(service, config=_config())

    @cached_property
    def sns(self) -> Any:
        return self.client("sns")

    @cached_property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @cached_property
    def codepipeline(self) -> Any:
        return self.client("codepipeline")

    @cached_property
    def codedeploy(self) -> Any:
        return self.client("codedeploy")

    @cached_property
    def codecommit(self) -> Any:
        return self.client("codecommit")

    @cached_property
    def ssm(self) -> Any:
        return self.client("ssm")

    @cached_property
    def secretsmanager(self) -> Any:
        return self.client("secretsmanager")

    @cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def sts(self) -> Any:
        return self.client("sts")


class CodePipelineIn:
    """`codepipeline_in(account)`: the CodePipeline client that reads pipelines of `account`.

    - this account, or an account that is empty or unknown (an approval message names none, and
      without WARDEN_ACCOUNT_ID nothing can be told apart): the container's own client;
    - another account, with a read role name configured: a client on the credentials of
      `arn:<partition>:iam::<account>:role/<name>`, one per account for the container's life.
      AssumeRole runs on the client's first call and again before the credentials expire (botocore's
      refreshable credentials), so a role that cannot be assumed fails that call, like any other
      read failure, where the caller already handles it;
    - another account without a read role: None (the caller works from what the event says).
    """

    def __init__(self, clients: Clients, *, own_account: str = "", role_name: str = "") -> None:
        self._clients = clients
        self.own_account = own_account
        self.role_name = role_name
        self._assumed: dict[str, Any] = {}

    def is_own(self, account: str | None) -> bool:
        return not account or not self.own_account or account == self.own_account

    def __call__(self, account: str | None) -> Any | None:
        if self.is_own(account):
            return self._clients.codepipeline
        if not self.role_name:
            return None
        client = self._assumed.get(account)  # type: ignore[arg-type]
        if client is None:
            client = self._assumed[account] = self._assumed_client(account)  # type: ignore[index]
        return client

    def role_arn(self, account: str) -> str:
        partition = self._clients.sts.meta.partition
        return f"arn:{partition}:iam::{account}:role/{self.role_name}"

    def _assumed_client(self, account: str) -> Any:
        import boto3
        import botocore.session
        from botocore.credentials import CredentialProvider, CredentialResolver, DeferredRefreshableCredentials

        role_arn, sts = self.role_arn(account), self._clients.sts

        def assume() -> dict[str, str]:
            logger.info("assuming the workload read role", extra={"account": account, "role": role_arn})
            creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=ROLE_SESSION_NAME)["Credentials"]
            return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                    "token": creds["SessionToken"], "expiry_time": creds["Expiration"].isoformat()}

        class AssumedRole(CredentialProvider):
            METHOD = "assume-role"

            def load(self) -> DeferredRefreshableCredentials:
                return DeferredRefreshableCredentials(refresh_using=assume, method=self.METHOD)

        core = botocore.session.Session()
        core.register_component("credential_provider", CredentialResolver(providers=[AssumedRole()]))
        session = boto3.session.Session(botocore_session=core, region_name=self._clients.session.region_name)
        return session.client("codepipeline", config=_config())
