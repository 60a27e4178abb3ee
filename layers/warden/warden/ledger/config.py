"""The `ledger` configuration document: which stage is production, and the change-failure window."""

from __future__ import annotations

import re
from datetime import timedelta
from fnmatch import fnmatchcase

from pydantic import Field, field_validator

from warden.core.documents import StrictDocument
from warden.ledger.changes import Rules


class ProductionRule(StrictDocument):
    pipelines: list[str] = Field(default_factory=lambda: ["*"], description="pipeline name globs")
    stages: list[str] = Field(min_length=1, description="stage name globs that count as production")


class HealthSettings(StrictDocument):
    """Pipeline health against its own history (warden.health.history)."""

    window_runs: int = Field(20, ge=2, le=500, description="runs in the rolling baseline")
    min_samples: int = Field(5, ge=1, description="fewer runs than this: no baseline, nothing called slow")
    consecutive: int = Field(3, ge=1, le=50, description="runs in a row over the bar make a sustained slowdown")
    factor: float = Field(1.5, ge=1, description="the bar: p95 x factor")
    stuck_factor: float = Field(2.0, ge=1, description="stuck: running longer than the history's maximum x this")
    stuck_ceiling_hours: float = Field(6.0, gt=0, le=8 * 24, description="stuck, whatever the history says")


class LedgerConfig(StrictDocument):
    # First rule whose `pipelines` match decides; no rule matching means the pipeline's last stage.
    production: list[ProductionRule] = Field(default_factory=list)
    change_failure_window_hours: float = Field(24.0, gt=0, description="a failure or rollback this soon after "
                                               "a production deployment counts against it")
    # How a revert or a hotfix is recognised (warden.ledger.changes): the next production deployment of the
    # same service, within the window, from one of these branches or with a first commit line matching.
    hotfix_branches: list[str] = Field(default_factory=lambda: ["hotfix/*", "hotfix-*"],
                                       description="branch globs of hotfixes")
    hotfix_message_patterns: list[str] = Field(default_factory=lambda: [r"(?i)^hotfix\b"],
                                               description="regular expressions on a commit message's first line")

    health: HealthSettings = Field(default_factory=HealthSettings)

    @field_validator("hotfix_message_patterns")
    @classmethod
    def _patterns_compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {pattern!r} ({exc})") from None
        return patterns

    def rules(self, window_hours: float | None = None) -> Rules:
        """The change-failure rules (warden.ledger.changes), with another window when one is given."""
        return Rules(window=timedelta(hours=window_hours or self.change_failure_window_hours),
                     hotfix_branches=tuple(self.hotfix_branches), hotfix_messages=tuple(self.hotfix_message_patterns))

    def production_globs(self, pipeline: str) -> list[str] | None:
        """The production stage globs for a pipeline, or None for "its last stage"."""
        for rule in self.production:
            if any(fnmatchcase(pipeline, glob) for glob in rule.pipelines):
                return rule.stages
        return None
