"""Which runbook stands behind a page: every page and on-call message names one, by default.

Each kind of page Warden sends has a short runbook shipped in the repository (`docs/runbooks/<name>.md`):
what Warden already did, what to check first, and how to undo Warden's action. A routing rule's
`runbook` (a URL) overrides the default. The default is a link only when the stack was given
`RunbookBaseUrl` (where the repository's `docs/runbooks/` is published, e.g. a fork's GitHub tree);
without it the message names the runbook file instead of inventing a link nobody can open.

Pure functions of the notice and the base URL: a redelivered notice names the same runbook.
"""

from __future__ import annotations

from dataclasses import replace

from warden.core import links
from warden.notify.notice import Notice
from warden.notify.rules import Decision

DIRECTORY = "docs/runbooks"
PAGING_BROKEN = "paging-broken"
DEAD_LETTERS = "dead-letters"  # the dead-letter alarms' own message (CloudWatch's), linked from their description

# Event kind -> runbook name (the file's stem under DIRECTORY).
BY_EVENT = {
    "pipeline.failed": "pipeline-failure",
    "stage.failed": "pipeline-failure",
    "action.failed": "pipeline-failure",
    "deployment.failed": "pipeline-failure",
    "deployment.rolled_back": "rollback-done",
    "rollback.started": "rollback-done",
    "rollback.skipped": "rollback-skipped",
    "approval.escalated": "approval-escalated",
    "pipeline.slow": "slow-execution",
    "config.invalid": "configuration-invalid",
}
ALL = frozenset({*BY_EVENT.values(), PAGING_BROKEN, DEAD_LETTERS})


def name_for(notice: Notice) -> str | None:
    """The runbook of `notice`'s kind; a notice that says paging is broken has that one."""
    if notice.not_paged:
        return PAGING_BROKEN
    return BY_EVENT.get(notice.event)


def path(name: str) -> str:
    """The runbook's file in the repository."""
    return f"{DIRECTORY}/{name}.md"


def url(name: str, base: str | None) -> str | None:
    """The runbook's link under `base` (https, checked like every link), or None without one."""
    if not base:
        return None
    return links.safe(f"{base.rstrip('/')}/{name}.md")


def with_runbook(notice: Notice, decision: Decision, base: str | None) -> Decision:
    """`decision` carrying its runbook: the routing rule's when it set one (a paging-broken notice always
    has its own), else the default of the notice's kind, as a link under `base` or, without one, the file."""
    name = name_for(notice)
    if name is None or (decision.runbook and not notice.not_paged):
        return decision
    return replace(decision, runbook=url(name, base) or path(name))


def shown(runbook: str | None) -> tuple[str | None, str | None]:
    """(link, text): a runbook that is a safe https link is a link; a file of DIRECTORY is named as text."""
    if not runbook:
        return None, None
    if runbook.startswith(DIRECTORY + "/") and runbook.removeprefix(DIRECTORY + "/").removesuffix(".md") in ALL:
        return None, f"{runbook} (in the Pipeline Warden repository)"
    return links.safe(runbook), None
