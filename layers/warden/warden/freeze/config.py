"""The `freeze` configuration document: when deployments are frozen, for which pipelines and stages, and why.

Only read by the functions. Each calendar entry is one reason to freeze: one-off dates (holidays, as a list,
each a whole local day), one-off windows (a launch: local start and end), or a recurring window (an RFC 5545
RRULE from a local start, lasting `duration_minutes`), always in the entry's own IANA time zone, so that
"Christmas Eve in Berlin" means the Berlin day whatever the UTC offset is that week. A scope says which
pipelines (name globs, `*` the only wildcard, as everywhere in Warden), which tags (every one listed must
match) and which stages (name globs) the entry freezes. The document is validated whole by
`warden config validate`: a time zone, a date or an RRULE that does not parse is an error naming the entry.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from warden.core.documents import StrictDocument


def _glob_match(glob: str, value: str) -> bool:
    import re

    pattern = "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", glob))
    return re.fullmatch(pattern, value, re.DOTALL) is not None


class FreezeScope(StrictDocument):
    pipelines: list[str] = Field(default_factory=lambda: ["*"], description="pipeline name globs")
    stages: list[str] = Field(default_factory=lambda: ["*"], description="stage name globs")
    tags: dict[str, str] = Field(default_factory=dict, description="pipeline tags that must all match")

    def covers(self, pipeline: str, stage: str | None, tags: dict[str, str] | None = None) -> bool:
        """Whether this scope freezes `stage` of `pipeline` (tags: the pipeline's, when the scope names any;
        a scope with tags never covers a pipeline whose tags are unknown)."""
        if not any(_glob_match(g, pipeline) for g in self.pipelines):
            return False
        if stage is not None and not any(_glob_match(g, stage) for g in self.stages):
            return False
        if self.tags:
            return tags is not None and all(tags.get(k) == v for k, v in self.tags.items())
        return True


class Window(StrictDocument):
    start: datetime = Field(description="local start, without offset")
    end: datetime = Field(description="local end, without offset")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.start.tzinfo or self.end.tzinfo:
            raise ValueError("write local times without an offset: the entry's time_zone gives it")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class CalendarEntry(StrictDocument):
    name: str = Field(min_length=1)
    message: str = Field(min_length=1, max_length=500, description="what the gate says when this entry freezes")
    time_zone: str = Field("UTC", description="IANA time zone, e.g. Europe/Berlin")
    scope: FreezeScope = Field(default_factory=FreezeScope)
    dates: list[date] = Field(default_factory=list, description="whole local days (holidays)")
    windows: list[Window] = Field(default_factory=list, description="one-off local windows")
    rrule: str | None = Field(None, description="RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=FR")
    rrule_start: datetime | None = Field(None, description="local DTSTART of the recurring window")
    duration_minutes: int | None = Field(None, gt=0, le=60 * 24 * 31, description="length of each occurrence")

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("rrule")
    @classmethod
    def _rrule(cls, value: str | None) -> str | None:
        if value is None:
            return value
        text = value.strip().removeprefix("RRULE:")
        if "DTSTART" in text.upper():
            raise ValueError("give the start as rrule_start (local time), not DTSTART in the rule")
        from dateutil.rrule import rrulestr

        try:
            rrulestr(text, dtstart=datetime(2000, 1, 1))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not an RFC 5545 RRULE: {exc}") from None
        return text

    @model_validator(mode="after")
    def _something(self) -> CalendarEntry:
        recurring = (self.rrule, self.rrule_start, self.duration_minutes)
        if any(v is not None for v in recurring) and not all(v is not None for v in recurring):
            raise ValueError("a recurring window needs rrule, rrule_start and duration_minutes")
        if self.rrule_start is not None and self.rrule_start.tzinfo:
            raise ValueError("write rrule_start without an offset: the entry's time_zone gives it")
        if not (self.dates or self.windows or self.rrule):
            raise ValueError("an entry freezes on dates, windows or an rrule: it has none")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


class AutomaticFreeze(StrictDocument):
    """Freezing a pipeline's production stages while production is unhealthy."""

    enabled: bool = True
    incidents: bool = Field(True, description="an open incident of the pipeline freezes it")
    rollbacks: bool = Field(True, description="a rollback in progress freezes it")
    alarms: bool = Field(True, description="a guarding alarm in ALARM freezes it")


class FreezeConfig(StrictDocument):
    production_stages: list[str] = Field(
        default_factory=lambda: ["Prod*", "prod*", "Production*", "production*"],
        description="stage name globs the automatic freeze covers")
    automatic: AutomaticFreeze = Field(default_factory=AutomaticFreeze)
    calendar: list[CalendarEntry] = Field(default_factory=list)
    override_max_hours: float = Field(12, gt=0, le=72, description="the longest break-glass override")

    @field_validator("calendar")
    @classmethod
    def _unique(cls, value: list[CalendarEntry]) -> list[CalendarEntry]:
        names = [e.name for e in value]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"calendar entry names must be unique: {', '.join(twice)}")
        return value

    def is_production(self, stage: str) -> bool:
        return any(_glob_match(g, stage) for g in self.production_stages)
