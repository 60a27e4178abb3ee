"""Clients for ArtifactGuard: this account's S3 and KMS per region, and a workload account's S3 (read only).

Each client is created once per container. A workload account's buckets are read through the optional
read role (WorkloadReadRoleName) with botocore's refreshable credentials, so AssumeRole runs on first use
and again before expiry; without the role there is no client, and the bucket is reported as not auditable.
"""

from __future__ import annotations

from typing import Any

from warden.aws.clients import Clients, assumed_session

ROLE_SESSION_NAME = "pipeline-warden-artifacts"


class Access:
    def __init__(self, clients: Clients, *, own_region: str, role_name: str = "") -> None:
        self._clients = clients
        self._own_region = own_region
        self._role_name = role_name
        self._made: dict[tuple[str, ...], Any] = {}

    def own(self, service: str, region: str | None = None) -> Any:
        region = region or self._own_region
        key = ("own", service, region)
        if key not in self._made:
            # The container's shared client (made on first use): the notifier's DynamoDB client is this one.
            self._made[key] = self._clients.lazy(service, None if region == self._own_region else region)
        return self._made[key]

    def workload_s3(self, account: str, region: str) -> Any | None:
        if not self._role_name:
            return None
        key = ("workload", account, region)
        if key not in self._made:
            self._made[key] = self._assumed(account).client("s3", region_name=region)
        return self._made[key]

    def _assumed(self, account: str) -> Any:
        sts = self.own("sts")
        role_arn = f"arn:{sts.meta.partition}:iam::{account}:role/{self._role_name}"
        return assumed_session(sts, role_arn, self._own_region, session_name=ROLE_SESSION_NAME,
                               purpose=f"workload read ({account})")
