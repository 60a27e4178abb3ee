"""Whether a calendar freezes a pipeline's stage at a moment, why, and when that changes: pure, no I/O.

Every entry is evaluated in its own time zone, in wall time, and only then turned into UTC: a holiday is the
local day from midnight to midnight (23 or 25 hours long on a DST change), and a recurring window starts at
its local time every time (09:00 in Berlin stays 09:00 across the change, its UTC time moves). A wall time
that does not exist (the spring gap) is read with `fold=0`, as zoneinfo does: it maps to the UTC moment of
the offset before the gap, so a window never silently vanishes. The verdict depends only on the document,
the names and the moment, so redelivery and reordering cannot change it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from warden.freeze.config import CalendarEntry, FreezeConfig

HORIZON = timedelta(days=400)  # how far `next` looks ahead
MAX_CHAIN = 64  # overlapping windows followed to find when a freeze really ends


@dataclass(frozen=True)
class Reason:
    source: str  # calendar | change_calendar | incident | alarm | rollback | override | error
    name: str
    message: str
    until: datetime | None = None  # UTC; None: until what caused it clears

    def text(self) -> str:
        until = f" until {self.until.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if self.until else ""
        return f"{self.message} ({self.source} {self.name}{until})"


@dataclass(frozen=True)
class Verdict:
    frozen: bool
    reasons: tuple[Reason, ...] = ()
    until: datetime | None = None  # when the calendar freeze ends (None: not frozen, or until a cause clears)
    next_start: datetime | None = None  # when the next calendar freeze starts, if not frozen now
    next_reason: Reason | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def reason(self) -> str:
        if not self.frozen:
            upcoming = (f"; next freeze {self.next_start.astimezone(UTC):%Y-%m-%d %H:%M} UTC: "
                        f"{self.next_reason.message}") if self.next_start and self.next_reason else ""
            return "not frozen" + upcoming
        return "frozen: " + "; ".join(r.text() for r in self.reasons)


def _utc(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone).astimezone(UTC)


def _local(at: datetime, zone: ZoneInfo) -> datetime:
    return at.astimezone(zone).replace(tzinfo=None)


def intervals(entry: CalendarEntry, around: datetime, horizon: timedelta = HORIZON) -> Iterable[tuple[datetime,
                                                                                                      datetime]]:
    """The entry's freeze intervals (UTC start, UTC end) that end after `around` and start before
    `around + horizon`, in no particular order."""
    zone = entry.zone
    later = around + horizon
    for day in entry.dates:
        start = _utc(datetime(day.year, day.month, day.day), zone)
        end = _utc(datetime(day.year, day.month, day.day) + timedelta(days=1), zone)
        if end > around and start < later:
            yield start, end
    for window in entry.windows:
        start, end = _utc(window.start, zone), _utc(window.end, zone)
        if end > around and start < later:
            yield start, end
    if entry.rrule and entry.rrule_start and entry.duration_minutes:
        from dateutil.rrule import rrulestr

        rule = rrulestr(entry.rrule, dtstart=entry.rrule_start)
        length = timedelta(minutes=entry.duration_minutes)
        local_now, local_later = _local(around, zone), _local(later, zone)
        for occurrence in rule.between(local_now - length - timedelta(days=1), local_later, inc=True):
            start, end = _utc(occurrence, zone), _utc(occurrence + length, zone)
            if end > around and start < later:
                yield start, end


def frozen(config: FreezeConfig, pipeline: str, stage: str | None, at: datetime,
           tags: dict[str, str] | None = None) -> Verdict:
    """The calendar's verdict for `stage` of `pipeline` at `at` (aware): the entries freezing it now, when the
    freeze ends (following overlapping and adjacent windows), or when the next one starts."""
    at = at.astimezone(UTC)
    entries = [e for e in config.calendar if e.scope.covers(pipeline, stage, tags)]
    spans = [(s, e, entry) for entry in entries for s, e in intervals(entry, at)]
    active = [(s, e, entry) for s, e, entry in spans if s <= at < e]
    if active:
        until = max(e for _, e, _ in active)
        for _ in range(MAX_CHAIN):  # a window that starts before (or as) this one ends extends the freeze
            longer = [e for s, e, _ in spans if s <= until < e]
            if not longer:
                break
            until = max(longer)
        names = sorted({entry.name: entry for _, _, entry in active}.items())
        reasons = tuple(Reason("calendar", name, entry.message, until) for name, entry in names)
        return Verdict(True, reasons, until=until)
    upcoming = sorted(((s, e, entry) for s, e, entry in spans if s > at), key=lambda x: x[0])
    if upcoming:
        s, e, entry = upcoming[0]
        return Verdict(False, next_start=s, next_reason=Reason("calendar", entry.name, entry.message, e))
    return Verdict(False)
