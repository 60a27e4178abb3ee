"""A PagerDuty Events API v2 endpoint on 127.0.0.1: a real HTTP server that records what it gets.

It answers like the real one (202 with status/message/dedup_key, 400 with errors for an invalid
event) and can be told to fail the next requests, to exercise retries.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from warden_local.http_server import LocalHttpServer, json_answer

ACTIONS = {"trigger", "acknowledge", "resolve"}
SEVERITIES = {"critical", "error", "warning", "info"}


def problems(event: Any) -> list[str]:
    """The validation PagerDuty applies to an Events API v2 request."""
    if not isinstance(event, dict):
        return ["Event object is invalid"]
    errors = []
    if not event.get("routing_key"):
        errors.append("'routing_key' is missing or blank")
    if event.get("event_action") not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    if event.get("event_action") == "trigger":
        payload = event.get("payload") or {}
        for name in ("summary", "source", "severity"):
            if not payload.get(name):
                errors.append(f"'payload.{name}' is missing or blank")
        if payload.get("severity") and payload["severity"] not in SEVERITIES:
            errors.append("'payload.severity' is invalid (must be one of critical, error, warning, info)")
    elif not event.get("dedup_key"):
        errors.append("'dedup_key' is missing or blank")
    return errors


class PagerDutyServer:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.failures: list[int] = []  # statuses to answer with, first to last, before succeeding
        self._lock = threading.Lock()
        self._http = LocalHttpServer(lambda method, path, headers, body: json_answer(*self._answer(path, body)))

    @property
    def url(self) -> str:
        return self._http.base_url() + "/v2/enqueue"

    def _answer(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self.failures:
                status = self.failures.pop(0)
                return status, {"status": "error", "message": "Simulated failure"}
        if path != "/v2/enqueue":
            return 404, {"status": "error", "message": "Not found"}
        try:
            event = json.loads(body)
        except ValueError:
            return 400, {"status": "invalid event", "message": "Event object is invalid",
                         "errors": ["Invalid JSON"]}
        errors = problems(event)
        if errors:
            return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
        with self._lock:
            self.events.append(event)
        dedup = event.get("dedup_key") or f"srv{len(self.events):08d}"
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup}

    def start(self) -> PagerDutyServer:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()
