"""The ledger's item layout, shared by the writer (DeploymentTracker) and the readers (CLI, DORA).

A pipeline is identified by its *ref* (warden.ledger.refs): its plain name for a pipeline of this (tools)
account, `<account>/<name>` for a workload account's, so that same-named pipelines of two accounts never
share a key. A CodePipeline name cannot contain "/", so a ref is unambiguous.

One table, three item kinds:
  execution  pk EXEC#<name>#<execution id>  sk EXECUTION        (execution ids are unique: the name suffices)
             gsi1 PIPE#<ref> / <started>#<id>                   history of a pipeline, newest first
             gsi2 COMMIT#<sha[:7]> / <started>#<ref>#<id>       every execution of a commit, found by any
                                                                prefix of 7 or more characters
             gsi3 MONTH#<yyyy-mm> / <started>#<ref>#<id>        executions in a time range (DORA)
             gsi4 RUNNING / <started>#<ref>#<id>                sparse: only while the execution runs
                                                                (warden.health.slow sweeps it)
  current    pk CURRENT#<ref>  sk STAGE#<stage>
             gsi1 CURRENT / <ref>#<stage>                       what runs where, every pipeline in one query
Both kinds keep the plain `pipeline` name, its `account` and its `pipeline_ref` as attributes.
Stage timings and approvals are attributes of the execution item (`stage:<name>:<field>`,
`approval:<stage>:<action>`), so one conditional UpdateItem records an event and returns the whole record.
"""

from __future__ import annotations

from datetime import datetime

EXECUTION_SK = "EXECUTION"
CURRENT_GSI1PK = "CURRENT"
STAGE_PREFIX = "stage:"
APPROVAL_PREFIX = "approval:"
STAGE_FIELDS = ("status", "order", "started_at", "started_s", "ended_at", "ended_s", "duration_s")


RUNNING_INDEX = "gsi4"
RUNNING_GSI4PK = "RUNNING"


def running_sk(started_iso: str, ref: str, execution_id: str) -> str:
    """Sorted by start: a sweep reads only the executions started before its earliest threshold."""
    return f"{started_iso}#{ref}#{execution_id}"


def execution_key(pipeline: str, execution_id: str) -> dict[str, str]:
    return {"pk": f"EXEC#{pipeline}#{execution_id}", "sk": EXECUTION_SK}


def current_key(ref: str, stage: str) -> dict[str, str]:
    return {"pk": f"CURRENT#{ref}", "sk": f"STAGE#{stage}"}


def history_pk(ref: str) -> str:
    return f"PIPE#{ref}"


# A commit is asked for by a short SHA (git shows 7 characters): the index partition is the first 7, and a
# longer prefix narrows it down with a filter on `commit_id`. Items recorded before this layout keyed the
# whole SHA (LEGACY_COMMIT_PK); they are found by it.
COMMIT_PREFIX = 7


def commit_pk(sha: str) -> str:
    return f"COMMIT#{sha.lower()[:COMMIT_PREFIX]}"


def legacy_commit_pk(sha: str) -> str:
    return f"COMMIT#{sha.lower()}"


def month_pk(moment: datetime) -> str:
    return f"MONTH#{moment:%Y-%m}"


def stage_attr(stage: str, name: str) -> str:
    return f"{STAGE_PREFIX}{stage}:{name}"


def approval_attr(stage: str, action: str) -> str:
    return f"{APPROVAL_PREFIX}{stage}:{action}"
