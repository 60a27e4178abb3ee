"""The `escalation` configuration document: when a pending manual approval is escalated, to whom.

Tiers are either `after` (time since the approval was requested) or `before_expiry` (time left
before CodePipeline expires it). Each tier fires at most once per approval. A tier with business
hours waits for the next working hour (the approval stays due), so approvers are not reminded at
3 a.m.; tiers without (on-call) fire at any hour.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, field_validator, model_validator

from warden.core.documents import StrictDocument
from warden.core.kinds import Audience, Severity

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# CodePipeline expires a manual approval after 7 days unless the action sets a shorter timeout.
DEFAULT_APPROVAL_TIMEOUT = timedelta(days=7)


def _duration(value: Any) -> Any:
    """"4h", "90m", "1d", "30s" besides what pydantic takes (seconds, "PT4H", "04:00:00")."""
    if isinstance(value, str) and (m := re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", value)):
        return timedelta(seconds=float(m.group(1)) * UNITS[m.group(2)])
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class BusinessHours(StrictDocument):
    timezone: str = "UTC"
    days: list[Day] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    start: time = time(9, 0)
    end: time = time(18, 0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as 'Europe/Berlin')") from None
        return value

    @model_validator(mode="after")
    def _ordered(self) -> BusinessHours:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self

    def open_at(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone))
        return DAYS[local.weekday()] in self.days and self.start <= local.time() < self.end


class Tier(StrictDocument):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$", description="names the tier in items and messages")
    after: Duration | None = Field(None, description="fires this long after the approval was requested")
    before_expiry: Duration | None = Field(None, description="fires this long before the approval expires")
    audiences: list[Audience] = Field(min_length=1)
    severity: Severity = "warning"
    business_hours: BusinessHours | None = None

    @model_validator(mode="after")
    def _one_trigger(self) -> Tier:
        if (self.after is None) == (self.before_expiry is None):
            raise ValueError("a tier has exactly one of 'after' or 'before_expiry'")
        return self

    def reached(self, *, since: datetime, expires: datetime, at: datetime) -> bool:
        if self.after is not None:
            return at - since >= self.after
        return expires - at <= self.before_expiry  # type: ignore[operator]

    def open_at(self, moment: datetime) -> bool:
        return self.business_hours is None or self.business_hours.open_at(moment)


def _default_tiers() -> list[Tier]:
    return [
        Tier(name="remind", after=timedelta(hours=4), audiences=["approvers"], severity="warning"),
        Tier(name="escalate", after=timedelta(hours=8), audiences=["team", "oncall"], severity="high"),
        Tier(name="expiry", before_expiry=timedelta(hours=12), audiences=["approvers", "team"],
             severity="warning"),
    ]


class EscalationConfig(StrictDocument):
    tiers: list[Tier] = Field(default_factory=_default_tiers)

    @field_validator("tiers")
    @classmethod
    def _unique_names(cls, tiers: list[Tier]) -> list[Tier]:
        names = [t.name for t in tiers]
        if len(set(names)) != len(names):
            raise ValueError(f"tier names must be unique: {names}")
        return tiers

    def reached(self, *, since: datetime, expires: datetime, at: datetime, fired: set[str]) -> list[Tier]:
        """Tiers past their threshold, not fired yet, business hours ignored.

        An `after` tier is dropped once a later `after` tier is reached or fired: a reminder after
        the escalation (say, when the sweep first sees an old approval) would only be noise.
        """
        hit = [t for t in self.tiers if t.reached(since=since, expires=expires, at=at)]
        latest = max((t.after for t in self.tiers if t.after is not None and (t in hit or t.name in fired)),
                     default=None)
        return [t for t in hit if t.name not in fired and (t.after is None or t.after == latest)]

    def due(self, *, since: datetime, expires: datetime, at: datetime, fired: set[str]) -> list[Tier]:
        """Tiers to fire now: reached, and within their business hours."""
        return [t for t in self.reached(since=since, expires=expires, at=at, fired=fired) if t.open_at(at)]
