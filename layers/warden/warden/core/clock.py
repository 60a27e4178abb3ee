"""The one clock of the domain code, so that replays and tests can set the time of each step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], datetime] | None = None


def now() -> datetime:
    return _source() if _source else datetime.now(UTC)


def set_source(source: Callable[[], datetime] | None) -> None:
    """Replace the clock (None restores the wall clock)."""
    global _source
    _source = source


def iso(moment: datetime) -> str:
    """`2026-11-27T09:00:00Z`; years before 1000 zero-padded (`0001-01-01T00:00:00Z`), as parse_iso reads
    back: strftime's %Y does not pad them, and an item written so could never be read again. A naive
    moment is UTC."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"


def parse_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
