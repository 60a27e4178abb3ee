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

Mode = Literal["enforce", "dry_run"]


class RollbackRule(StrictDocument):
    """Alarms (name globs, optionally of some accounts) -> a pipeline stage and/or a deployment group."""

    name: str
    alarms: list[str] = Field(min_length=1, description="alarm name globs")
    accounts: list[str] = Field(default_factory=list, description="alarm account ids; empty means any")
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

    def matches(self, alarm: str, account: str | None) -> bool:
        return (any(fnmatchcase(alarm, glob) for glob in self.alarms)
                and (not self.accounts or (account or "") in self.accounts))


class TagGrant(StrictDocument):
    """Which alarms' tags may name which pipelines or deployment groups (see `RollbackConfig.tag_grants`)."""

    alarms: list[str] = Field(min_length=1, description="alarm name globs")
    accounts: list[str] = Field(default_factory=list, description="alarm account ids; empty means any")
    pipelines: list[str] = Field(default_factory=list, description="pipeline name globs the tags may name")
    deployment_groups: list[str] = Field(default_factory=list, description="APPLICATION/GROUP globs")

    def allows(self, alarm: str, account: str | None, pipeline: str | None, group: str | None) -> bool:
        if not (any(fnmatchcase(alarm, g) for g in self.alarms)
                and (not self.accounts or (account or "") in self.accounts)):
            return False
        if pipeline and not any(fnmatchcase(pipeline, g) for g in self.pipelines):
            return False
        return not group or pipeline is not None or any(fnmatchcase(group, g) for g in self.deployment_groups)


class RollbackConfig(StrictDocument):
    mode: Mode = "enforce"
    bake_minutes: float = Field(60, gt=0, description="after a stage finished, an alarm still rolls it back")
    cooldown_minutes: float = Field(30, ge=0, description="at most one rollback per stage (or group) per cooldown")
    hook_on_error: Literal["fail", "succeed"] = Field(
        "fail", description="what DeploymentValidationHook reports when it cannot check")
    rules: list[RollbackRule] = Field(default_factory=list)
    tag_grants: list[TagGrant] | None = Field(
        None, description="None: an alarm's tags may name any pipeline or group of the alarm's own account; a "
                          "list: only the mappings a grant allows (an account shared by teams)")

    def matching(self, alarm: str, account: str | None) -> list[RollbackRule]:
        return [rule for rule in self.rules if rule.matches(alarm, account)]
