"""Which pipelines this stack owns: the stack's `PipelineScope` (template.yaml), and only that.

Two stacks of Warden can share an account (staging and prod, say) only if neither acts on the other's
pipelines. The scope is up to three pipeline name globs, or one `!glob` meaning every pipeline but
those; `*` is the only wildcard, exactly as in the EventBridge `wildcard` / `anything-but` filters that
the stack's rules apply to `detail.pipeline`, so what a rule lets through and what a sweep picks agree.
The rules keep out-of-scope events from ever reaching a function; the checks here cover what no rule
can filter: the scheduled sweeps (ArtifactGuard's pass, ApprovalEscalator, slow executions), approval
messages and alarms mapped to a pipeline. The answer depends only on the pipeline's name and the
stack's parameters, so redelivery and reordering cannot change it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_GLOBS = 3  # the rules of template.yaml spell out this many `wildcard` filters


def _regex(glob: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", glob)),
                      re.DOTALL)


@dataclass(frozen=True)
class PipelineScope:
    globs: tuple[str, ...] = ("*",)
    _patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        excluded = [g for g in self.globs if g.startswith("!")]
        if excluded and len(self.globs) > 1:
            raise ValueError(f"PipelineScope is either name globs or one !glob, not both: {','.join(self.globs)}")
        if len(self.globs) > MAX_GLOBS:
            raise ValueError(f"PipelineScope has at most {MAX_GLOBS} globs, got {len(self.globs)}: "
                             f"{','.join(self.globs)}")
        object.__setattr__(self, "_patterns", tuple(_regex(g.lstrip("!")) for g in self.globs))

    @classmethod
    def parse(cls, text: str | None) -> PipelineScope:
        """"*-staging,sandbox-*" or "!*-staging" -> the scope; empty means every pipeline (`*`)."""
        globs = tuple(g.strip() for g in (text or "").split(",") if g.strip())
        return cls(globs or ("*",))

    @property
    def excludes(self) -> bool:
        return self.globs[0].startswith("!")

    def covers(self, pipeline: str | None) -> bool:
        """Whether this stack acts on `pipeline`. A notice about no pipeline (a CodeDeploy deployment group
        of its own) is not a pipeline's: the scope does not speak of it."""
        if pipeline is None:
            return True
        hit = any(p.fullmatch(pipeline) for p in self._patterns)
        return not hit if self.excludes else hit

    def __str__(self) -> str:
        return ",".join(self.globs)
