"""A Slack Web API on 127.0.0.1: a real HTTP server that answers like Slack and records what it is asked.

It knows the workspace's people (`users`) and user groups (`groups`), checks the bot token on every call
(`invalid_auth` otherwise, as Slack does), and records chat.postMessage, chat.update, views.open,
users.info and usergroups.users.list with their parameters. Messages keep their `ts` and are updated in
place, so a test reads a channel as everyone in it sees it. `click` and `submit` build interactivity
requests exactly as Slack sends them to an app's Request URL: form-encoded `payload=<json>`, signed with the
app's signing secret (v0), so the gateway is exercised over real HTTP with what Slack would send.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import uuid
from typing import Any

from warden.approvals.signing import sign
from warden_local.http_server import LocalHttpServer, json_answer

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
        self._lock = threading.Lock()
        self._ts = 0
        # Slack answers 200 with ok: false for its refusals
        self._http = LocalHttpServer(lambda method, path, headers, body: json_answer(
            200, self._answer(path.strip("/").removeprefix("api/"), headers, body)))

    @property
    def url(self) -> str:
        return self._http.base_url() + "/api"

    def start(self) -> SlackServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    # -- what was asked ---------------------------------------------------------------------------------
    def called(self, method: str) -> list[dict[str, Any]]:
        return [c["params"] for c in self.calls if c["method"] == method]

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
        ts = f"{int(time.time())}.{self._ts:06d}"
        message = {"ts": ts, "text": params.get("text"), "blocks": params.get("blocks") or [],
                   "thread_ts": params.get("thread_ts")}
        self.messages[(params["channel"], ts)] = message
        return {"ok": True, "channel": params["channel"], "ts": ts, "message": message}

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
                "api_app_id": "A0WARDEN", "team": TEAM, "trigger_id": f"{uuid.uuid4().int % 10**12}.1.abc",
                "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
                "channel": {"id": channel, "name": self.channels.get(channel, channel.lower())},
                "message": {"type": "message", "ts": ts, "text": message["text"], "blocks": message["blocks"]},
                "response_url": "https://hooks.slack.com/actions/T0WARDEN/1/local",
                "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "warden-decision",
                             "value": button["value"], "text": button["text"],
                             "action_ts": f"{time.time():.6f}"}]}

    def submit(self, user_id: str, reason: str | None = None, *, view: dict[str, Any] | None = None) -> dict[str, Any]:
        """The view_submission payload of the last modal opened (or `view`), with the reason typed."""
        opened = view or self.called("views.open")[-1]["view"]
        user = self.users.get(user_id, {"id": user_id, "name": user_id})
        return {"type": "view_submission", "token": "verification-token-never-read", "team": TEAM,
                "user": {"id": user_id, "username": user.get("name"), "name": user.get("name"),
                         "team_id": TEAM["id"]},
                "api_app_id": "A0WARDEN", "trigger_id": f"{uuid.uuid4().int % 10**12}.2.def",
                "view": {"id": "V0LOCAL", "type": "modal", "callback_id": opened.get("callback_id"),
                         "private_metadata": opened.get("private_metadata", ""), "title": opened.get("title"),
                         "blocks": opened.get("blocks"), "hash": "1.local",
                         "state": {"values": {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}}}}
