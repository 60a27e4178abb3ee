"""The edges hostile input found: unpadded years, invisible characters, lookalike console hosts, bare URLs in
chat, and one bad item in a sweep or a batch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from warden.core import links
from warden.core.clock import iso, parse_iso
from warden.core.errors import PermanentError, one_by_one
from warden.core.text import clean
from warden.models import InvalidEvent, parse_event
from warden.notify.render import defang, markdown
from warden.runtime.container import Container
from warden.runtime.settings import Settings


@pytest.mark.parametrize("moment", [datetime(1, 1, 1, tzinfo=UTC), datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC),
                                    datetime(2026, 11, 27, 9, 0, 5, tzinfo=UTC),
                                    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)])
def test_every_time_written_reads_back_the_same(moment):
    assert parse_iso(iso(moment)) == moment and len(iso(moment)) == 20


def test_the_year_one_is_written_zero_padded():
    assert iso(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00Z"


@pytest.mark.parametrize("hidden", ["\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\u2061", "\u2062",
                                    "\u2063", "\u2064", "\ufeff", "\U000e0000", "\U000e0041", "\U000e007f",
                                    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
                                    "\u2069"])
def test_zero_width_tag_and_direction_characters_are_removed(hidden):
    assert clean(f"ap{hidden}prove{hidden}") == "approve"
    assert clean(f"line one{hidden}\nline two", one_line=False) == "line one\nline two"


def test_visible_text_is_kept_as_written():
    assert clean("Ünïcödé 😀 日本語 <b>") == "Ünïcödé 😀 日本語 <b>"


@pytest.mark.parametrize("url", [
    "https://console.aws.amazon.com/codesuite/codebuild/projects/p/build/p:1/log?region=us-east-1",
    "https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2",
    "https://console.amazonaws.cn/codesuite/codepipeline/pipelines/p/view",
    "https://us-gov-west-1.console.amazonaws-us-gov.com/codesuite/codebuild/home",
])
def test_console_links_are_the_aws_consoles(url):
    assert links.console(url) == url


@pytest.mark.parametrize("url", [
    "https://evil.example/logs", "https://console.aws.amazon.com.evil.example/logs",
    "https://evilconsole.aws.amazon.com/x", "https://console.aws.amazon.co/x", "http://console.aws.amazon.com/x",
    "https://user@console.aws.amazon.com/x", "https://console.aws.amazon.com@evil.example/x",
    "https://xx.console.aws.amazon.com/x", None, 7,
])
def test_anything_else_is_no_console_link(url):
    assert links.console(url) is None


def test_bare_urls_in_chat_text_are_defanged_and_labelled_links_untouched():
    assert defang("see https://evil.example/p?x=1 or www.evil.example") == \
        "see https[:]//evil[.]example/p?x=1 or www[.]evil[.]example"
    shown = markdown("Approve at https://evil.example/approve now")
    assert "https://" not in shown and "evil.example" not in shown
    assert defang("fixed app.py and v1.2") == "fixed app.py and v1.2"  # prose stays as written


def test_an_invalid_region_is_invalid_input_naming_the_field():
    event = {"version": "0", "id": "e-1", "detail-type": "CodePipeline Pipeline Execution State Change",
             "source": "aws.codepipeline", "account": "111122223333", "time": "2026-11-27T09:00:00Z",
             "region": "%s%n", "resources": [],
             "detail": {"pipeline": "p", "execution-id": "x", "state": "STARTED"}}
    with pytest.raises(InvalidEvent, match=r"^invalid CodePipeline Pipeline Execution State Change: region"):
        parse_event(event)
    for region in ("us-east-1", "eu-central-2", "us-gov-west-1", "cn-north-1", "ap-southeast-5"):
        assert parse_event(event | {"region": region}).region == region


def test_an_approval_expiry_that_is_no_time_is_invalid_and_a_naive_one_is_utc():
    body = {"region": "us-east-1", "consoleLink": "", "approval": {
        "pipelineName": "p", "stageName": "s", "actionName": "a", "token": "t", "expires": "soon"}}
    with pytest.raises(InvalidEvent, match="approval.expires"):
        parse_event(body)
    body["approval"]["expires"] = "2026-12-04T09:06"
    assert parse_event(body).expires_at == datetime(2026, 12, 4, 9, 6, tzinfo=UTC)


def test_one_by_one_skips_a_bad_item_and_goes_on_but_raises_what_retrying_could_fix():
    seen, skipped = [], []

    def handle(item):
        if item == "bad":
            raise KeyError("since")
        if item == "throttled":
            raise ConnectionError("throttled")
        seen.append(item)

    assert one_by_one(["a", "bad", "b"], handle, lambda item, exc: skipped.append((item, repr(exc)))) == ["bad"]
    assert seen == ["a", "b"] and skipped == [("bad", "KeyError('since')")]
    with pytest.raises(ConnectionError):
        one_by_one(["throttled"], handle, lambda item, exc: None)
    with pytest.raises(KeyError):
        one_by_one(["bad"], handle, None)  # without a way to skip, nothing is skipped silently


class _Sqs:
    def __init__(self):
        self.sent = []

    def send_message(self, **message):
        self.sent.append(message)


class _Clients:
    def __init__(self):
        self.sqs = _Sqs()


def container():
    env = {"LEDGER_TABLE": "l", "STATE_TABLE": "s", "IDEMPOTENCY_TABLE": "i", "DEAD_LETTER_QUEUE_URL": "https://q"}
    return Container(clients=_Clients(), settings=Settings.from_env(env))


def test_each_delivery_is_handled_alone_and_a_permanent_failure_is_dead_lettered_with_its_payload():
    made = container()

    def refuse():
        raise PermanentError("no such thing")

    outcome = made.pipeline.each([({"n": 1}, lambda: "one"), ({"n": 2}, refuse), ({"n": 3}, lambda: "three")])
    assert outcome.results == ("one", "three") and outcome.dead_lettered is None
    assert outcome.rejected == ("PermanentError: no such thing",)
    [sent] = made.clients.sqs.sent
    assert sent["MessageBody"] == '{"n": 2}'
    assert sent["MessageAttributes"]["ErrorMessage"]["StringValue"] == "PermanentError: no such thing"


def test_a_transient_failure_is_raised_after_the_others_had_their_turn():
    made, done = container(), []

    def boom():
        raise ConnectionError("SNS unreachable")

    with pytest.raises(ConnectionError):
        made.pipeline.each([(1, boom), (2, lambda: done.append(2))])
    assert done == [2] and made.clients.sqs.sent == []


def test_a_dead_letter_too_big_for_sqs_is_cut_and_says_so():
    made = container()
    made.pipeline.dead_letter({"x": "y" * 400_000}, PermanentError("huge"))
    [sent] = made.clients.sqs.sent
    assert len(sent["MessageBody"]) < 256_000 and '"truncated": true' in sent["MessageBody"]


def test_an_account_that_is_not_12_digits_and_a_hook_without_a_deployment_are_invalid_input():
    event = {"version": "0", "id": "e-1", "detail-type": "CodeDeploy Deployment State-change Notification",
             "source": "aws.codedeploy", "account": "x" * 2048, "time": "2026-11-27T09:00:00Z",
             "region": "us-east-1", "resources": [],
             "detail": {"application": "a", "deploymentGroup": "g", "deploymentId": "d-1", "state": "FAILURE"}}
    with pytest.raises(InvalidEvent, match=r": account: String should match pattern"):
        parse_event(event)
    assert parse_event(event | {"account": 111122223333}).account == "111122223333"
    with pytest.raises(InvalidEvent, match="DeploymentId"):
        parse_event({"DeploymentId": "", "LifecycleEventHookExecutionId": "e30="})
