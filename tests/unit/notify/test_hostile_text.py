"""Everything taken from an event is data (issue 12, item 3): a hostile corpus through every channel.

Each hostile string is put in every free-text field a notice carries (commit message, author, error,
approval note, comment, repository name); the rendered SNS bodies (default, email, sms), the subject
and attributes, the Amazon Q / Slack client-markdown notification and the PagerDuty event must show it
as inert text: no markup that acts, no forged lines, no control or direction characters, every field
within its documented length.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from tests.helpers import sample
from warden.core import links
from warden.core.text import LIMITS
from warden.models import parse_event
from warden.notify.notice import Notice, classify
from warden.notify.notifier import Notifier
from warden.notify.pagerduty import PagerDuty
from warden.notify.render import FACT_LIMITS, SMS_LIMIT, SUBJECT_LIMIT, facts, render, render_chat
from warden.notify.rules import Decision

HOSTILE = {
    "markdown link and mention": "[Rollback now](https://evil.example/run) <!channel>",
    "link text with a pipe": "evil/x|Approve here>",
    "slack link": "<https://evil.example/approve|Approve here>",
    "user and broadcast mentions": "<@U024BE7LH> @channel @here @everyone please approve",
    "forged line": "fix\nReview: https://evil.example/approve\rExecution: https://evil.example/x",
    "control characters": "ok\x1b[31mred\x07\x00\x08\x7f\x85end",
    "right-to-left override": "invoice\u202eexe.gnp\u202c and \u2067isolate\u2069 \u200fmark",
    "emphasis and code": "*bold* _it_ ~strike~ `code` > quote ```block```",
    "html": "<script>alert(1)</script><a href='https://evil.example'>x</a>",
    "10 KB": "A" * 10_240,
}
INVISIBLE = re.compile("[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
DECISION = Decision(("oncall", "chat"), "critical", runbook="https://runbooks.example.com/payments", rule="r")
EVIL_LOGS = "https://evil.example/logs|Approve here>"


def hostile_notice(text: str) -> Notice:
    return Notice(
        event="action.failed", event_id="e-1", time=datetime(2026, 11, 27, tzinfo=UTC), account="111122223333",
        region="us-east-1", state="FAILED", pipeline="payments-api", execution_id="exec-1", stage="Build",
        action="Compile", trigger="WebhookV2", commit="9b3e1f2a7c4d6e8f0a1b", commit_message=text, author=text,
        error=text, custom_data=text, comment=text, approver=text,
        links={"execution": links.execution("us-east-1", "payments-api", "exec-1"), "logs": EVIL_LOGS,
               "commit": "https://github.com/evil/x|Approve here>/commit/9b3e1f2"})


def assert_inert_plain(text: str, *, lines: int | None = None) -> None:
    assert not INVISIBLE.search(text.replace("\n", "")), repr(text[:200])
    assert "evil.example/approve\nReview" not in text
    if lines is not None:
        assert len(text.splitlines()) == lines, text[:2000]


@pytest.mark.parametrize("name", HOSTILE)
def test_plain_text_bodies_show_hostile_text_as_one_clipped_line_per_fact(name):
    text = HOSTILE[name]
    benign = json.loads(render(hostile_notice("benign"), DECISION).message)
    rendered = render(hostile_notice(text), DECISION)
    body = json.loads(rendered.message)
    for protocol in ("default", "email"):
        # The same number of lines as a benign notice: no fact can add a line ("Review: https://evil...").
        assert_inert_plain(body[protocol], lines=len(benign[protocol].splitlines()))
        assert not any(line.startswith("Review:") for line in body[protocol].splitlines())
        assert "evil" not in "".join(line for line in body[protocol].splitlines()
                                     if line.startswith(("Logs:", "Commit link:")))
    for label, value in facts(hostile_notice(text)):
        assert len(value) <= FACT_LIMITS[label], label
    assert len(body["sms"]) <= SMS_LIMIT and not INVISIBLE.search(body["sms"]) and "\n" not in body["sms"]
    assert len(rendered.subject) <= SUBJECT_LIMIT and rendered.subject.isascii() and rendered.subject.isprintable()
    for attribute in rendered.attributes.values():
        assert not INVISIBLE.search(attribute["StringValue"]) and len(attribute["StringValue"]) <= LIMITS["name"]
    assert len(rendered.message) < 16_000  # ten 10 KB fields cannot make a 100 KB message


@pytest.mark.parametrize("name", HOSTILE)
def test_chat_client_markdown_escapes_every_hostile_field(name):
    payload = json.loads(render_chat(hostile_notice(HOSTILE[name]), DECISION).message)
    content = payload["content"]
    description = content["description"]
    values = [re.fullmatch(r"\*([A-Z][a-z ]+):\* (.*)", line).group(2) for line in description.splitlines()]
    for text in (*values, content["title"].split(" ", 1)[1], *content["keywords"]):
        assert "<" not in text and ">" not in text  # no <!channel>, <@U1>, <url|text> or HTML
        assert not re.search(r"(?<!\\)[\[\]()|`*_~]", text), text[:300]  # every markdown character escaped
        assert not re.search(r"@(channel|here|everyone)", text, re.IGNORECASE)
        assert not INVISIBLE.search(text.replace("\n", ""))
    # One line per fact, as many as a benign notice has.
    benign = json.loads(render_chat(hostile_notice("benign"), DECISION).message)["content"]["description"]
    assert len(description.splitlines()) == len(benign.splitlines())
    # Links: only the validated ones, each `<https://...|Label>` with nothing that closes it early.
    assert content["nextSteps"] == [
        "<https://console.aws.amazon.com/codesuite/codepipeline/pipelines/payments-api/executions/exec-1/"
        "timeline?region=us-east-1|Execution>",
        "<https://runbooks.example.com/payments|Runbook>",
    ]
    assert all("evil" not in url for url in payload["metadata"]["relatedResources"])


class RecordingPagerDuty(PagerDuty):
    def __init__(self) -> None:
        super().__init__("https://events.pagerduty.invalid/v2/enqueue", lambda: "key")
        self.sent: list[dict] = []

    def send(self, event):
        self.sent.append(event)
        return {"status": "success"}


class NoConfig:
    def get(self, _kind):
        raise AssertionError("not asked")


@pytest.mark.parametrize("name", HOSTILE)
def test_pagerduty_event_shows_hostile_text_as_clipped_text_and_validated_links(name):
    pagerduty = RecordingPagerDuty()
    notifier = Notifier(publisher=None, config=NoConfig(), pagerduty=pagerduty)  # type: ignore[arg-type]
    assert notifier.page("k", hostile_notice(HOSTILE[name]), DECISION)
    [event] = pagerduty.sent
    payload = event["payload"]
    assert len(payload["summary"]) <= 1024 and not INVISIBLE.search(payload["summary"])
    assert "\n" not in payload["summary"]
    for label, value in payload["custom_details"].items():
        assert not INVISIBLE.search(value) and len(value) <= FACT_LIMITS.get(label, 600), label
    assert [link["text"] for link in event["links"]] == ["Execution", "Runbook"]
    assert all(re.fullmatch(r"https://[^\s<>|\"']+", link["href"]) for link in event["links"])


@pytest.mark.parametrize(("provider", "repository"), [
    ("GitHub", "evil/x|Approve here>"), ("GitHub", "evil/x) [Approve](https://evil.example"),
    ("GitHub", "../../evil.example/x"), ("GitLab", "a/b\n<!channel>"), ("CodeCommit", "repo?region=evil#"),
    ("Jenkins", "example-corp/payments-api"),
])
def test_commit_links_are_built_only_from_valid_parts(provider, repository):
    assert links.commit(provider, repository, "9b3e1f2a7c4d", "us-east-1") is None
    assert links.commit("GitHub", "example-corp/payments-api", "9b3e1f2a7c4d", "us-east-1") == (
        "https://github.com/example-corp/payments-api/commit/9b3e1f2a7c4d")
    assert links.commit("GitHub", "example-corp/payments-api", "not-a-sha|x>", "us-east-1") is None


def test_a_hostile_commit_in_a_real_event_reaches_chat_as_text():
    """The issue's own example: the message and the repository from a V2 git-push STARTED event."""
    event = sample("codepipeline/pipeline-started-v2-git-push.json")
    event["detail"]["execution-trigger"].update({
        "commit-message": "[Rollback now](https://evil.example/run) <!channel>",
        "full-repository-name": "evil/x|Approve here>"})
    notice = classify(parse_event(event))
    assert "commit" not in notice.links  # the repository does not fit GitHub's owner/name
    payload = json.loads(render_chat(notice, Decision(("chat",), "info")).message)
    description = payload["content"]["description"]
    assert "\\[Rollback now\\]\\(https\\[:\\]//evil\\[.\\]example/run\\) &lt;!channel&gt;" in description
    assert all("evil" not in step for step in payload["content"]["nextSteps"])


def test_unsafe_links_are_dropped_and_markdown_characters_in_safe_ones_are_encoded():
    for url in ("http://example.com/x", "javascript:alert(1)", "https://a.example/x|y>", "https://a b.example",
                "https://user:pw@a.example/", "https://a.example/\u202e", "https://" + "a" * 3000 + ".example",
                "https://evil.example/x\n", "//evil.example/x"):
        assert links.safe(url) is None, url
    assert links.safe("https://console.aws.amazon.com/x(1)[2]") == "https://console.aws.amazon.com/x%281%29%5B2%5D"
