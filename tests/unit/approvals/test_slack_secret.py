"""The Slack app's secret as the gateway and the posting read it: aged on Warden's clock, and kept only whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from warden.approvals.slack import SECRET_SECONDS, SlackError, SlackSecret
from warden.core import clock

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def at():
    moment = [T0]
    clock.set_source(lambda: moment[0])
    yield moment
    clock.set_source(None)


class Stored:
    def __init__(self, value):
        self.value, self.reads = value, 0

    def __call__(self):
        self.reads += 1
        return {"SecretString": self.value if isinstance(self.value, str) else json.dumps(self.value)}


def test_a_secret_found_incomplete_is_read_again_by_the_next_request(at):
    """Before, the first answer was kept for the container's life: a signing secret added after the first
    request left every click refused until the container was recycled."""
    stored = Stored({"bot_token": "xoxb-1"})
    secret = SlackSecret(stored)
    assert secret.signing_secret == ""
    stored.value = {"bot_token": "xoxb-1", "signing_secret": "s3cr3t"}
    assert secret.signing_secret == "s3cr3t"
    assert secret.bot_token == "xoxb-1" and stored.reads == 2  # whole now: kept


def test_a_rotated_secret_is_picked_up_after_its_age_on_wardens_clock(at):
    stored = Stored({"bot_token": "xoxb-1", "signing_secret": "old"})
    secret = SlackSecret(stored)
    assert secret.signing_secret == "old"
    stored.value = {"bot_token": "xoxb-1", "signing_secret": "new"}
    at[0] = T0 + timedelta(seconds=SECRET_SECONDS - 1)
    assert secret.signing_secret == "old" and stored.reads == 1
    at[0] = T0 + timedelta(seconds=SECRET_SECONDS)
    assert secret.signing_secret == "new" and stored.reads == 2


def test_a_secret_that_is_not_json_is_refused_and_not_kept(at):
    stored = Stored("not json")
    secret = SlackSecret(stored)
    with pytest.raises(SlackError):
        _ = secret.bot_token
    stored.value = {"bot_token": "xoxb-2", "signing_secret": "s"}
    assert secret.bot_token == "xoxb-2"
