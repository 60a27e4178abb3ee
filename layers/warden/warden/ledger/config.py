"""The `ledger` configuration document: which stage is production, and the change-failure window."""

from __future__ import annotations

from fnmatch import fnmatchcase

from pydantic import Field

from warden.core.documents import StrictDocument


class ProductionRule(StrictDocument):
    pipelines: list[str] = Field(default_factory=lambda: ["*"], description="pipeline name globs")
    stages: list[str] = Field(min_length=1, description="stage name globs that count as production")


class LedgerConfig(StrictDocument):
    # First rule whose `pipelines` match decides; no rule matching means the pipeline's last stage.
    production: list[ProductionRule] = Field(default_factory=list)
    change_failure_window_hours: float = Field(24.0, gt=0, description="a failure or rollback this soon after "
                                               "a production deployment counts against it")

    def production_globs(self, pipeline: str) -> list[str] | None:
        """The production stage globs for a pipeline, or None for "its last stage"."""
        for rule in self.production:
            if any(fnmatchcase(pipeline, glob) for glob in rule.pipelines):
                return rule.stages
        return None
