"""Which release a page is about: short commit, its message's first line, author, execution, trigger.

Sources, cheapest first, and never more than one CodePipeline read per execution:
1. what the notice's own event carries (V2 pipeline events have `execution-trigger`);
2. the execution's trigger item in the state table, written from its STARTED event
   (warden.approvals.store `save_trigger`);
3. GetPipelineExecution in the pipeline's account. Its answer, or why there is none, is cached in
   that same per-execution item with a conditional put (the STARTED event's facts are never
   overwritten, and a STARTED event arriving later replaces the cache with better facts). Every later
   page, retry or approval message of the execution reads the cache instead of CodePipeline.
Whatever fails, the notice goes out: with the release, or with an explicit "unknown" and the reason.
Everything here is a read or an idempotent conditional put, so redelivery and reordering are harmless.
"""

from __future__ import annotations

import json
from typing import Any

from warden.aws.codepipeline import CodePipelineGateway, Unknown
from warden.core import links
from warden.core.log import logger
from warden.notify.notice import Notice

CACHED_FACTS = ("commit", "commit_message", "author", "trigger", "commit_link", "unknown")


class Releases:
    def __init__(self, *, triggers: Any, codepipeline: CodePipelineGateway | None = None) -> None:
        """`triggers`: warden.approvals.store.Approvals (its per-execution trigger items).
        `codepipeline`: the CodePipeline gateway; None means this function may not read CodePipeline."""
        self._triggers = triggers
        self._codepipeline = codepipeline

    def fill(self, notice: Notice) -> None:
        """Complete the notice's release in place; on any failure, say why it is unknown."""
        if notice.commit and notice.author:
            return
        if not (notice.pipeline and notice.execution_id):
            if notice.deployment_id:
                why = "a CodeDeploy deployment event does not name the pipeline execution that created it"
            else:
                why = "the event names no pipeline execution"
            notice.release_unknown = why
            return
        try:
            found = self._lookup(notice)
        except Exception as exc:  # noqa: BLE001 (enrichment must never hold a page back)
            logger.warning("release lookup failed", extra={"pipeline": notice.pipeline, "error": str(exc)})
            found = {"unknown": f"the release lookup failed ({type(exc).__name__})"}
        apply(notice, found)

    def _lookup(self, notice: Notice) -> dict[str, Any]:
        account, region, pipeline, execution_id = notice.account, notice.region, notice.pipeline, notice.execution_id
        saved = self._triggers.trigger(account, region, pipeline, execution_id)
        if saved.get("commit") or saved.get("author") or saved.get("unknown"):
            return saved
        if self._codepipeline is None:
            return {"unknown": "the execution's start was not seen and this function cannot read CodePipeline"}
        execution = self._codepipeline.execution(account, region, pipeline, execution_id)  # type: ignore[arg-type]
        if isinstance(execution, Unknown):
            found = {"unknown": f"the execution's start was not seen and {execution.reason}"}
        else:
            found = from_execution(execution)
        # Cached whatever the answer, so that the execution's next page does not ask again.
        self._triggers.save_trigger(account, region, pipeline, execution_id,
                                    {k: v for k, v in found.items() if k in CACHED_FACTS}, only_if_absent=True)
        return found


def from_execution(execution: dict[str, Any]) -> dict[str, Any]:
    """The release as GetPipelineExecution tells it: the first source revision and the trigger."""
    trigger = execution.get("trigger") or {}
    revision = next(iter(execution.get("artifactRevisions") or []), {})
    found: dict[str, Any] = {"trigger": trigger.get("triggerType"), "commit": revision.get("revisionId"),
                             "commit_message": _summary(revision.get("revisionSummary")),
                             "commit_link": revision.get("revisionUrl")}
    detail = trigger.get("triggerDetail") or ""
    if detail.startswith("arn:") and (":iam::" in detail or ":sts::" in detail):  # a person started it
        found["author"] = detail
    if not found["commit"]:
        found["unknown"] = "GetPipelineExecution names no source revision"
    elif not found.get("author"):
        found["unknown"] = "GetPipelineExecution does not name the commit's author"
    return {k: v for k, v in found.items() if v}


def _summary(summary: str | None) -> str | None:
    # Connections report {"ProviderType": "GitHub", "CommitMessage": "..."} as the revision summary.
    if summary and summary.startswith("{"):
        try:
            return json.loads(summary).get("CommitMessage") or summary
        except (ValueError, AttributeError):
            return summary
    return summary


def apply(notice: Notice, found: dict[str, Any]) -> None:
    """Fill the notice's gaps from `found` (the event's own facts win)."""
    notice.commit = notice.commit or found.get("commit")
    notice.commit_message = notice.commit_message or found.get("commit_message")
    notice.author = notice.author or found.get("author")
    notice.trigger = notice.trigger or found.get("trigger")
    if found.get("commit_link"):
        notice.links.setdefault("commit", found["commit_link"])
    if not (notice.commit and notice.author):
        notice.release_unknown = found.get("unknown") or "not recorded at the execution's start"


def trigger_facts(trigger: Any, region: str) -> dict[str, Any]:
    """What a STARTED event's `execution-trigger` says, as the trigger item keeps it."""
    return {"author": trigger.author, "commit": trigger.commit_id, "commit_message": trigger.commit_message,
            "trigger": trigger.trigger_type,
            "commit_link": links.commit(trigger.provider_type, trigger.full_repository_name, trigger.commit_id,
                                        region)}
