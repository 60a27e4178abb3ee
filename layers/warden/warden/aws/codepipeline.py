"""What the event does not say, asked of CodePipeline: which action failed, why, and its logs."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.core.log import logger


def failed_action(codepipeline: Any, pipeline: str, execution_id: str) -> dict[str, Any] | None:
    """The first failed action of an execution (ListActionExecutions), or None if unknown."""
    try:
        pages = codepipeline.get_paginator("list_action_executions").paginate(
            pipelineName=pipeline, filter={"pipelineExecutionId": execution_id})
        for page in pages:
            for action in page.get("actionExecutionDetails", []):
                if action.get("status") == "Failed":
                    result = action.get("output", {}).get("executionResult", {})
                    details = result.get("errorDetails", {})
                    return {"stage": action.get("stageName"), "action": action.get("actionName"),
                            "error": details.get("message") or result.get("externalExecutionSummary"),
                            "logs": result.get("externalExecutionUrl")}
    except (ClientError, BotoCoreError) as exc:
        # Enrichment is a nicety: the page goes out with what the event carries.
        logger.warning("could not list action executions", extra={"pipeline": pipeline, "error": str(exc)})
    return None
