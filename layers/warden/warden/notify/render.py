"""Readable messages: one SNS publish per audience, with a body per protocol.

SNS `MessageStructure=json` lets email get the full story, SMS a line, and everything else
(SQS, HTTPS, Lambda) a plain `default`. The chat topic gets the Amazon Q Developer in chat
applications custom notification schema instead, threaded per pipeline execution. When the stack creates
Amazon Q Developer's Approve and Reject custom actions (QDeveloperApprovalActions), an approval.needed chat
message also carries what their command needs in `metadata.additionalContext` (`chat_actions`): data for
the buttons, never shown in the message's text.

Everything taken from an event is data. Each fact is cleaned and clipped (warden.core.text: no
control characters or direction overrides, one line, at most `FACT_LIMITS[label]` characters), so a
commit message cannot forge a "Review:" line in an email; in chat (client-markdown) it is escaped
as well (`markdown()`), so `[text](url)`, `<!channel>` or `<url|text>` show as the characters they
are. Links are rendered only when they pass `links.safe` (https, no markup characters), under fixed
labels. Rendering is a pure function of the notice and decision: a redelivery renders the same bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from warden import __version__
from warden.core import links
from warden.core.accounts import is_own
from warden.core.log import logger
from warden.core.text import ELLIPSIS, LIMITS, clean
from warden.notify import runbooks
from warden.notify.notice import Notice
from warden.notify.rules import Decision

TITLES = {
    "pipeline.started": "{name} started",
    "pipeline.succeeded": "{name} succeeded",
    "pipeline.failed": "{name} failed",
    "pipeline.stopped": "{name} was stopped",
    "pipeline.superseded": "{name} was superseded",
    "stage.failed": "{name}: stage {stage} failed",
    "action.failed": "{name}: {stage}/{action} failed",
    "approval.needed": "{name}: approval needed at {stage}/{action}",
    "approval.approved": "{name}: {stage}/{action} approved",
    "approval.rejected": "{name}: {stage}/{action} rejected",
    "approval.escalated": "{name}: approval at {stage}/{action} still pending",
    "deployment.succeeded": "{name}: deployment {deployment} succeeded",
    "deployment.failed": "{name}: deployment {deployment} failed",
    "deployment.rolled_back": "{name}: deployment {deployment} rolled back",
    "pipeline.slow": "{name} is still running",
    "rollback.started": "{name}: alarm rolls back {stage}",
    "rollback.skipped": "{name}: alarm rollback of {stage} skipped",
    "artifact.noncompliant": "Artifact bucket {name} is not compliant",
    "config.invalid": "Configuration {parameter} is invalid",
    "freeze.started": "{name}: {stage} is frozen",
    "freeze.lifted": "{name}: the freeze of {stage} is lifted",
    "freeze.override": "{name}: freeze of {stage} overridden",
    "freeze.error": "{name}: the deployment gate cannot decide for {stage}",
    "deployment.held": "{name}: held at {stage} by the deployment gate",
}
LINK_LABELS = {"execution": "Execution", "review": "Review", "logs": "Logs", "commit": "Commit link",
               "runbook": "Runbook", "details": "Details", "pipeline": "Pipeline"}
# Labels that say "this is AWS": their links must lead to the AWS console (links.console), whoever wrote them.
AWS_LINKS = frozenset({"execution", "review", "logs", "pipeline"})
SUBJECT_LIMIT = 100  # SNS rejects longer subjects (and non-ASCII or control characters in them)
SMS_LIMIT = 140
FACT_LIMIT = LIMITS["other"]  # one field must not push a message past SNS's 256 KB
# The documented length of each fact shown (characters, after cleaning).
FACT_LIMITS = {
    "Pipeline": LIMITS["name"], "Application": LIMITS["name"], "Deployment group": LIMITS["name"],
    "Stage": LIMITS["name"], "Action": LIMITS["name"], "Execution": LIMITS["id"], "Deployment": LIMITS["id"],
    "Commit": LIMITS["error"], "Author": LIMITS["author"], "Trigger": LIMITS["name"],
    "Error": LIMITS["error"], "Note": LIMITS["note"], "Decided by": LIMITS["author"] * 2,
    "Comment": LIMITS["note"], "Account": 40, "State": 40, "Duration": 40, "Waiting for": 40, "Expires": 40,
    "Not confirmed": LIMITS["error"], "Not paged": LIMITS["error"],
}
TITLE_LIMIT = 250
# The last line of every message: which release of Warden spoke (the version of pyproject.toml and the template).
FOOTER = f"Sent by Pipeline Warden {__version__}."


@dataclass(frozen=True)
class Rendered:
    subject: str
    message: str  # the JSON document for MessageStructure=json
    attributes: dict[str, dict[str, str]]


# Health against a pipeline's own history (warden.health.watch): the notice's state says which.
HISTORY_TITLES = {"Slowdown": "{name}: {stage} is slower than its own history",
                  "Recovered": "{name}: {stage} is back within its usual time",
                  "Stuck": "{name}: {stage} looks stuck",
                  "Digest": "Weekly digest: flaky stages in {stage}"}


def title(notice: Notice) -> str:
    """One line naming what happened; every part is cleaned (names come from the event)."""
    template = TITLES.get(notice.event, "{name}: " + notice.event)
    if notice.event.startswith("deployment.") and notice.state == "STOP" and notice.stopped_by:
        template = "{name}: deployment {deployment} was stopped by " + clean(notice.stopped_by, LIMITS["author"])
    if notice.event == "pipeline.slow" and notice.state in HISTORY_TITLES:  # warden.health.watch
        template = HISTORY_TITLES[notice.state]
    if notice.not_paged:
        template = "Paging is broken, on-call was not paged: " + template
    name = LIMITS["name"]
    return clean(template.format(
        name=clean(notice.subject_name or "pipeline", name), stage=clean(_stage_of(notice), name * 2),
        action=clean(notice.action or "?", name), deployment=clean(notice.deployment_id or "?", LIMITS["id"]),
        parameter=clean(notice.parameter or "?", name)),
        TITLE_LIMIT)


def _stage_of(notice: Notice) -> str:
    """The stage a title names; for a rollback, with the deployment group that rides along (both may be acted on)."""
    if not notice.event.startswith("rollback."):
        return notice.stage or "?"
    if notice.stage and notice.deployment_group:
        return f"{notice.stage} and deployment group {notice.application}/{notice.deployment_group}"
    return notice.stage or notice.deployment_group or "?"


def facts(notice: Notice) -> list[tuple[str, str]]:
    """The labelled facts of a notice, in reading order, skipping what the event did not carry."""
    rows = [
        ("Pipeline", notice.pipeline), ("Application", notice.application),
        ("Deployment group", notice.deployment_group), ("Stage", notice.stage), ("Action", notice.action),
        ("State", notice.state), ("Duration", notice.duration), ("Execution", notice.execution_id),
        ("Deployment", notice.deployment_id),
        ("Commit", notice.commit_fact), ("Author", notice.author_fact), ("Trigger", notice.trigger),
        ("Error", notice.error_fact),
        ("Waiting for", notice.age), ("Expires", notice.expires), ("Note", notice.custom_data),
        ("Decided by", notice.approver), ("Comment", notice.comment), ("Not confirmed", notice.unconfirmed),
        ("Not paged", notice.not_paged),
        ("Alarm", notice.alarm), ("Alarm reason", notice.alarm_reason), ("Rolled back to", notice.rollback_target),
        ("Skipped because", notice.skipped_because), ("Would have", notice.would_have),
        ("Not acted on", notice.not_acted_on),
        ("Bucket", notice.bucket), ("Used by", ", ".join(notice.pipelines) or None),
        ("Parameter", notice.parameter), ("In use instead", notice.using),
        *(("Finding", finding) for finding in notice.findings),
        *(("Also waiting", waiting) for waiting in notice.also_waiting),
        ("Account", f"{notice.account} ({notice.region})"),
    ]
    shown = [(label, clean(value, FACT_LIMITS.get(label, FACT_LIMIT))) for label, value in rows if value]
    return [(label, value) for label, value in shown if value]


def all_links(notice: Notice, decision: Decision) -> dict[str, str]:
    """The notice's links and the runbook, each only if it is a safe https link (a runbook named by its file
    is text: `runbook_text`)."""
    found = dict(notice.links)
    link, _ = runbooks.shown(decision.runbook)
    if link:
        found["runbook"] = link
    return {k: url for k, url in ((k, (links.console if k in AWS_LINKS else links.safe)(v))
                                  for k, v in found.items()) if url}


_MARKDOWN = re.compile(r"([\\`*_~\[\]()|])")
_BROADCAST = re.compile(r"@(?=(channel|here|everyone|group|all)\b)", re.IGNORECASE)
# A URL in free text (`https://host/...`, `www.host`): chat clients turn it into a link nobody labelled.
_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]{1,20}):/{2}", re.IGNORECASE)
_URL_HOST = re.compile(r"(?<=\[:\]//)([^\s/?#]+)|\b(www\.[^\s/?#]+)", re.IGNORECASE)


def defang(text: str) -> str:
    """Bare URLs of free text made inert for chat: `https://evil.example/x` -> `https[:]//evil[.]example/x`
    (the usual "defanged" form: still readable, never linked)."""
    text = _SCHEME.sub(r"\1[:]//", text)
    return _URL_HOST.sub(lambda m: m.group().replace(".", "[.]"), text)


def markdown(text: str) -> str:
    """Client-markdown (Slack mrkdwn through Amazon Q) that shows `text` as written: bare URLs defanged
    (`defang`: no unlabelled link), Slack's three entities escaped (so no `<!channel>`, `<@U1>` or
    `<url|text>`), markdown punctuation backslash-escaped (no `[text](url)`, emphasis or quotes), and
    broadcast mentions broken with a zero-width space."""
    text = defang(text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN.sub(r"\\\1", text)
    return _BROADCAST.sub("@\u200b", text)


def runbook_text(decision: Decision) -> str | None:
    """The runbook as a file of the repository, when no base URL makes it a link (warden.notify.runbooks)."""
    return runbooks.shown(decision.runbook)[1]


def _subject(notice: Notice, decision: Decision) -> str:
    text = f"[{decision.severity.upper()}] {title(notice)}"
    if notice.short_commit:
        text += f" ({notice.short_commit})"
    # SNS subjects: one line of printable ASCII, under 100 characters.
    text = " ".join(text.replace(ELLIPSIS, "...").encode("ascii", "replace").decode().split())
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 3] + "..."


def render(notice: Notice, decision: Decision) -> Rendered:
    subject = _subject(notice, decision)
    found = all_links(notice, decision)
    lines = [f"{label}: {value}" for label, value in facts(notice)]
    link_lines = [f"{_label(k)}: {v}" for k, v in found.items()]
    if text := runbook_text(decision):
        link_lines.append(f"Runbook: {text}")
    default = "\n".join([subject, "", *lines, *link_lines, "", FOOTER])
    email = "\n".join([
        title(notice), "", f"Severity: {decision.severity}", f"Event: {notice.event}", *lines, "",
        *link_lines, "", f"Routed by rule: {decision.rule}. {FOOTER}",
    ])
    sms = " ".join(filter(None, [f"[{decision.severity.upper()}]", title(notice), notice.short_commit]))
    body = {"default": default, "email": email, "sms": clean(sms, SMS_LIMIT)}
    return Rendered(subject=subject, message=json.dumps(body), attributes=attributes(notice, decision))


def attributes(notice: Notice, decision: Decision) -> dict[str, dict[str, str]]:
    """SNS message attributes that subscription filter policies can match on."""
    values = {"severity": decision.severity, "event": notice.event, "pipeline": notice.subject_name,
              "account": notice.account, "stage": notice.stage or notice.deployment_group}
    values = {k: clean(v, LIMITS["name"]) for k, v in values.items() if v}
    return {k: {"DataType": "String", "StringValue": v} for k, v in values.items() if v}


def _label(key: str) -> str:
    return LINK_LABELS.get(key) or clean(key.replace("_", " "), 30).title()


# What Amazon Q Developer's Approve and Reject custom actions (template.yaml QDeveloperApproveAction,
# QDeveloperRejectAction) read from an approval.needed message: their Variables name these keys as
# event.metadata.additionalContext.<key>, and their command is `codepipeline put-approval-result`.
CHAT_ACTION_KEYS = ("pipelineName", "stageName", "actionName", "approvalToken", "region")
# Each value is substituted into that command as one argument: only what PutApprovalResult itself accepts
# (its names' and token's patterns, botocore's model), so that no value can add an argument of its own.
_NAME = re.compile(r"[A-Za-z0-9.@_-]{1,100}")
_CHAT_ACTION_VALUES = {"pipelineName": _NAME, "stageName": _NAME, "actionName": _NAME,
                       "approvalToken": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
                       "region": re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")}


def chat_actions(notice: Notice, actions_account: str | None) -> dict[str, str]:
    """The values Q Developer's Approve and Reject buttons need, for an approval.needed notice with its token
    of a pipeline in `actions_account` (Warden's own account, where the stack's custom actions and the
    channel's role run; None: the stack has no such actions); {} otherwise, and then the message shows no
    buttons (their Criteria ask for the token). A workload account's approval gets none: a command run in
    this account cannot decide it. A value PutApprovalResult would refuse gets none either."""
    if not actions_account or notice.event != "approval.needed" or not notice.approval_token:
        return {}
    if not is_own(notice.account, actions_account):
        return {}
    values = dict(zip(CHAT_ACTION_KEYS, (notice.pipeline, notice.stage, notice.action, notice.approval_token,
                                         notice.region), strict=True))
    refused = [key for key, value in values.items() if not (value and _CHAT_ACTION_VALUES[key].fullmatch(value))]
    if refused:  # the request still goes out, without buttons: said, so a missing button is explained
        logger.warning("approval request sent without Q Developer buttons: a value PutApprovalResult would refuse",
                       extra={"pipeline": notice.pipeline, "fields": refused})
        return {}
    return values  # type: ignore[return-value]


def render_chat(notice: Notice, decision: Decision, *, actions_account: str | None = None) -> Rendered:
    """Amazon Q Developer in chat applications custom notification (version 1.0). `actions_account`: where
    the stack's Approve and Reject custom actions run, when it has them (`chat_actions`)."""
    found = all_links(notice, decision)
    shown = facts(notice) + ([("Runbook", text)] if (text := runbook_text(decision)) else [])
    shown.append(("Sent by", f"Pipeline Warden {__version__}"))  # the footer, as a fact of its own
    description = "\n".join(f"*{label}:* {markdown(value)}" for label, value in shown)
    next_steps = [f"<{url}|{_label(k)}>" for k, url in found.items()]
    thread = notice.execution_id or notice.deployment_id or notice.event_id
    payload = {
        "version": "1.0",
        "source": "custom",
        "id": notice.event_id,
        "content": {
            "textType": "client-markdown",
            "title": f"{_icon(decision.severity)} {markdown(title(notice))}",
            "description": description,
            "nextSteps": next_steps,
            "keywords": [markdown(clean(k, LIMITS["name"])) for k in
                         (decision.severity, notice.event, notice.subject_name, notice.stage) if k],
        },
        "metadata": {
            "threadId": clean(f"{notice.subject_name}:{thread}", 2 * LIMITS["id"] + 1),
            "summary": title(notice),
            "eventType": notice.event,
            "relatedResources": list(found.values()),
            "additionalContext": {"severity": decision.severity, "account": clean(notice.account, 40),
                                  **chat_actions(notice, actions_account)},
        },
    }
    return Rendered(subject=_subject(notice, decision), message=json.dumps(payload),
                    attributes=attributes(notice, decision))


def _icon(severity: str) -> str:
    return {"critical": ":rotating_light:", "high": ":warning:", "warning": ":hourglass:"}.get(
        severity, ":information_source:")
