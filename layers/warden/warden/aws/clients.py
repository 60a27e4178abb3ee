"""AWS clients, created lazily and once per container, with botocore's standard retry mode.

Handlers build one `Clients` at import time (which costs nothing) and pass it to domain code, so
the first client is only paid for when an event needs it and tests can inject their own. CodePipeline
is read through `warden.aws.codepipeline.CodePipelineGateway` (any account and region).

A client costs tens of milliseconds to create at a cold start (botocore loads and parses its service
model and endpoint rules), so the shared clients (`sns`, `dynamodb`, ..., `lazy(service, region)`) are
created on their first call, not when a service that might call them is wired: a function pays only for
the clients its event uses. One client per (service, region) per container, all from one session (one
botocore loader, whose cache every client shares).
"""

from __future__ import annotations

from typing import Any

from warden.core.lazy import Later

# Standard mode retries throttling and 5xx with exponential backoff and jitter.
RETRIES = {"mode": "standard", "max_attempts": 5}


def client_config() -> Any:
    from botocore.config import Config

    return Config(retries=RETRIES, connect_timeout=3, read_timeout=10)


class Clients:
    def __init__(self, session: Any = None) -> None:
        self._session = session
        self._shared: dict[tuple[str, str | None], Later] = {}

    @property
    def session(self) -> Any:
        if self._session is None:
            import boto3

            self._session = boto3.session.Session()
        return self._session

    def client(self, service: str, region: str | None = None) -> Any:
        """A new client; `region` None is the session's (Warden's own) region."""
        return self.session.client(service, region_name=region, config=client_config())

    def lazy(self, service: str, region: str | None = None) -> Later:
        """The container's one client of `service` in `region` (None: the session's), created on its first call."""
        key = (service, region)
        if key not in self._shared:
            self._shared[key] = Later(lambda: self.client(service, region))
        return self._shared[key]

    @property
    def sns(self) -> Any:
        return self.lazy("sns")

    @property
    def dynamodb(self) -> Any:
        return self.lazy("dynamodb")

    @property
    def codedeploy(self) -> Any:
        return self.lazy("codedeploy")

    @property
    def codecommit(self) -> Any:
        return self.lazy("codecommit")

    @property
    def ssm(self) -> Any:
        return self.lazy("ssm")

    @property
    def secretsmanager(self) -> Any:
        return self.lazy("secretsmanager")

    @property
    def sqs(self) -> Any:
        return self.lazy("sqs")

    @property
    def sts(self) -> Any:
        return self.lazy("sts")


def assumed_session(sts: Any, role_arn: str, region: str, *, session_name: str, purpose: str) -> Any:
    """A boto3 session on `role_arn`'s credentials. AssumeRole runs on the first call of a client of it and
    again before the credentials expire (botocore's refreshable credentials), so a role that cannot be
    assumed fails that call like any other, where the caller already handles it."""
    import boto3
    import botocore.session
    from botocore.credentials import CredentialProvider, CredentialResolver, DeferredRefreshableCredentials

    from warden.core.log import logger

    def assume() -> dict[str, str]:
        logger.info(f"assuming the {purpose} role", extra={"role": role_arn})
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"], "expiry_time": creds["Expiration"].isoformat()}

    class AssumedRole(CredentialProvider):
        METHOD = "assume-role"

        def load(self) -> DeferredRefreshableCredentials:
            return DeferredRefreshableCredentials(refresh_using=assume, method=self.METHOD)

    core = botocore.session.Session()
    core.register_component("credential_provider", CredentialResolver(providers=[AssumedRole()]))
    return boto3.session.Session(botocore_session=core, region_name=region)
