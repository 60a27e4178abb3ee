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


# V2 git triggers name the provider and repository: enough for a link to the commit itself.
COMMIT_URLS = {
    "GitHub": "https://github.com/{repo}/commit/{sha}",
    "GitLab": "https://gitlab.com/{repo}/-/commit/{sha}",
    "Bitbucket": "https://bitbucket.org/{repo}/commits/{sha}",
    "CodeCommit": CONSOLE + "/codesuite/codecommit/repositories/{repo}/commit/{sha}?region={region}",
}


def commit(provider: str | None, repository: str | None, sha: str | None, region: str) -> str | None:
    template = COMMIT_URLS.get(provider or "")
    if not (template and repository and sha):
        return None
    return template.format(repo=repository, sha=sha, region=region)
