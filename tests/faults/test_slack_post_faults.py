"""An approval request's Slack post survives Slack failing (issue 23): it is owed until posted, the sweep
posts it, exactly once when Slack's answer can be reconciled, and reminders thread under it once it exists.

Given payments-api waiting at Approve/ProdGate on a stack with a Slack app (the fake Slack Web API on
127.0.0.1), When Slack is down, rate-limits, or acts on the post and loses its answer, Then the channel ends
with the request posted once (or, when the channel cannot be read back, at least once, said in the log), and
the 4 h reminder in its thread.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.integration.approvals.slack_story import CHANNEL, Story, approval_started, started
from warden.core import clock
from warden_local.replay import Step

ASKED = "2026-11-27T09:06:49Z"


@pytest.fixture
def story(tmp_path):
    s = Story(tmp_path, steps=[{"event": started()}])
    yield s
    s.close()


def _at(moment: str, minutes: float = 0):
    return clock.parse_iso(moment) + timedelta(minutes=minutes)


def ask(story) -> dict:
    """The approval's action STARTED: ApprovalTracker announces it and posts the request."""
    event = approval_started(ASKED)
    return story.replayer.step(Step("event", clock.parse_iso(event["time"]), event=event, inline=True))


def sweep(story, at) -> dict:
    story.world.set_time(at)
    outcome = story.world.invoke("ApprovalEscalator", {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "111122223333", "time": clock.iso(at), "region": "us-east-1", "resources": [], "detail": {}})
    assert outcome.error is None, outcome.error
    return outcome.result


def requests(story) -> list[dict]:
    """The approval requests in the channel (messages with buttons, not thread replies)."""
    return [m for m in story.slack.channel(CHANNEL) if not m.get("thread_ts")]


def approval(story) -> dict:
    [item] = [i for i in story.world.table_items("StateTable") if i["pk"].startswith("approval#")]
    return item


def post_attempts(story) -> int:
    """Warden's attempts at posting the request (those an outage refused included)."""
    return sum(1 for c in story.slack.calls if c["method"] == "chat.postMessage" and not c["params"].get("thread_ts"))


def assert_posted_once_and_reminded_in_its_thread(story):
    [request] = requests(story)
    item = approval(story)
    assert item["slack_ts"] == request["ts"] and item["slack_channel"] == CHANNEL
    assert not any(k.startswith("slack_post") or k == "slack_owed" for k in item), item  # the debt is paid
    sweep(story, _at(ASKED, 4 * 60 + 5))  # the 4 h reminder
    replies = [m for m in story.slack.channel(CHANNEL) if m.get("thread_ts")]
    assert [m["thread_ts"] for m in replies] == [request["ts"]], replies
    assert len(requests(story)) == 1


def test_slack_down_when_the_request_is_asked_the_sweep_posts_it_once_it_is_back(story):
    # Given Slack answers 503 to every call for the first 12 minutes
    story.slack.outage(status=503, until=_at(ASKED, 12))
    # When the approval is asked, and the sweeps run while Slack is down and after
    told = ask(story)
    assert [e["topic"] for e in told["effects"] if e["kind"] == "message"] == ["ApproversTopic", "ChatTopic"]
    assert requests(story) == [] and approval(story)["slack_owed"] == CHANNEL  # owed, with the SNS told anyway
    sweep(story, _at(ASKED, 5))
    assert requests(story) == [] and approval(story)["slack_post_error"] == "http_503"
    result = sweep(story, _at(ASKED, 15))
    # Then the sweep after the outage posts it, once, and the reminder threads under it
    assert result["posted"] == [approval(story)["sk"]]
    assert '"SlackPostFailures"' in story.world.logs.getvalue()
    assert_posted_once_and_reminded_in_its_thread(story)


def test_a_429_is_not_retried_before_its_retry_after_and_the_sweep_posts_it(story):
    # Given Slack rate-limits chat.postMessage for 2 minutes and says so (Retry-After: 120)
    story.slack.outage("chat.postMessage", status=429, retry_after=120, until=_at(ASKED, 2))
    # When the approval is asked
    ask(story)
    # Then Warden asked once and waited as told: no second attempt within the 2 minutes
    assert post_attempts(story) == 1 and [c.get("refused") for c in story.slack.calls] == [429]
    assert approval(story)["slack_post_not_before"] == clock.iso(_at(ASKED, 2))
    # and the next sweep posts it
    sweep(story, _at(ASKED, 5))
    assert post_attempts(story) == 2
    assert_posted_once_and_reminded_in_its_thread(story)


@pytest.mark.parametrize("drop", [False, True], ids=["answered-500", "connection-dropped"])
def test_a_post_whose_answer_was_lost_is_found_in_the_channel_not_posted_twice(story, drop):
    # Given Slack posts the request and its answer is lost (a 500, or the connection closes)
    story.slack.outage("chat.postMessage", status=500, times=1, lost=True, drop=drop)
    # When the approval is asked, and the next sweep finds the post still owed
    ask(story)
    assert len(requests(story)) == 1 and "slack_ts" not in approval(story)  # posted, but Warden does not know
    sweep(story, _at(ASKED, 5))
    # Then the sweep read the channel, recorded the message it found, and posted nothing more
    assert [c["params"]["channel"] for c in story.slack.calls if c["method"] == "conversations.history"] == [CHANNEL]
    assert post_attempts(story) == 1
    assert_posted_once_and_reminded_in_its_thread(story)


def test_a_click_on_a_request_whose_answer_was_lost_records_it(story):
    # Given the request was posted and its answer lost
    story.slack.outage("chat.postMessage", status=500, times=1, lost=True)
    ask(story)
    # When someone clicks its button (Slack's signed request names the message)
    status, _ = story.click("U0EVE")  # not an approver: refused, but the message is Warden's
    assert status == 200
    # Then Warden knows the message: the sweep posts nothing more and the reminder threads under it
    sweep(story, _at(ASKED, 5))
    assert post_attempts(story) == 1 and not [c for c in story.slack.calls if c["method"] == "conversations.history"]
    assert_posted_once_and_reminded_in_its_thread(story)


def test_when_the_channel_cannot_be_read_back_the_request_is_posted_again_and_said(story):
    # Given the post's answer is lost, and the app may not read the channel (no channels:history scope)
    story.slack.outage("chat.postMessage", status=500, times=1, lost=True, drop=True)
    story.slack.history_error = "missing_scope"
    ask(story)
    # When the sweep finds it owed
    sweep(story, _at(ASKED, 5))
    # Then it is posted again (at least once rather than never), with a warning and a metric saying so
    assert len(requests(story)) == 2 and approval(story)["slack_ts"] == requests(story)[-1]["ts"]
    logs = story.world.logs.getvalue()
    assert "posting it again, so the channel may show it twice" in logs and '"SlackPostsUnreconciled"' in logs


def test_an_attempt_under_way_is_left_alone_and_one_whose_sweep_died_is_taken_over(story):
    from warden.approvals.chat_store import ChatDecisions
    from warden.approvals.store import key_of

    # Given the request is owed (Slack was down when it was asked)
    story.slack.outage(status=503, times=1)
    ask(story)
    assert requests(story) == []
    # When another sweep holds the post's claim (its attempt under way), and this sweep runs
    decisions = ChatDecisions(story.world.client("dynamodb"), story.world.physical["StateTable"]["TableName"])
    story.world.set_time(_at(ASKED, 5))
    assert decisions.claim_post(key_of(approval(story)), CHANNEL, "the-other-sweep") is not None
    result = sweep(story, _at(ASKED, 5))
    # Then this sweep posts nothing: two sweeps never post at once
    assert result["posted"] == [] and post_attempts(story) == 1  # the refused one, when it was asked
    # When the other sweep died holding it, Then a sweep after its claim went stale posts it, once
    result = sweep(story, _at(ASKED, 11))
    assert result["posted"] == [approval(story)["sk"]]
    assert_posted_once_and_reminded_in_its_thread(story)


def test_redeliveries_of_the_request_while_slack_is_down_leave_one_debt_and_one_post(story):
    # Given Slack is down while the approval's inputs are delivered, and delivered again
    story.slack.outage(status=503, until=_at(ASKED, 12))
    ask(story)
    ask(story)
    assert post_attempts(story) == 1 and requests(story) == []  # the redelivery attempted nothing
    # When the sweeps run during the outage and after it
    for minutes in (5, 10, 15, 20):
        sweep(story, _at(ASKED, minutes))
    # Then each attempt waited for Slack (the channel read, unanswered, is not posted past), and it was posted once
    assert "posting it again" not in story.world.logs.getvalue()
    assert_posted_once_and_reminded_in_its_thread(story)
