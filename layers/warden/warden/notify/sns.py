"""Publishing to the audience topics: exactly one SNS publish per audience.

A message over SNS's size limit would be refused on every retry: its bodies are clipped to fit first
(each protocol's body of a structured message, each field of a chat payload), so it always goes out.
"""

from __future__ import annotations

import json
from typing import Any

from warden.notify.render import Rendered


class Publisher:
    def __init__(self, sns: Any, topics: dict[str, str]) -> None:
        self._sns = sns
        self._topics = topics

    def has(self, audience: str) -> bool:
        return bool(self._topics.get(audience))

    def publish(self, audience: str, rendered: Rendered, *, structured: bool = True) -> str | None:
        """Publish to the audience's topic; an audience without a topic is skipped (returns None)."""
        topic = self._topics.get(audience)
        if not topic:
            return None
        params: dict[str, Any] = {
            "TopicArn": topic, "Subject": rendered.subject[:SUBJECT_LIMIT],
            "Message": fit(rendered.message, structured=structured),
            "MessageAttributes": rendered.attributes,
        }
        if structured:
            params["MessageStructure"] = "json"
        return self._sns.publish(**params)["MessageId"]


SNS_LIMIT = 256 * 1024  # bytes, message and attributes together
BUDGET = SNS_LIMIT - 8 * 1024  # room for the attributes and the JSON around the bodies
SUBJECT_LIMIT = 100


def _clip(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[: max(0, limit - 3)].decode(errors="ignore") + "…"


def fit(message: str, *, structured: bool) -> str:
    """`message` within SNS's limit: every text of a JSON message (the per-protocol bodies, the chat
    payload's fields) gets an equal share of the budget; anything else is clipped as text."""
    if len(message.encode()) <= BUDGET:
        return message
    try:
        doc = json.loads(message)
    except ValueError:
        return _clip(message, BUDGET)
    share = BUDGET // max(1, _texts(doc))
    return json.dumps(_clip_all(doc, share))


def _texts(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_texts(v) for v in value.values())
    if isinstance(value, list):
        return sum(_texts(v) for v in value)
    return 1 if isinstance(value, str) else 0


def _clip_all(value: Any, share: int) -> Any:
    if isinstance(value, dict):
        return {k: _clip_all(v, share) for k, v in value.items()}
    if isinstance(value, list):
        return [_clip_all(v, share) for v in value]
    return _clip(value, share) if isinstance(value, str) else value
