"""The `rollback` configuration document: how Warden rolls back on alarms, and which alarms guard what.

Only read, never written, by the functions: a document that changes between two deliveries of one alarm
can change what the second would decide, which is why the decision is claimed once per stage (cooldown)
and never recomputed for a delivery that already acted.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Literal

from pydantic import Field, field_validator, model_validator

from warden.core.documents import StrictDocument
from warden.models.base import Region

Mode = Literal["enforce", "dry_run"]


def _in(value: str | None, allowed: list[str]) -> bool:
    return not allowed or (value or "") in allowed


class RollbackRule(StrictDocument):
    """Alarms (name globs, optionally of some accounts and regions) -> a pipeline stage and/or a deployment
    group, in the alarm's own region unless `target_region` says otherwise."""

    name: str
    alarms: list[str] = Field(min_length=1, description="alarm name globs")
    accounts: list[str] = Field(default_factory=list, description="alarm account ids; empty means any")
    regions: list[Region] = Field(default_factory=list, description="alarm regions; empty means any")
    target_region: Region | None = Field(
        None, description="the region of the pipeline or group; None: the alarm's own region")
    pipeline: str | None = None
    stage: str | None = None
    deployment_group: str | None = Field(None, description="APPLICATION/GROUP of CodeDeploy")
    mode: Mode | None = Field(None, description="overrides the document's mode for what this rule maps")

    @field_validator("deployment_group")
    @classmethod
    def _app_and_group(cls, value: str | None) -> str | None:
        if value is not None and (value.count("/") != 1 or not all(value.split("/"))):
            raise ValueError("expected APPLICATION/GROUP")
        return value

    @model_validator(mode="after")
    def _maps_something(self) -> RollbackRule:
        if bool(self.pipeline) != bool(self.stage):
            raise ValueError("pipeline and stage go together")
        if not (self.pipeline or self.deployment_group):
            raise ValueError("a rule maps to a pipeline and stage, or to a deployment_group, or both")
        return self

    def matches(self, alarm: str, account: str | None, region: str | None = None) -> bool:
        return (any(fnmatchcase(alarm, glob) for glob in self.alarms) and _in(account, self.accounts)
                and (region is None or _in(region, self.regions)))


class TagGrant(StrictDocument):
    """Which alarms' tags may name which pipelines or deployment groups (see `RollbackConfig.tag_grants`).

    Each thing a tag names is checked on its own: a pipeline against `pipelines`, a deployment group against
    `deployment_groups` (an alarm tagged with a granted pipeline and another team's group gets the pipeline
    only). Tags name targets in the alarm's own account and region; `regions` limits the alarms' regions."""

    alarms: list[str] = Field(min_length=1, description="alarm name globs")
    accounts: list[str] = Field(default_factory=list, description="alarm account ids; empty means any")
    regions: list[Region] = Field(default_factory=list, description="alarm regions; empty means any")
    pipelines: list[str] = Field(default_factory=list, description="pipeline name globs the tags may name")
    deployment_groups: list[str] = Field(default_factory=list, description="APPLICATION/GROUP globs")

    @model_validator(mode="after")
    def _say_wildcards(self) -> TagGrant:
        """A grant whose globs match everything is allowed (one team per account), never quietly."""
        wide = [field for field in ("alarms", "pipelines", "deployment_groups")
                if any(g and set(g) <= {"*"} for g in getattr(self, field))]
        if wide:
            from warden.core.log import logger

            logger.warning("a tag grant allows every name: any alarm's tags may name what it lists",
                           extra={"fields": wide, "grant": self.model_dump()})
        return self

    def covers(self, alarm: str, account: str | None, region: str | None) -> bool:
        return (any(fnmatchcase(alarm, g) for g in self.alarms) and _in(account, self.accounts)
                and _in(region, self.regions))

    def allows_pipeline(self, alarm: str, account: str | None, region: str | None, pipeline: str) -> bool:
        return self.covers(alarm, account, region) and any(fnmatchcase(pipeline, g) for g in self.pipelines)

    def allows_group(self, alarm: str, account: str | None, region: str | None, group: str) -> bool:
        return self.covers(alarm, account, region) and any(fnmatchcase(group, g) for g in self.deployment_groups)


class RollbackConfig(StrictDocument):
    mode: Mode = "enforce"
    bake_minutes: float = Field(60, gt=0, description="after a stage finished, an alarm still rolls it back")
    cooldown_minutes: float = Field(30, ge=0, description="at most one rollback per stage (or group) per cooldown")
    hook_on_error: Literal["fail", "succeed"] = Field(
        "fail", description="what DeploymentValidationHook reports when it cannot check")
    rules: list[RollbackRule] = Field(default_factory=list)
    tag_grants: list[TagGrant] | None = Field(
        None, description="which alarms' tags may name which pipelines and groups; None (or empty): alarm tags "
                          "map nothing (rules and stage conditions still do)")

    def matching(self, alarm: str, account: str | None, region: str | None = None) -> list[RollbackRule]:
        return [rule for rule in self.rules if rule.matches(alarm, account, region)]

    def grants_pipeline(self, alarm: str, account: str | None, region: str | None, pipeline: str) -> bool:
        return any(g.allows_pipeline(alarm, account, region, pipeline) for g in self.tag_grants or ())

    def grants_group(self, alarm: str, account: str | None, region: str | None, group: str) -> bool:
        return any(g.allows_group(alarm, account, region, group) for g in self.tag_grants or ())
