"""Readable messages: one SNS publish per audience, with a body per protocol.

SNS `MessageStructure=json` lets email get the full story, SMS a line, and everything else
(SQS, HTTPS, Lambda) a plain `default`. The chat topic gets the Amazon Q Developer in chat
applications custom notification schema instead, threaded per pipeline execution.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

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
}
LINK_LABELS = {"execution": "Execution", "review": "Review", "logs": "Logs", "commit": "Commit link",
               "runbook": "Runbook"}
SUBJECT_LIMIT = 100  # SNS rejects longer subjects
SMS_LIMIT = 140
FACT_LIMIT = 600  # one field must not push a message past SNS's 256 KB


@dataclass(frozen=True)
class Rendered:
    subject: str
    message: str  # the JSON document for MessageStructure=json
    attributes: dict[str, dict[str, str]]


def title(notice: Notice) -> str:
    template = TITLES.get(notice.event, "{name}: " + notice.event)
    return template.format(name=notice.subject_name or "pipeline", stage=notice.stage or "?",
                           action=notice.action or "?", deployment=notice.deployment_id or "?")


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
        ("Alarm", notice.alarm), ("Alarm reason", notice.alarm_reason), ("Rolled back to", notice.rollback_target),
        ("Skipped because", notice.skipped_because), ("Would have", notice.would_have),
        ("Bucket", notice.bucket), ("Used by", ", ".join(notice.pipelines) or None),
        *(("Finding", finding) for finding in notice.findings),
        ("Account", f"{notice.account} ({notice.region})"),
    ]
    return [(label, _clip(str(value))) for label, value in rows if value]


def _clip(text: str) -> str:
    return text if len(text) <= FACT_LIMIT else text[: FACT_LIMIT - 1] + "…"


def all_links(notice: Notice, decision: Decision) -> dict[str, str]:
    found = dict(notice.links)
    if decision.runbook:
        found["runbook"] = decision.runbook
    return found


def _subject(notice: Notice, decision: Decision) -> str:
    text = f"[{decision.severity.upper()}] {title(notice)}"
    if notice.short_commit:
        text += f" ({notice.short_commit})"
    text = " ".join(text.split())  # SNS subjects must be one line
    return text if len(text) <= SUBJECT_LIMIT else text[: SUBJECT_LIMIT - 1] + "…"


def render(notice: Notice, decision: Decision) -> Rendered:
    subject = _subject(notice, decision)
    found = all_links(notice, decision)
    lines = [f"{label}: {value}" for label, value in facts(notice)]
    link_lines = [f"{LINK_LABELS.get(k, k.title())}: {v}" for k, v in found.items()]
    default = "\n".join([subject, "", *lines, *link_lines])
    email = "\n".join([
        title(notice), "", f"Severity: {decision.severity}", f"Event: {notice.event}", *lines, "",
        *link_lines, "", f"Routed by rule: {decision.rule}. Sent by Pipeline Warden.",
    ])
    sms = " ".join(filter(None, [f"[{decision.severity.upper()}]", title(notice), notice.short_commit]))
    body = {"default": default, "email": email, "sms": sms[:SMS_LIMIT]}
    return Rendered(subject=subject, message=json.dumps(body), attributes=attributes(notice, decision))


def attributes(notice: Notice, decision: Decision) -> dict[str, dict[str, str]]:
    """SNS message attributes that subscription filter policies can match on."""
    values = {"severity": decision.severity, "event": notice.event, "pipeline": notice.subject_name,
              "account": notice.account, "stage": notice.stage or notice.deployment_group}
    return {k: {"DataType": "String", "StringValue": v} for k, v in values.items() if v}


def render_chat(notice: Notice, decision: Decision) -> Rendered:
    """Amazon Q Developer in chat applications custom notification (version 1.0)."""
    found = all_links(notice, decision)
    description = "\n".join(f"*{label}:* {value}" for label, value in facts(notice))
    next_steps = [f"<{url}|{LINK_LABELS.get(k, k.title())}>" for k, url in found.items()]
    thread = notice.execution_id or notice.deployment_id or notice.event_id
    payload = {
        "version": "1.0",
        "source": "custom",
        "id": notice.event_id,
        "content": {
            "textType": "client-markdown",
            "title": f"{_icon(decision.severity)} {title(notice)}",
            "description": description,
            "nextSteps": next_steps,
            "keywords": [k for k in (decision.severity, notice.event, notice.subject_name, notice.stage) if k],
        },
        "metadata": {
            "threadId": f"{notice.subject_name}:{thread}",
            "summary": title(notice),
            "eventType": notice.event,
            "relatedResources": list(found.values()),
            "additionalContext": {"severity": decision.severity, "account": notice.account},
        },
    }
    return Rendered(subject=_subject(notice, decision), message=json.dumps(payload),
                    attributes=attributes(notice, decision))


def _icon(severity: str) -> str:
    return {"critical": ":rotating_light:", "high": ":warning:", "warning": ":hourglass:"}.get(
        severity, ":information_source:")
