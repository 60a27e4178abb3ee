"""Publishing to the audience topics: exactly one SNS publish per audience."""

from __future__ import annotations

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
            "TopicArn": topic, "Subject": rendered.subject, "Message": rendered.message,
            "MessageAttributes": rendered.attributes,
        }
        if structured:
            params["MessageStructure"] = "json"
        return self._sns.publish(**params)["MessageId"]
