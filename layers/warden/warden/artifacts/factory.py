"""Wiring ArtifactGuard from a Container: clients per region (created once per container), configuration."""

from __future__ import annotations

from warden.artifacts.access import Access
from warden.artifacts.discovery import ArtifactMap
from warden.artifacts.eligibility import allow_list
from warden.artifacts.guard import ArtifactGuard
from warden.aws.container import Container


def build(container: Container) -> ArtifactGuard:
    clients, settings = container.clients, container.settings
    access = Access(clients, own_region=settings.region, role_name=settings.workload_read_role_name)
    return ArtifactGuard(
        artifact_map=ArtifactMap(access.own("dynamodb"), settings.state_table),
        codepipeline=access.own("codepipeline"),
        s3_in=lambda region, account: access.own("s3", region),
        kms_in=lambda region: access.own("kms", region),
        config=lambda: container.config.get("artifacts"),  # type: ignore[arg-type, return-value]
        notifier=container.notifier(),
        account=settings.account_id,
        region=settings.region,
        ledger=(access.own("dynamodb"), settings.ledger_table) if settings.ledger_table else None,
        workload_s3=access.workload_s3,
        partition=clients.session.get_partition_for_region(settings.region),
        skip=container.skipped("artifact bucket"),
        allowed=allow_list(settings.artifact_bucket_allow_list),
        config_fallback=lambda: container.config.fallback("artifacts"),
        scope=settings.scope,
    )
