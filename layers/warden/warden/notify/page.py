"""What a PagerDuty page carries as data, so the responder's phone shows the release and its links.

Pure functions of a notice: the same notice always makes the same payload, so a retried trigger with
the same dedup_key changes nothing at PagerDuty.
"""

from __future__ import annotations

from typing import Any

from warden.notify.notice import Notice

LINK_TEXT = {"execution": "Execution", "logs": "Logs", "runbook": "Runbook", "commit": "Commit",
             "review": "Review", "pipeline": "Pipeline"}
LINK_ORDER = ("execution", "logs", "runbook", "commit")  # what on-call opens first, first


def custom_details(notice: Notice) -> dict[str, Any]:
    """pipeline, stage, action, commit, author, execution, error; then what else the notice knows."""
    details = {
        "pipeline": notice.pipeline or notice.application,
        "stage": notice.stage or notice.deployment_group,
        "action": notice.action,
        "commit": notice.commit_fact,
        "commit_id": notice.commit,
        "author": notice.author_fact,
        "execution": notice.execution_id or notice.deployment_id,
        "trigger": notice.trigger,
        "error": notice.error_fact,
        "event": notice.event,
        "state": notice.state,
        "duration": notice.duration,
        "waiting_for": notice.age,
        "account": notice.account,
        "region": notice.region,
    }
    return {k: v for k, v in details.items() if v}


def page_links(found: dict[str, str]) -> dict[str, str]:
    """Link text -> URL, the four that matter first (PagerDuty shows them in order)."""
    keys = [k for k in LINK_ORDER if k in found] + [k for k in found if k not in LINK_ORDER]
    return {LINK_TEXT.get(k, k.title()): found[k] for k in keys}


def grouping(notice: Notice) -> dict[str, str | None]:
    """PagerDuty's component (where), group (which pipeline) and class (what happened)."""
    return {"component": notice.stage or notice.deployment_group, "group": notice.subject_name or None,
            "event_class": notice.event}
