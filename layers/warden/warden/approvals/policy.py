"""The `approvers` configuration document: who may approve or reject from chat, per pipeline, stage, action.

Rules are tried in order; the first whose globs fit the approval decides. No document, or no rule that
fits, means nobody may decide that approval from chat: it is decided in the console (CodePipeline's own
IAM), as before. A person is allowed when their Slack user id is listed, or their Slack profile e-mail
(compared case-insensitively), or they belong to a listed Slack user group. `required` approvals from
distinct allowed people make one decision (N-of-M; a single rejection by an allowed person rejects).
The execution's starter and its commit author may not decide it unless `allow_self_approval` says so:
identities are matched by e-mail (see warden.approvals.gateway).
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

from pydantic import Field, field_validator, model_validator

from warden.core.documents import StrictDocument

SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
SLACK_GROUP = re.compile(r"^S[A-Z0-9]{2,}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ApproverRule(StrictDocument):
    name: str
    pipelines: list[str] = Field(default_factory=lambda: ["*"], description="pipeline name globs")
    stages: list[str] = Field(default_factory=lambda: ["*"], description="stage name globs")
    actions: list[str] = Field(default_factory=lambda: ["*"], description="approval action name globs")
    users: list[str] = Field(default_factory=list, description="Slack user ids (U..., W...)")
    groups: list[str] = Field(default_factory=list, description="Slack user group ids (S...)")
    emails: list[str] = Field(default_factory=list, description="e-mail addresses of Slack profiles")
    allow_self_approval: bool = Field(False, description="the execution's starter or commit author may decide it")
    required: int = Field(1, ge=1, le=10, description="approvals from distinct people that make the decision")

    @field_validator("users")
    @classmethod
    def _users(cls, users: list[str]) -> list[str]:
        bad = [u for u in users if not SLACK_USER.match(u)]
        if bad:
            raise ValueError(f"not Slack user ids (U… or W…): {bad}")
        return users

    @field_validator("groups")
    @classmethod
    def _groups(cls, groups: list[str]) -> list[str]:
        bad = [g for g in groups if not SLACK_GROUP.match(g)]
        if bad:
            raise ValueError(f"not Slack user group ids (S…): {bad}")
        return groups

    @field_validator("emails")
    @classmethod
    def _emails(cls, emails: list[str]) -> list[str]:
        bad = [e for e in emails if not EMAIL.match(e)]
        if bad:
            raise ValueError(f"not e-mail addresses: {bad}")
        return [e.lower() for e in emails]

    @model_validator(mode="after")
    def _someone(self) -> ApproverRule:
        if not (self.users or self.groups or self.emails):
            raise ValueError("a rule names at least one approver (users, groups or emails)")
        if not self.groups and self.required > len(set(self.users)) + len(set(self.emails)):
            raise ValueError(f"required {self.required} is more than the {len(self.users) + len(self.emails)} "
                             "people the rule names")
        return self

    def fits(self, pipeline: str, stage: str, action: str) -> bool:
        return (any(fnmatchcase(pipeline, g) for g in self.pipelines)
                and any(fnmatchcase(stage, g) for g in self.stages)
                and any(fnmatchcase(action, g) for g in self.actions))


class ApproversConfig(StrictDocument):
    rules: list[ApproverRule] = Field(default_factory=list)

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[ApproverRule]) -> list[ApproverRule]:
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise ValueError(f"rule names must be unique: {names}")
        return rules

    def rule_for(self, pipeline: str, stage: str, action: str) -> ApproverRule | None:
        """The first rule that fits; None: nobody may decide this approval from chat."""
        return next((r for r in self.rules if r.fits(pipeline, stage, action)), None)
