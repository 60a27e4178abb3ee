"""PagerDuty Events API v2: trigger and resolve, deduplicated by `dedup_key`.

Throttling (429), server errors and network failures are retried with exponential backoff; a 400
means the event itself is wrong and is raised with PagerDuty's own error text, so it ends in the
dead-letter queue instead of being retried for nothing.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from warden.core.aged import Aged
from warden.core.errors import PermanentError

SEVERITY = {"critical": "critical", "high": "error", "warning": "warning", "info": "info"}
RETRYABLE = {429, 500, 502, 503, 504}


class PagerDutyRejected(PermanentError):
    """PagerDuty refused the event (4xx other than 429): retrying cannot help."""


class PagerDutyUnavailable(Exception):
    """PagerDuty kept failing after every retry: let Lambda retry the whole event later."""


class PagerDuty:
    def __init__(self, url: str, routing_key: Callable[[], str], *, attempts: int = 4, backoff: float = 0.5,
                 timeout: float = 5.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self._url = url
        self._routing_key = routing_key
        self._attempts = attempts
        self._backoff = backoff
        self._timeout = timeout
        self._sleep = sleep

    def trigger(self, *, dedup_key: str, summary: str, source: str, severity: str, component: str | None = None,
                group: str | None = None, event_class: str | None = None,
                custom_details: dict[str, Any] | None = None, links: dict[str, str] | None = None) -> dict[str, Any]:
        payload: dict[str, Any] = {"summary": summary[:1024], "source": source,
                                   "severity": SEVERITY.get(severity, "error")}
        if component:
            payload["component"] = component
        if group:
            payload["group"] = group
        if event_class:
            payload["class"] = event_class
        if custom_details:
            payload["custom_details"] = custom_details
        event: dict[str, Any] = {"event_action": "trigger", "dedup_key": dedup_key, "payload": payload}
        if links:
            event["links"] = [{"href": href, "text": text} for text, href in links.items()]
        return self.send(event)

    def resolve(self, dedup_key: str) -> dict[str, Any]:
        return self.send({"event_action": "resolve", "dedup_key": dedup_key})

    def send(self, event: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"routing_key": self._routing_key(), **event}).encode()
        last = ""
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(self._backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(self._url, data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310 (https URL from config)
                    return json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as exc:
                text = exc.read().decode(errors="replace")
                if exc.code not in RETRYABLE:
                    raise PagerDutyRejected(f"PagerDuty rejected the event ({exc.code}): {_errors(text)}") from None
                last = f"{exc.code} {_errors(text)}"
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = str(getattr(exc, "reason", exc))
        raise PagerDutyUnavailable(f"PagerDuty unavailable after {self._attempts} attempts: {last}")


def _errors(text: str) -> str:
    try:
        answer = json.loads(text)
    except ValueError:
        return text[:500]
    errors = answer.get("errors") if isinstance(answer, dict) else None
    return "; ".join(map(str, errors)) if errors else str(answer.get("message", text))[:500]


class PagerDutyMisconfigured(PermanentError):
    """The routing-key secret holds no key Warden can use: paging cannot work until it is fixed."""


KEY_FIELDS = ("routing_key", "integration_key")  # PagerDuty's UI calls the Events API v2 key "Integration Key"
SECRET_SECONDS = 300  # a rotated routing key is picked up within five minutes (of Warden's clock)


def routing_key_from_secret(secret_string: Any) -> str:
    """The documented shapes: a SecretString holding the key itself, or a JSON object with `routing_key`
    (or `integration_key`). Anything else is PagerDutyMisconfigured, saying which shape was found and
    never a value (this is a secret)."""
    if not isinstance(secret_string, str):
        raise PagerDutyMisconfigured("the PagerDuty secret has no SecretString (a binary secret?): store the "
                                     "routing key as text, or JSON with routing_key")
    text = secret_string.strip()
    if text[:1] in ("{", "[", '"'):
        try:
            doc = json.loads(text)
        except ValueError:
            raise PagerDutyMisconfigured("the PagerDuty secret looks like JSON but does not parse: store the "
                                         "routing key as text, or JSON with routing_key") from None
        if not isinstance(doc, dict):
            raise PagerDutyMisconfigured(f"the PagerDuty secret is a JSON {type(doc).__name__}, not an object "
                                         "with routing_key: store the routing key as text, or JSON with "
                                         "routing_key")
        key = next((doc[name] for name in KEY_FIELDS if isinstance(doc.get(name), str) and doc[name].strip()), None)
        if key is None:
            # Name the fields found, never their values: this is a secret.
            raise PagerDutyMisconfigured(f"the PagerDuty secret has no {' or '.join(KEY_FIELDS)} "
                                         f"(fields: {', '.join(sorted(map(str, doc))) or 'none'})")
        text = key.strip()
    if not text or any(c.isspace() or not c.isprintable() for c in text):
        raise PagerDutyMisconfigured("the PagerDuty secret is neither a routing key nor JSON with routing_key")
    return text


class RoutingKey:
    """The routing key, read from its secret (`read()`: the GetSecretValue answer) and cached for `max_age`
    seconds of Warden's clock (warden.core.clock), so that a replayed story sees a fix at the story's time,
    not the wall clock's. Only a key that passed validation is cached: a secret fixed after a refusal is
    used by the very next page. Powertools' SecretsProvider is not used for this cache: it ages on the
    wall clock, and caches what it read whatever it holds."""

    def __init__(self, read: Callable[[], dict[str, Any]], *, max_age: int = SECRET_SECONDS) -> None:
        self._key = Aged(lambda: routing_key_from_secret(read().get("SecretString")), max_age)

    def __call__(self) -> str:
        return self._key()
