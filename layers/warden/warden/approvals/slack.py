"""The Slack Web API, as much of it as approving from chat needs, and the app's secret.

The bot token and the signing secret live in one Secrets Manager secret (`SlackSecretArn`:
`{"bot_token": "xoxb-…", "signing_secret": "…"}`), read once per container on first use and never logged,
never put in a message, a result or a dead letter. Calls are plain HTTPS POSTs (urllib, no SDK to pay for
at cold start) to `SLACK_API_URL` (Slack's, or a fake on 127.0.0.1 in tests). Slack answers 200 with
`{"ok": false, "error": "…"}` when it refuses: that is raised as SlackError carrying Slack's error code only.
A 429 is retried once when Slack's Retry-After is at most a second (an interactivity request has 3 s);
a longer one is raised with `retry_after`, never retried sooner than Slack asked. A 5xx is retried once,
except where a repeat could act twice (`retry_ambiguous=False`: an approval request's chat.postMessage,
which warden.approvals.posting retries itself after checking the channel). A SlackError says whether Slack
may have acted (`ambiguous`: a 5xx, a timeout, a dropped connection) or surely did not (a refusal, a 429).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from warden.core.aged import Aged

SLACK_API_URL = "https://slack.com/api"
JSON_METHODS = frozenset({"chat.postMessage", "chat.update", "views.open"})
RETRY_AFTER_CAP = 1.0  # seconds a call may wait for Slack's Retry-After before it is retried in place
SECRET_SECONDS = 300  # a rotated bot token or signing secret is picked up within five minutes (Warden's clock)


class SlackError(Exception):
    """Slack refused a call or could not be reached; `code` is Slack's error (`user_not_found`, ...)."""

    def __init__(self, method: str, code: str, *, ambiguous: bool = False, retry_after: float | None = None) -> None:
        super().__init__(f"Slack {method}: {code}")
        self.method = method
        self.code = code
        self.ambiguous = ambiguous  # Slack may have acted (its answer did not arrive)
        self.retry_after = retry_after  # seconds Slack asked to wait (a 429's Retry-After)


class SlackSecret:
    """`{"bot_token", "signing_secret"}` from Secrets Manager (`fetch()` returns the GetSecretValue answer), kept
    for SECRET_SECONDS of Warden's clock (a rotated signing secret is picked up), and only when it holds both:
    a secret fixed after it was found incomplete is read again by the very next request."""

    def __init__(self, fetch: Callable[[], dict[str, Any]], *, max_age: float = SECRET_SECONDS) -> None:
        self._value = Aged(lambda: _parse(fetch), max_age,
                           keep=lambda value: bool(value.get("bot_token") and value.get("signing_secret")))

    @property
    def bot_token(self) -> str:
        return self._value().get("bot_token", "")

    @property
    def signing_secret(self) -> str:
        return self._value().get("signing_secret", "")


def _parse(fetch: Callable[[], dict[str, Any]]) -> dict[str, str]:
    try:
        value = json.loads(fetch()["SecretString"])
    except (KeyError, TypeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise SlackError("secret", "the Slack secret is not JSON with bot_token and signing_secret")
    return {k: str(v) for k, v in value.items() if k in ("bot_token", "signing_secret") and v}


class SlackApi:
    def __init__(self, base_url: str, token: Callable[[], str], *, timeout: float = 2.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = timeout
        self._sleep = sleep

    def call(self, method: str, *, retry_ambiguous: bool = True, **params: Any) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token()}"}
        if method in JSON_METHODS:
            body = json.dumps(params).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        else:
            body = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (0, 1):
            request = urllib.request.Request(f"{self._base}/{method}", data=body, method="POST", headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 (configured URL)
                    answer = json.loads(response.read() or b"{}")
                break
            except urllib.error.HTTPError as exc:
                wait = _retry_after(exc.headers.get("Retry-After")) if exc.code == 429 else None
                server = exc.code in (500, 502, 503, 504)
                again = (exc.code == 429 and (wait or 0) <= RETRY_AFTER_CAP) or (server and retry_ambiguous)
                if attempt or not again:
                    raise SlackError(method, f"http_{exc.code}", ambiguous=server, retry_after=wait) from None
                self._sleep(min(wait if wait is not None else 1.0, RETRY_AFTER_CAP))
            except (urllib.error.URLError, TimeoutError, ConnectionError, ValueError) as exc:
                # Sent, perhaps: a timeout or a dropped connection may follow Slack acting on the request.
                raise SlackError(method, f"unreachable: {type(exc).__name__}", ambiguous=True) from None
        if not answer.get("ok"):
            raise SlackError(method, str(answer.get("error") or "not_ok")[:100])
        return answer

    # -- the methods used ---------------------------------------------------------------------------
    def user(self, user_id: str) -> dict[str, Any]:
        """users.info (scopes users:read, users:read.email)."""
        return self.call("users.info", user=user_id)["user"]

    def group_members(self, group_id: str) -> list[str]:
        """usergroups.users.list (scope usergroups:read)."""
        return list(self.call("usergroups.users.list", usergroup=group_id).get("users") or [])

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> dict[str, Any]:
        return self.call("views.open", trigger_id=trigger_id, view=view)

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]], thread_ts: str | None = None, *,
             metadata: dict[str, Any] | None = None, retry_ambiguous: bool = True) -> dict[str, Any]:
        """chat.postMessage; `metadata`: Slack's message metadata (`event_type`, `event_payload`), by which a
        post whose answer was lost is found again (`history`)."""
        params: dict[str, Any] = {"channel": channel, "text": text, "blocks": blocks}
        if thread_ts:
            params["thread_ts"] = thread_ts
        if metadata:
            params["metadata"] = metadata
        return self.call("chat.postMessage", retry_ambiguous=retry_ambiguous, **params)

    def history(self, channel: str, oldest: str, *, pages: int = 5) -> list[dict[str, Any]]:
        """The channel's messages since `oldest` (a ts), newest first, with their metadata
        (conversations.history; scopes channels:history, groups:history for a private channel)."""
        found: list[dict[str, Any]] = []
        cursor = None
        for _ in range(pages):
            answer = self.call("conversations.history", channel=channel, oldest=oldest, limit=200,
                               include_all_metadata="true", cursor=cursor)
            found += list(answer.get("messages") or [])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not (answer.get("has_more") and cursor):
                break
        return found

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
        return self.call("chat.update", channel=channel, ts=ts, text=text, blocks=blocks)


def _retry_after(value: Any) -> float:
    """Slack's Retry-After (seconds); 1 when absent or unreadable."""
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        return 1.0
