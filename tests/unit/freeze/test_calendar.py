"""The freeze calendar: holidays as whole local days across a DST change, recurring RRULE windows in wall time,
scope, and what `warden config validate` says of a broken document. Given / When / Then."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from warden.freeze.calendar import frozen
from warden.runtime.documents import ConfigError, parse_document, parse_value


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def doc(**calendar_entry) -> object:
    entry = {"name": "holidays", "message": "Holiday freeze", "time_zone": "Europe/Berlin",
             "scope": {"pipelines": ["payments-*"], "stages": ["Prod"]}} | calendar_entry
    return parse_document("freeze", {"calendar": [entry]})


def test_a_holiday_is_the_whole_local_day_even_when_the_clocks_go_back():
    # Given 25 October 2026 (Berlin leaves summer time at 03:00 local: a 25-hour day) as a holiday
    config = doc(dates=["2026-10-25"])
    # Then the freeze starts at local midnight (22:00 UTC the day before, CEST) ...
    assert not frozen(config, "payments-api", "Prod", utc("2026-10-24T21:59:59")).frozen
    verdict = frozen(config, "payments-api", "Prod", utc("2026-10-24T22:00:00"))
    assert verdict.frozen and verdict.reasons[0].name == "holidays"
    # ... and ends at the next local midnight, 23:00 UTC (CET): 25 hours later, not 24
    assert verdict.until == utc("2026-10-25T23:00:00")
    assert frozen(config, "payments-api", "Prod", utc("2026-10-25T22:30:00")).frozen  # 23:30 local
    assert not frozen(config, "payments-api", "Prod", utc("2026-10-25T23:00:00")).frozen
    assert "Holiday freeze" in verdict.reason


def test_consecutive_holidays_are_one_freeze_and_the_next_one_is_announced():
    # Given Christmas Eve, Christmas and Boxing Day in Berlin (winter time, UTC+1)
    config = doc(dates=["2026-12-24", "2026-12-25", "2026-12-26"])
    # When asked during Christmas Day
    verdict = frozen(config, "payments-api", "Prod", utc("2026-12-25T12:00:00"))
    # Then the freeze runs to the end of Boxing Day, local time
    assert verdict.frozen and verdict.until == utc("2026-12-26T23:00:00")
    # And a week before, it is not frozen and says when the next freeze starts and why
    before = frozen(config, "payments-api", "Prod", utc("2026-12-17T12:00:00"))
    assert not before.frozen and before.next_start == utc("2026-12-23T23:00:00")
    assert before.next_reason.message == "Holiday freeze"


def test_a_holiday_freezes_only_its_scope():
    config = doc(dates=["2026-12-25"])
    at = utc("2026-12-25T12:00:00")
    assert not frozen(config, "orders-api", "Prod", at).frozen  # another pipeline
    assert not frozen(config, "payments-api", "Build", at).frozen  # another stage
    tagged = parse_document("freeze", {"calendar": [{
        "name": "critical", "message": "m", "dates": ["2026-12-25"], "scope": {"tags": {"tier": "critical"}}}]})
    assert frozen(tagged, "x", "Prod", at, tags={"tier": "critical"}).frozen
    assert not frozen(tagged, "x", "Prod", at, tags={"tier": "low"}).frozen
    assert not frozen(tagged, "x", "Prod", at, tags=None).frozen  # unknown tags never match a tag scope


def test_an_rrule_window_keeps_its_local_time_across_the_dst_change():
    # Given every Friday from 16:00 Berlin time for 64 hours (the weekend), starting in summer
    config = doc(rrule="FREQ=WEEKLY;BYDAY=FR", rrule_start="2026-10-02T16:00:00", duration_minutes=64 * 60)
    # Then in summer (CEST, UTC+2) it starts at 14:00 UTC ...
    assert not frozen(config, "payments-api", "Prod", utc("2026-10-23T13:59:00")).frozen
    summer = frozen(config, "payments-api", "Prod", utc("2026-10-23T14:00:00"))
    # ... and that weekend crosses the change, so it ends at Monday 08:00 local = 07:00 UTC (65 hours of UTC)
    assert summer.frozen and summer.until == utc("2026-10-26T07:00:00")
    # And after the change (CET, UTC+1) it starts at 15:00 UTC
    assert not frozen(config, "payments-api", "Prod", utc("2026-10-30T14:30:00")).frozen
    assert frozen(config, "payments-api", "Prod", utc("2026-10-30T15:00:00")).frozen
    # On a Wednesday, it says the next Friday's start
    wednesday = frozen(config, "payments-api", "Prod", utc("2026-11-04T12:00:00"))
    assert not wednesday.frozen and wednesday.next_start == utc("2026-11-06T15:00:00")


def test_windows_that_touch_make_one_freeze():
    config = parse_document("freeze", {"calendar": [
        {"name": "launch", "message": "Launch", "windows": [{"start": "2026-11-02T08:00:00",
                                                             "end": "2026-11-02T18:00:00"}]},
        {"name": "launch-2", "message": "Launch day 2", "windows": [{"start": "2026-11-02T18:00:00",
                                                                   "end": "2026-11-03T12:00:00"}]}]})
    verdict = frozen(config, "any", "Prod", utc("2026-11-02T09:00:00"))
    assert verdict.frozen and verdict.until == utc("2026-11-03T12:00:00")


@pytest.mark.parametrize(("entry", "error"), [
    ({"time_zone": "Europe/Berlinn", "dates": ["2026-12-25"]}, "unknown IANA time zone"),
    ({"dates": ["2026-13-01"]}, "calendar[0] (name 'holidays').dates[0]"),
    ({"rrule": "FREQ=SOMETIMES", "rrule_start": "2026-01-01T00:00:00", "duration_minutes": 5}, "RRULE"),
    ({"rrule": "FREQ=DAILY"}, "needs rrule, rrule_start and duration_minutes"),
    ({}, "has none"),
])
def test_a_broken_calendar_is_an_error_naming_the_entry(entry, error):
    with pytest.raises(ConfigError) as exc:
        doc(**entry)
    assert error in str(exc.value)
    assert "calendar[0]" in str(exc.value)


def test_warden_config_validate_checks_a_freeze_document(tmp_path):
    # A file holds one document, as its SSM parameter does; the file name says which (freeze.json)
    good = tmp_path / "freeze.json"
    good.write_text(json.dumps({"calendar": [{"name": "xmas", "message": "m", "time_zone": "Europe/Berlin",
                                              "dates": ["2026-12-25"]}]}))
    (tmp_path / "bad").mkdir()
    bad = tmp_path / "bad" / "freeze.json"
    bad.write_text(json.dumps({"calendar": [{"name": "xmas", "message": "m", "time_zone": "Mars/Base",
                                             "dates": ["2026-12-25"]}]}))
    warden = [sys.executable, "-m", "warden_local.cli", "config", "validate"]
    assert subprocess.run([*warden, str(good)], capture_output=True, text=True).returncode == 0
    result = subprocess.run([*warden, str(bad)], capture_output=True, text=True)
    assert result.returncode == 2 and "unknown IANA time zone 'Mars/Base'" in result.stderr
    assert parse_value("freeze", json.dumps({})).automatic.enabled  # the defaults: automatic freeze on
