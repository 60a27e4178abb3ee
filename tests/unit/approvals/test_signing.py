"""Slack request signing v0 (warden.approvals.signing) and the replay memory (chat_store.SeenRequests).

Given / When / Then, against the example Slack publishes ("Verifying requests from Slack"), so the base
string is known to be assembled as Slack assembles it, not only as this module agrees with itself."""

from __future__ import annotations

import pytest
from moto import mock_aws

from tests.unit.fakes import keyed_table
from warden.approvals.chat_store import SeenRequests
from warden.approvals.signing import Refused, sign, verify

# Slack's documented example.
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = "1531420618"
BODY = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
HEADERS = {"X-Slack-Request-Timestamp": TIMESTAMP, "X-Slack-Signature": SIGNATURE}
NOW = int(TIMESTAMP) + 10


def test_slacks_documented_example_signs_and_verifies():
    assert sign(SECRET, TIMESTAMP, BODY) == SIGNATURE
    assert verify(SECRET, HEADERS, BODY, now=NOW) == (TIMESTAMP, SIGNATURE)


def test_header_names_are_case_insensitive_as_function_urls_lower_case_them():
    lower = {k.lower(): v for k, v in HEADERS.items()}
    assert verify(SECRET, lower, BODY, now=NOW) == (TIMESTAMP, SIGNATURE)


@pytest.mark.parametrize(("headers", "body", "now", "code"), [
    (HEADERS, BODY + b"&approve=1", NOW, "bad_signature"),                      # a body changed after signing
    ({**HEADERS, "X-Slack-Signature": SIGNATURE[:-1] + "4"}, BODY, NOW, "bad_signature"),
    ({**HEADERS, "X-Slack-Signature": "v0=" + "é" * 64}, BODY, NOW, "bad_signature"),
    ({"X-Slack-Request-Timestamp": TIMESTAMP}, BODY, NOW, "unsigned"),
    ({"X-Slack-Signature": SIGNATURE}, BODY, NOW, "unsigned"),
    ({**HEADERS, "X-Slack-Request-Timestamp": "1531420618.5"}, BODY, NOW, "bad_timestamp"),
    (HEADERS, BODY, int(TIMESTAMP) + 301, "stale"),                               # older than five minutes
    (HEADERS, BODY, int(TIMESTAMP) - 301, "stale"),                               # from the future
])
def test_forged_and_stale_requests_are_refused_with_their_reason(headers, body, now, code):
    with pytest.raises(Refused) as refused:
        verify(SECRET, headers, body, now=now)
    assert refused.value.code == code


def test_another_secret_or_none_refuses_everything():
    with pytest.raises(Refused) as refused:
        verify("another-secret", HEADERS, BODY, now=NOW)
    assert refused.value.code == "bad_signature"
    with pytest.raises(Refused) as refused:
        verify("", HEADERS, BODY, now=NOW)
    assert refused.value.code == "no_secret"


def test_the_window_is_five_minutes_inclusive():
    assert verify(SECRET, HEADERS, BODY, now=int(TIMESTAMP) + 300)


@mock_aws
def test_a_replayed_request_is_seen_once():
    # Given a state table
    ddb = keyed_table("state")
    seen = SeenRequests(ddb, "state")
    # When the same signed request arrives twice, Then only the first is new
    assert seen.first(SIGNATURE, TIMESTAMP) is True
    assert seen.first(SIGNATURE, TIMESTAMP) is False
    # And another request is new; the memory keeps a TTL so it does not grow forever
    assert seen.first(sign(SECRET, TIMESTAMP, b"other"), TIMESTAMP) is True
    items = ddb.scan(TableName="state")["Items"]
    assert len(items) == 2 and all("expires_at" in i for i in items)
