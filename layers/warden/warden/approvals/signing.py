"""Slack request signing, version v0: is this request Slack's, and is it fresh? Pure: no clock, no I/O.

Slack signs every interactivity request with the app's signing secret: `X-Slack-Signature` is
`v0=` + hex HMAC-SHA256(secret, `v0:{X-Slack-Request-Timestamp}:{raw body}`). The check runs on the raw
bytes before anything is parsed (a parser never sees a forged body), compares in constant time
(`hmac.compare_digest`), and refuses a timestamp more than five minutes from now either way, so a request
captured once cannot be sent again later. Within those five minutes a replay carries the same signature:
the caller refuses it by remembering each signature it accepted (warden.approvals.chat_store.SeenRequests,
a conditional put with a TTL), which makes the pair (this check, that memory) hold under any redelivery.
The deprecated verification token in Slack's payloads is never looked at.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

VERSION = "v0"
MAX_AGE_SECONDS = 5 * 60
TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"


class Refused(Exception):
    """A request that is not verifiably Slack's, or not fresh: `code` for metrics, the message for logs."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The signature Slack sends for `body` at `timestamp` (also what the local fake Slack signs with)."""
    base = f"{VERSION}:{timestamp}:".encode() + body
    return f"{VERSION}=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (function URLs lower-case them; other front doors may not)."""
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float) -> tuple[str, str]:
    """(timestamp, signature) of a request Slack signed within five minutes of `now` (epoch seconds);
    Refused otherwise, saying why. Nothing of the body is read beyond hashing it."""
    if not secret:
        raise Refused("no_secret", "no signing secret is configured: every request is refused")
    timestamp, signature = header(headers, TIMESTAMP_HEADER), header(headers, SIGNATURE_HEADER)
    if not timestamp or not signature:
        raise Refused("unsigned", "the request carries no X-Slack-Request-Timestamp or X-Slack-Signature")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise Refused("bad_timestamp", "X-Slack-Request-Timestamp is not a Unix time")
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        raise Refused("stale", f"the request was signed {int(now) - int(timestamp)} s from now, "
                               f"beyond {MAX_AGE_SECONDS} s")
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), signature.encode()):
        raise Refused("bad_signature", "X-Slack-Signature does not match the body signed with the signing secret")
    return timestamp, signature
