"""Links, built only from validated parts: a link shown to people never carries event text as-is.

Console links are assembled from a region and identifiers that must match AWS's own naming rules;
commit links from a known provider, a repository name of the provider's shape and a hex commit id.
Anything that does not fit yields no link (the fact is still shown as text). Links that come whole
from outside (an action's `externalExecutionUrl`, a runbook, a pipeline's `ExternalEntityLink`) pass
`safe()`: https only, a host name, no characters that close or open markup (`<`, `>`, `|`, quotes,
spaces, brackets), at most `MAX_URL` characters; a link labelled as AWS's own (Logs) passes `console()`:
the AWS console's hosts only. Pure functions: the same input, the same link.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

CONSOLE = "https://console.aws.amazon.com"
MAX_URL = 2048

REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
NAME = re.compile(r"^[A-Za-z0-9.@_-]{1,100}$")  # pipeline, stage and action names (CodePipeline's pattern)
ID = re.compile(r"^[A-Za-z0-9-]{1,100}$")  # execution ids, deployment ids, approval tokens
SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")
# owner/name (GitHub, Bitbucket), group/subgroup/name (GitLab), name (CodeCommit).
REPOSITORY = {
    "GitHub": re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$"),
    "GitHubEnterpriseServer": re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$"),
    "GitLab": re.compile(r"^[A-Za-z0-9_.-]{1,100}(/[A-Za-z0-9_.-]{1,100}){1,8}$"),
    "Bitbucket": re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$"),
    "CodeCommit": re.compile(r"^[A-Za-z0-9_.-]{1,100}$"),
}
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
_UNSAFE = re.compile(r"[\s<>|\"'`\\]|[^\x21-\x7e]")
_ENCODE = re.compile(r"[()\[\]{}^]")  # legal in a URL, but markdown in a link: percent-encoded


def _ok(pattern: re.Pattern[str], *values: str | None) -> bool:
    return all(isinstance(v, str) and pattern.match(v) for v in values)


def execution(region: str, pipeline: str, execution_id: str) -> str | None:
    if not (_ok(REGION, region) and _ok(NAME, pipeline) and _ok(ID, execution_id)):
        return None
    return f"{CONSOLE}/codesuite/codepipeline/pipelines/{pipeline}/executions/{execution_id}/timeline?region={region}"


def pipeline(region: str, pipeline: str) -> str | None:
    if not (_ok(REGION, region) and _ok(NAME, pipeline)):
        return None
    return f"{CONSOLE}/codesuite/codepipeline/pipelines/{pipeline}/view?region={region}"


def approval_review(region: str, pipeline: str, stage: str, action: str, token: str) -> str | None:
    """The review link, in the form CodePipeline itself puts in approval messages (approvalReviewLink)."""
    if not (_ok(REGION, region) and _ok(NAME, pipeline, stage, action) and _ok(ID, token)):
        return None
    return (f"{CONSOLE}/codesuite/codepipeline/pipelines/{pipeline}/view?region={region}"
            f"#/{stage}/{action}/approve/{token}")


def deployment(region: str, deployment_id: str) -> str | None:
    if not (_ok(REGION, region) and _ok(ID, deployment_id)):
        return None
    return f"{CONSOLE}/codesuite/codedeploy/deployments/{deployment_id}?region={region}"


# V2 git triggers name the provider and repository: enough for a link to the commit itself.
COMMIT_URLS = {
    "GitHub": "https://github.com/{repo}/commit/{sha}",
    "GitLab": "https://gitlab.com/{repo}/-/commit/{sha}",
    "Bitbucket": "https://bitbucket.org/{repo}/commits/{sha}",
    "CodeCommit": CONSOLE + "/codesuite/codecommit/repositories/{repo}/commit/{sha}?region={region}",
}


def commit(provider: str | None, repository: str | None, sha: str | None, region: str) -> str | None:
    template = COMMIT_URLS.get(provider or "")
    pattern = REPOSITORY.get(provider or "")
    if not (template and pattern and _ok(pattern, repository) and _ok(SHA, sha) and _ok(REGION, region)):
        return None
    return template.format(repo=quote(repository or "", safe="/"), sha=sha, region=region)


# The AWS console, in every partition: a labelled AWS link (Logs, Execution, Review) goes only there.
_CONSOLE_HOST = re.compile(r"^(?:[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.)?"
                           r"(?:console\.aws\.amazon\.com|console\.amazonaws\.cn|console\.amazonaws-us-gov\.com)$")


def console(url: str | None) -> str | None:
    """`url` when it is a safe link (`safe`) to the AWS console (console.aws.amazon.com, a regional
    `<region>.console.aws.amazon.com`, and the China and GovCloud consoles), else None: a link shown under
    an AWS label such as "Logs" must not lead elsewhere, whatever an action's external URL says."""
    url = safe(url)
    if url is None:
        return None
    return url if _CONSOLE_HOST.match(urlsplit(url).hostname or "") else None


def safe(url: str | None) -> str | None:
    """`url` when it is an https link that cannot break out of markup, else None."""
    if not isinstance(url, str) or len(url) > MAX_URL or _UNSAFE.search(url):
        return None
    url = _ENCODE.sub(lambda m: f"%{ord(m.group()):02X}", url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme != "https" or parts.username or parts.password or not _ok(_HOST, parts.hostname or ""):
        return None
    return url
