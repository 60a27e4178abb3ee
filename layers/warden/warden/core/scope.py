"""Which pipelines this stack owns: the stack's `PipelineScope` (template.yaml), and only that.

Two stacks of Warden can share an account (staging and prod, say) only if neither acts on the other's
pipelines. The scope is a list of pipeline name globs; `*` is the only wildcard, exactly as in the
EventBridge `wildcard` filter that the stack's rules apply to `detail.pipeline` (so what a rule lets through
and what a sweep picks from its tables agree). The rules keep out-of-scope events from ever reaching a
function; the checks here cover what no rule can filter: the scheduled sweeps (ArtifactGuard's pass,
ApprovalEscalator, slow executions), SNS inputs (approval messages) and alarms mapped to a pipeline.
The answer depends only on the pipeline's name and the stack's parameters, so redelivery and
reordering cannot change it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

MAX_GLOBS = 3  # the rules of template.yaml spell out this many `wildcard` filters


@dataclass(frozen=True)
class PipelineScope:
    globs: tuple[str, ...] = ("*",)

    @classmethod
    def parse(cls, text: str | None) -> PipelineScope:
        """"*-staging,staging-*" -> the scope; empty means every pipeline (`*`)."""
        globs = tuple(g.strip() for g in (text or "").split(",") if g.strip())
        if len(globs) > MAX_GLOBS:
            raise ValueError(f"PipelineScope has at most {MAX_GLOBS} globs, got {len(globs)}: {text!r}")
        return cls(globs or ("*",))

    @property
    def everything(self) -> bool:
        return "*" in self.globs

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        one = ["".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", g))
               for g in self.globs]
        return re.compile("|".join(f"(?:{p})" for p in one), re.DOTALL)

    def covers(self, pipeline: str | None) -> bool:
        """Whether this stack acts on `pipeline`. A notice about no pipeline (a CodeDeploy deployment group
        of its own) is not a pipeline's: the scope does not speak of it."""
        if pipeline is None or self.everything:
            return True
        return self._pattern.fullmatch(pipeline) is not None

    def __str__(self) -> str:
        return ",".join(self.globs)
