"""`warden demo --show slack|email|pagerduty [--step N]`: what a channel receives, as its reader sees it.

Read from the replay document's observed effects, never re-rendered here: email is the `email` body of the
message Warden published with `MessageStructure=json` (observe.Bodies pairs it with the message the topic
delivered), Slack is the ChatTopic message in the Amazon Q Developer in chat applications custom
notification schema (title, description, next steps) and, with a Slack app, what the app posted or updated in
the approval's channel (its buttons as `[Approve] [Reject]`), PagerDuty is the Events API v2 event the local
PagerDuty server received. Step numbers are the timeline's (1-based, in replay order).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

from warden_local.timeline import audience, incident

CHAT_TOPIC = "ChatTopic"


class StepError(Exception):
    """A step number the story does not have."""


def _email(effect: dict[str, Any]) -> list[str] | None:
    if effect.get("kind") != "message" or effect.get("topic") == CHAT_TOPIC:
        return None
    bodies = effect.get("bodies") or {}
    body = bodies.get("email") or str(effect.get("body", ""))
    return [f"To: {audience(str(effect.get('topic')))} (email subscribers of {effect.get('topic')})",
            f"Subject: {effect.get('subject', '')}", "", *body.splitlines()]


_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!<>|~])")
_LINK = re.compile(r"<(?P<url>[^|>]+)\|(?P<text>[^>]+)>")


def _unescape(text: str) -> str:
    """Markdown as Slack shows it: escapes removed, entities decoded."""
    return html.unescape(_ESCAPED.sub(r"\1", text))


def _slack(effect: dict[str, Any]) -> list[str] | None:
    if effect.get("kind") == "call" and str(effect.get("api", "")).startswith("slack:Chat"):
        return _slack_app(effect)
    if effect.get("kind") != "message" or effect.get("topic") != CHAT_TOPIC:
        return None
    try:
        doc = json.loads(str(effect.get("body", "")))
    except ValueError:
        return ["(not a custom notification: shown as sent)", *str(effect.get("body", "")).splitlines()]
    content = doc.get("content") or {}
    description = str(content.get("description", "")).splitlines()
    lines = [f"Slack (via {CHAT_TOPIC}, Amazon Q Developer in chat applications)",
             _unescape(str(content.get("title", ""))), *map(_unescape, description)]
    links = [_LINK.sub(lambda m: f"{m['text']}: {m['url']}", str(s)) for s in content.get("nextSteps") or []]
    if links:
        lines += ["", "Next steps:", *(f"  {link}" for link in links)]
    thread = (doc.get("metadata") or {}).get("threadId")
    if thread:
        lines.append(f"(thread {thread})")
    return lines


def _slack_app(effect: dict[str, Any]) -> list[str]:
    """A message of Warden's Slack app (an approval request, its thread, its update), as the channel shows it:
    its text, and its buttons as `[Approve] [Reject]`."""
    params = effect.get("params") or {}
    channel = f"#{params['channel_name']}" if params.get("channel_name") else str(params.get("channel", "?"))
    how = {"slack:ChatUpdate": "updated in place", "slack:ChatPostMessage": "in the thread"
           if params.get("thread_ts") else "posted"}.get(str(effect.get("api")), "")
    lines = [f"Slack (Warden's Slack app, {channel}, {how})", *_unescape(str(params.get("text", ""))).splitlines()]
    if params.get("buttons"):
        lines.append(" ".join(f"[{label}]" for label in params["buttons"]))
    return lines


def _pagerduty(effect: dict[str, Any]) -> list[str] | None:
    if effect.get("kind") != "page":
        return None
    lines = [f"PagerDuty Events API v2: {effect.get('action')} {incident(str(effect.get('dedup_key', '')))}",
             f"dedup_key: {effect.get('dedup_key')}"]
    for name in ("severity", "summary", "component", "group", "class"):
        if effect.get(name):
            lines.append(f"{name}: {effect[name]}")
    details = effect.get("custom_details") or {}
    if details:
        lines += ["custom details:", *(f"  {k}: {v}" for k, v in details.items())]
    links = effect.get("links") or []
    if links:
        lines += ["links:", *(f"  {link.get('text', '')}: {link.get('href')}" for link in links)]
    return lines


CHANNELS: dict[str, Callable[[dict[str, Any]], list[str] | None]] = {
    "email": _email, "slack": _slack, "pagerduty": _pagerduty,
}


def show(doc: dict[str, Any], channel: str, step: int | None = None) -> str:
    steps = doc["steps"]
    if step is not None and not 1 <= step <= len(steps):
        raise StepError(f"--step {step}: the story has steps 1 to {len(steps)} (the numbers of its timeline)")
    render = CHANNELS[channel]
    chosen = [step] if step is not None else range(1, len(steps) + 1)
    out: list[str] = []
    for number in chosen:
        s = steps[number - 1]
        views = [v for e in s.get("effects") or [] if (v := render(e))]
        if not views and step is None:
            continue
        out.append(f"── step {number}  {s.get('at')}  {s.get('what') or s.get('input')} ──")
        if not views:
            out.append(f"nothing reaches {channel} at this step")
        for n, view in enumerate(views):
            out += ([""] if n else []) + view
        out.append("")
    return "\n".join(out).rstrip() + "\n" if out else f"nothing reaches {channel} in this story\n"
