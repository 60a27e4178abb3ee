"""Readable messages: per-protocol bodies, attributes, and the chat notification schema."""

import json
from datetime import UTC, datetime

from warden.notify.notice import Notice
from warden.notify.render import FACT_LIMIT, SMS_LIMIT, SUBJECT_LIMIT, render, render_chat
from warden.notify.rules import Decision


def notice(**overrides):
    base = dict(event="action.failed", event_id="e-1", time=datetime(2026, 11, 27, tzinfo=UTC),
                account="111122223333", region="us-east-1", state="FAILED", pipeline="payments-api",
                execution_id="exec-1", stage="Build", action="Compile", trigger="WebhookV2",
                commit="9b3e1f2a7c4d6e8f0a1b", commit_message="Round totals\n\nLong body", author="Ana Souza",
                error="3 unit tests failed", duration="4m 05s",
                links={"execution": "https://console.aws.amazon.com/x",
                       "logs": "https://us-east-1.console.aws.amazon.com/cloudwatch/y", "commit": "https://git/c"})
    base.update(overrides)
    return Notice(**base)


DECISION = Decision(("oncall",), "critical", runbook="https://runbooks/payments", rule="payments")


def test_structured_bodies_for_each_protocol():
    rendered = render(notice(), DECISION)
    body = json.loads(rendered.message)
    assert set(body) == {"default", "email", "sms"}
    assert rendered.subject == "[CRITICAL] payments-api: Build/Compile failed (9b3e1f2)"
    for text in (body["default"], body["email"]):
        for fact in ("Pipeline: payments-api", "Stage: Build", "Action: Compile", "Commit: 9b3e1f2 Round totals",
                     "Author: Ana Souza", "Error: 3 unit tests failed", "Logs: https://us-east-1.console.aws.amazon.com/cloudwatch/y",
                     "Runbook: https://runbooks/payments", "Execution: https://console.aws.amazon.com/x",
                     "Duration: 4m 05s", "Commit link: https://git/c"):
            assert fact in text
    assert "Long body" not in body["default"]  # only the commit's first line
    assert "Routed by rule: payments" in body["email"]
    assert len(body["sms"]) <= SMS_LIMIT and "9b3e1f2" in body["sms"]


def test_attributes_let_subscribers_filter():
    attrs = render(notice(), DECISION).attributes
    assert attrs["severity"] == {"DataType": "String", "StringValue": "critical"}
    assert attrs["event"]["StringValue"] == "action.failed"
    assert attrs["pipeline"]["StringValue"] == "payments-api"


def test_long_fields_are_clipped_and_subjects_fit_sns():
    rendered = render(notice(pipeline="p" * 300, error="x" * 300_000), DECISION)
    assert len(rendered.subject) <= SUBJECT_LIMIT and "\n" not in rendered.subject
    assert len(rendered.message) < 16 * FACT_LIMIT


def test_chat_follows_the_custom_notification_schema_and_threads_per_execution():
    payload = json.loads(render_chat(notice(), DECISION).message)
    assert payload["version"] == "1.0" and payload["source"] == "custom"
    content = payload["content"]
    assert "Build/Compile failed" in content["title"]
    assert "*Author:* Ana Souza" in content["description"]
    assert any("https://runbooks/payments" in step for step in content["nextSteps"])
    assert "critical" in content["keywords"]
    other = json.loads(render_chat(notice(event="pipeline.failed", event_id="e-2"), DECISION).message)
    assert payload["metadata"]["threadId"] == other["metadata"]["threadId"] == "payments-api:exec-1"
