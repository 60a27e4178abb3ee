"""Console links, built from what every event carries (region, pipeline, execution)."""

from urllib.parse import quote

CONSOLE = "https://console.aws.amazon.com"


def execution(region: str, pipeline: str, execution_id: str) -> str:
    return (f"{CONSOLE}/codesuite/codepipeline/pipelines/{quote(pipeline)}/executions/"
            f"{quote(execution_id)}/timeline?region={region}")


def pipeline(region: str, pipeline: str) -> str:
    return f"{CONSOLE}/codesuite/codepipeline/pipelines/{quote(pipeline)}/view?region={region}"


def approval_review(region: str, pipeline: str, stage: str, action: str, token: str) -> str:
    """The link CodePipeline itself puts in approval messages (approvalReviewLink)."""
    return (f"{CONSOLE}/codepipeline/home?region={region}#/approval/{quote(pipeline)}/{quote(stage)}/"
            f"{quote(action)}/{quote(token)}")


def deployment(region: str, deployment_id: str) -> str:
    return f"{CONSOLE}/codesuite/codedeploy/deployments/{quote(deployment_id)}?region={region}"
