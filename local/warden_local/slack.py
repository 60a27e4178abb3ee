"""A Slack Web API on 127.0.0.1: a real HTTP server that answers like Slack and records what it is asked.

It knows the workspace's people (`users`) and user groups (`groups`), checks the bot token on every call
(`invalid_auth` otherwise, as Slack does), and records chat.postMessage, chat.update, views.open,
users.info, usergroups.users.list and conversations.history with their parameters. Messages keep their `ts`
(the story's clock) and metadata and are updated in place, so a test reads a channel as everyone in it sees
it, and Warden can read it back (conversations.history, with `history_error` to refuse that). `outage` makes
Slack fail as it does: answer an HTTP status (a 5xx, a 429 with Retry-After) until a moment of the story or
for a number of calls, or act on a call and lose its answer (`lost`: a 500, or the connection dropped).
`click` and `submit` build interactivity requests exactly as Slack sends them to an app's Request URL:
form-encoded `payload=<json>`, signed with the app's signing secret (v0), so the gateway is exercised over
real HTTP with what Slack would send.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import uuid
from typing import Any

from warden.approvals.signing import sign
from warden.core import clock
from warden_local.http_server import DROP, LocalHttpServer, json_answer

BOT_TOKEN = "xoxb-local-0000-warden"
SIGNING_SECRET = "local-signing-secret-0000000000"
TEAM = {"id": "T0WARDEN", "domain": "warden-local"}


def person(user_id: str, name: str, email: str, **extra: Any) -> dict[str, Any]:
    """A users.info `user` as Slack returns it."""
    return {"id": user_id, "team_id": TEAM["id"], "name": name.lower().replace(" ", "."), "deleted": False,
            "real_name": name, "is_bot": False,
            "profile": {"real_name": name, "display_name": name, "email": email}} | extra


class SlackServer:
    def __init__(self, users: list[dict[str, Any]] | None = None, groups: dict[str, list[str]] | None = None,
                 token: str = BOT_TOKEN) -> None:
        self.users = {u["id"]: u for u in users or []}
        self.groups = dict(groups or {})
        self.channels: dict[str, str] = {}  # channel id -> its name (what a click's payload says)
        self.token = token
        self.calls: list[dict[str, Any]] = []  # {"method", "params"}
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message as posted/updated
        self.failures: dict[str, list[str]] = {}  # method -> errors to answer with, first to last
        self.outages: list[dict[str, Any]] = []  # see `outage`
        self.history_error: str | None = None  # conversations.history answers this error (e.g. missing_scope)
        self._lock = threading.Lock()
        self._ts = 0
        self._triggers = 0
        # Slack answers 200 with ok: false for its refusals; an outage answers an HTTP status instead
        self._http = LocalHttpServer(self._serve)

    @property
    def url(self) -> str:
        return self._http.base_url() + "/api"

    def start(self) -> SlackServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    # -- failing as Slack fails ----------------------------------------------------------------------------
    def outage(self, method: str | None = None, *, status: int = 503, until: Any = None, times: int | None = None,
               retry_after: int | None = None, lost: bool = False, drop: bool = False) -> None:
        """Calls of `method` (every method: None) fail: answered `status` (with `Retry-After` when given) until
        the story's clock reaches `until`, or for the next `times` calls. `lost`: the call is done (a message
        posted) and then its answer is a `status`, or with `drop` no answer at all (the connection closes)."""
        self.outages.append({"method": method, "status": status, "until": until, "times": times,
                             "retry_after": retry_after, "lost": lost, "drop": drop})

    def _outage(self, method: str) -> dict[str, Any] | None:
        with self._lock:
            for fault in self.outages:
                if fault["method"] not in (None, method):
                    continue
                if fault["until"] is not None and clock.now() < fault["until"]:
                    return fault
                if fault["times"]:
                    fault["times"] -= 1
                    return fault
        return None

    def _serve(self, verb: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        method = path.strip("/").removeprefix("api/")
        fault = self._outage(method)
        if fault is None:
            return json_answer(200, self._answer(method, headers, body))
        if fault["lost"]:
            self._answer(method, headers, body)  # Slack acted; its answer does not arrive
            if fault["drop"]:
                return DROP, {}, b""
        else:
            with self._lock:
                self.calls.append({"method": method, "params": {}, "refused": fault["status"]})
        extra = {"Retry-After": str(fault["retry_after"])} if fault["retry_after"] is not None else {}
        return fault["status"], {"Content-Type": "text/plain"} | extra, b"unavailable"

    # -- what was asked ---------------------------------------------------------------------------------
    def called(self, method: str) -> list[dict[str, Any]]:
        return [c["params"] for c in self.calls if c["method"] == method and "refused" not in c]

    def channel(self, channel: str) -> list[dict[str, Any]]:
        """The channel's messages as its members see them, oldest first (replies in threads included)."""
        return [m for (c, _), m in sorted(self.messages.items(), key=lambda kv: float(kv[0][1])) if c == channel]

    def _answer(self, method: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        try:
            params = json.loads(body or b"{}") if "json" in kind else {
                k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        except ValueError:
            return {"ok": False, "error": "invalid_json"}
        with self._lock:
            self.calls.append({"method": method, "params": params})
            if auth != f"Bearer {self.token}":
                return {"ok": False, "error": "invalid_auth"}
            if self.failures.get(method):
                return {"ok": False, "error": self.failures[method].pop(0)}
            return getattr(self, "_" + method.replace(".", "_"), self._unknown)(params)

    def _unknown(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": False, "error": "unknown_method"}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(params.get("user", ""))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = params.get("usergroup", "")
        if group not in self.groups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.groups[group])}

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("trigger_id") or not isinstance(params.get("view"), dict):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": params["view"] | {"id": f"V{uuid.uuid4().hex[:10].upper()}"}}

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 (Slack's method name)
        if not params.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        self._ts += 1
        ts = f"{int(clock.now().timestamp())}.{self._ts:06d}"  # the story's clock: a replay posts the same ts
        message = {"ts": ts, "text": params.get("text"), "blocks": params.get("blocks") or [],
                   "thread_ts": params.get("thread_ts"), "metadata": params.get("metadata")}
        self.messages[(params["channel"], ts)] = message
        return {"ok": True, "channel": params["channel"], "ts": ts, "message": message}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.history_error:
            return {"ok": False, "error": self.history_error}
        oldest = float(params.get("oldest") or 0)
        found = [m for (c, ts), m in self.messages.items() if c == params.get("channel") and float(ts) >= oldest
                 and not (m.get("thread_ts") and m["thread_ts"] != ts)]  # replies stay in their thread
        found.sort(key=lambda m: float(m["ts"]), reverse=True)
        metadata = str(params.get("include_all_metadata")).lower() == "true"
        return {"ok": True, "has_more": False, "messages": [
            {"type": "message", "bot_id": "B0WARDEN", **{k: v for k, v in m.items() if k != "metadata" or metadata}}
            for m in found]}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (params.get("channel", ""), params.get("ts", ""))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key] |= {"text": params.get("text"), "blocks": params.get("blocks") or []}
        return {"ok": True, "channel": key[0], "ts": key[1]}

    # -- what Slack sends the app --------------------------------------------------------------------------
    @staticmethod
    def signed(payload: dict[str, Any], *, secret: str = SIGNING_SECRET,
               timestamp: int | None = None) -> tuple[dict[str, str], bytes]:
        """(headers, body) of an interactivity request, as Slack sends it to the Request URL."""
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": sign(secret, ts, body)}, body

    def click(self, user_id: str, decision: str, channel: str, ts: str) -> dict[str, Any]:
        """The block_actions payload of a click on a message's Approve or Reject button."""
        message = self.messages[(channel, ts)]
        button = next(e for b in message["blocks"] if b.get("type") == "actions" for e in b["elements"]
                      if e["action_id"] == f"warden-{decision}")
        user = self.users.get(user_id, {"id": user_id, "name": user_id})
        return {"type": "block_actions", "token": "verification-token-never-read",
                "user": {"id": user_id, "username": user.get("name"), "name": user.get("name"),
                         "team_id": TEAM["id"]},
                "api_app_id": "A0WARDEN", "team": TEAM, "trigger_id": self._trigger("1.abc"),
                "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
                "channel": {"id": channel, "name": self.channels.get(channel, channel.lower())},
                "message": {"type": "message", "ts": ts, "text": message["text"], "blocks": message["blocks"]},
                "response_url": "https://hooks.slack.com/actions/T0WARDEN/1/local",
                "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "warden-decision",
                             "value": button["value"], "text": button["text"],
                             "action_ts": f"{clock.now().timestamp():.6f}"}]}

    def _trigger(self, tail: str) -> str:
        """A trigger id as Slack makes them, numbered here: the same clicks sign the same bytes in every run."""
        with self._lock:
            self._triggers += 1
            return f"{self._triggers:012d}.{tail}"

    def submit(self, user_id: str, reason: str | None = None, *, view: dict[str, Any] | None = None) -> dict[str, Any]:
        """The view_submission payload of the last modal opened (or `view`), with the reason typed."""
        opened = view or self.called("views.open")[-1]["view"]
        user = self.users.get(user_id, {"id": user_id, "name": user_id})
        return {"type": "view_submission", "token": "verification-token-never-read", "team": TEAM,
                "user": {"id": user_id, "username": user.get("name"), "name": user.get("name"),
                         "team_id": TEAM["id"]},
                "api_app_id": "A0WARDEN", "trigger_id": self._trigger("2.def"),
                "view": {"id": "V0LOCAL", "type": "modal", "callback_id": opened.get("callback_id"),
                         "private_metadata": opened.get("private_metadata", ""), "title": opened.get("title"),
                         "blocks": opened.get("blocks"), "hash": "1.local",
                         "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}}}}
