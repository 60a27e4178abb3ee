"""Where a deploying stage read its input artifacts, from ListActionExecutions (ArtifactDetail.s3location).

A fact of the execution: the same answer on every redelivery, so recording it again changes nothing.
Only Deploy actions count: what a rollback of the stage would re-deploy (warden.artifacts.protect).
"""

from __future__ import annotations

from typing import Any


def deploy_inputs(actions: list[dict[str, Any]], stage: str) -> list[dict[str, str]]:
    """`[{bucket, key}]` read by the Deploy actions of `stage`, in order, without repeats."""
    found: list[dict[str, str]] = []
    for action in actions:
        given = action.get("input") or {}
        if action.get("stageName") != stage or (given.get("actionTypeId") or {}).get("category") != "Deploy":
            continue
        for artifact in given.get("inputArtifacts") or []:
            where = artifact.get("s3location") or {}
            entry = {"bucket": where.get("bucket"), "key": where.get("key")}
            if entry["bucket"] and entry["key"] and entry not in found:
                found.append(entry)
    return found
