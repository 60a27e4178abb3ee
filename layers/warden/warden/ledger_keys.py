"""The ledger's item layout, shared by the writer (DeploymentTracker) and the readers (CLI, DORA).

One table, three item kinds:
  execution  pk EXEC#<pipeline>#<execution id>  sk EXECUTION
             gsi1 PIPE#<pipeline> / <started>#<id>              history of a pipeline, newest first
             gsi2 COMMIT#<sha> / <started>#<pipeline>#<id>      every execution of a commit
             gsi3 MONTH#<yyyy-mm> / <started>#<pipeline>#<id>   executions in a time range (DORA)
  current    pk CURRENT#<pipeline>  sk STAGE#<stage>
             gsi1 CURRENT / <pipeline>#<stage>                  what runs where, every pipeline in one query
Stage timings and approvals are attributes of the execution item (`stage:<name>:<field>`,
`approval:<stage>:<action>`), so one conditional UpdateItem records an event and returns the whole record.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

EXECUTION_SK = "EXECUTION"
CURRENT_GSI1PK = "CURRENT"
STAGE_PREFIX = "stage:"
APPROVAL_PREFIX = "approval:"
STAGE_FIELDS = ("status", "order", "started_at", "started_s", "ended_at", "ended_s", "duration_s")


def execution_key(pipeline: str, execution_id: str) -> dict[str, str]:
    return {"pk": f"EXEC#{pipeline}#{execution_id}", "sk": EXECUTION_SK}


def current_key(pipeline: str, stage: str) -> dict[str, str]:
    return {"pk": f"CURRENT#{pipeline}", "sk": f"STAGE#{stage}"}


def history_pk(pipeline: str) -> str:
    return f"PIPE#{pipeline}"


def commit_pk(sha: str) -> str:
    return f"COMMIT#{sha.lower()}"


def month_pk(moment: datetime) -> str:
    return f"MONTH#{moment:%Y-%m}"


def stage_attr(stage: str, name: str) -> str:
    return f"{STAGE_PREFIX}{stage}:{name}"


def approval_attr(stage: str, action: str) -> str:
    return f"{APPROVAL_PREFIX}{stage}:{action}"


# -- DynamoDB attribute values, without boto3's serializer (its import costs cold start) -------------
def to_av(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float):
        return {"N": repr(round(value, 3)) if isinstance(value, float) else str(value)}
    if isinstance(value, set | frozenset):
        return {"SS": sorted(value)}
    if isinstance(value, dict):
        return {"M": {k: to_av(v) for k, v in value.items() if v is not None}}
    if isinstance(value, list | tuple):
        return {"L": [to_av(v) for v in value]}
    if value is None:
        return {"NULL": True}
    raise TypeError(f"cannot store {type(value).__name__} in the ledger")


def from_av(av: dict[str, Any]) -> Any:
    (kind, value), = av.items()
    if kind == "N":
        number = float(value)
        return int(number) if number.is_integer() else number
    if kind == "M":
        return {k: from_av(v) for k, v in value.items()}
    if kind == "L":
        return [from_av(v) for v in value]
    if kind in ("SS", "NS"):
        return set(value)
    if kind == "NULL":
        return None
    return value


def from_item(item: dict[str, Any] | None) -> dict[str, Any]:
    return {k: from_av(v) for k, v in (item or {}).items()}
