"""DORA per week (`warden ledger dora --by week`): the weeks and their figures from a known ledger, and the
page of charts made from them."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from warden.core import clock
from warden.ledger.dora import (
    BANDS_SOURCE,
    band,
    dora,
    headline,
    parse_period,
    periods,
    week_start,
    weekly,
)
from warden_local.dora_chart import duration, page, ticks

PROD = "Deploy"


def execution(eid: str, *, ended: str, status: str = "SUCCEEDED", authored: str | None = None,
              pipeline: str = "payments-api", rollback: bool = False, started: str | None = None) -> dict:
    stage = {"status": status, "started_at": started or ended, "ended_at": ended}
    return {"pipeline": pipeline, "execution_id": eid, "prod_stage": PROD, "stages": {PROD: stage},
            "execution_type": "ROLLBACK" if rollback else "STANDARD", "author_date": authored}


# Week 46 (Mon 9 Nov 2026): a (lead 1 h) and b (lead 3 h) succeed; b-fail's production stage fails at 12:00
#   and a CodePipeline rollback started 12:05 (the one failure, attributed to b-fail) restores at 12:30.
# Week 47 (Mon 16 Nov): nothing.
# Week 48 (Mon 23 Nov): c (lead 2 h) on Sunday 29 Nov 23:00.
# Week 49: c-fail's production stage fails on Monday 30 Nov 01:00, still open; the range ends on Wednesday.
LEDGER = [
    execution("a", ended="2026-11-10T10:00:00Z", authored="2026-11-10T09:00:00Z"),
    execution("b", ended="2026-11-11T10:00:00Z", authored="2026-11-11T07:00:00Z"),
    execution("b-fail", ended="2026-11-11T12:00:00Z", status="FAILED"),
    execution("r", ended="2026-11-11T12:30:00Z", started="2026-11-11T12:05:00Z", rollback=True),
    execution("c", ended="2026-11-29T23:00:00Z", authored="2026-11-29T21:00:00Z"),
    execution("c-fail", ended="2026-11-30T01:00:00Z", status="FAILED"),
]
START, END = clock.parse_iso("2026-11-09T00:00:00Z"), clock.parse_iso("2026-12-02T12:00:00Z")


def test_weeks_run_monday_to_monday_in_utc():
    assert week_start(datetime.fromisoformat("2026-11-29T23:59:59+00:00")) == clock.parse_iso("2026-11-23T00:00:00Z")
    assert week_start(datetime.fromisoformat("2026-11-30T00:30:00+02:00")) == clock.parse_iso("2026-11-23T00:00:00Z")


def test_the_figures_of_each_week_with_the_counts_behind_them():
    weeks = weekly(LEDGER, start=START, end=END, window_hours=24)
    assert [w["week"] for w in weeks] == ["2026-W46", "2026-W47", "2026-W48", "2026-W49"]
    assert [w["partial"] for w in weeks] == [False, False, False, True]
    assert [w["deployments"] for w in weeks] == [3, 0, 1, 1]
    assert [w["failed"] for w in weeks] == [1, 0, 0, 1]
    assert [w["lead_time_seconds"]["p50"] for w in weeks] == [7200, None, 7200, None]
    assert [w["change_failure_rate"] for w in weeks] == [0.3333, None, 0, 1.0]
    assert [w["failed_deployments"] for w in weeks] == [["b-fail"], [], [], ["c-fail"]]
    assert weeks[0]["failures_by_cause"] == {"rolled_back:codepipeline": 1}
    # b-fail's failure from its end at 12:00, restored by the rollback at 12:30.
    assert weeks[0]["time_to_restore_seconds"] == {"count": 1, "open": 0, "p50": 1800, "p90": 1800}
    assert weeks[3]["time_to_restore_seconds"]["open"] == 1  # c-fail, still open
    assert weeks[3]["until"] == "2026-12-02T12:00:00Z"
    assert headline(weeks)["week"] == "2026-W48"  # the partial week never heads the report


def test_the_weeks_add_up_to_the_whole_period_and_restored_plus_open_is_failed():
    weeks = weekly(LEDGER, start=START, end=END, window_hours=24)
    whole = dora(LEDGER, start=START, end=END, window_hours=24)
    assert sum(w["deployments"] for w in weeks) == whole["deployments"] == 5
    assert sorted(sum((w["failed_deployments"] for w in weeks), [])) == sorted(whole["failed_deployments"])
    for row in [*weeks, whole, *whole["pipelines"].values()]:
        ttr = row["time_to_restore_seconds"]
        assert ttr["count"] + ttr["open"] == row["failed"] <= row["deployments"]


def test_days_and_months_are_periods_too():
    days = periods(LEDGER, start=clock.parse_iso("2026-11-10T06:00:00Z"), end=clock.parse_iso("2026-11-12T00:00:00Z"),
                   by="day")
    assert [(d["day"], d["partial"], d["deployments"]) for d in days] == [
        ("2026-11-10", True, 1), ("2026-11-11", False, 2)]
    months = periods(LEDGER, start=START, end=END, by="month")
    assert [(m["month"], m["partial"], m["deployments"], m["failed"]) for m in months] == [
        ("2026-11", True, 5, 2), ("2026-12", True, 0, 0)]
    assert parse_period("2026-W48")[:2] == (clock.parse_iso("2026-11-23T00:00:00Z"),
                                            clock.parse_iso("2026-11-30T00:00:00Z"))


def test_bands_follow_the_2023_report_edges():
    assert "2023" in BANDS_SOURCE
    assert [band("deployment_frequency_per_day", v) for v in (3, 1, 0.5, 1 / 7, 0.1, 1 / 30, 0.01)] == [
        "elite", "elite", "high", "high", "medium", "medium", "low"]
    assert [band("change_failure_rate", v) for v in (0, 0.05, 0.06, 0.1, 0.15, 0.16, 1)] == [
        "elite", "elite", "high", "high", "medium", "low", "low"]
    assert [band("time_to_restore_p50_seconds", v) for v in (600, 3600, 86399, 86400, 7 * 86400)] == [
        "elite", "high", "high", "medium", "low"]
    assert [band("lead_time_p50_seconds", v) for v in (3600, 86400, 8 * 86400, 40 * 86400)] == [
        "elite", "high", "medium", "low"]
    whole = dora(LEDGER, start=START, end=END, window_hours=24)
    # 5 deployments in 23.5 days (1.5 a week); 2 of 5 failed; lead p50 2 h; the one restore 30 min.
    assert whole["bands"] == {"deployment_frequency": "high", "lead_time": "elite", "change_failure_rate": "low",
                              "time_to_restore": "elite"}


def test_the_page_is_self_contained_with_rows_per_service_bands_and_links_to_the_deployments():
    weeks = periods(LEDGER, start=START, end=END, by="week", window_hours=24, detail=True)
    html = page(weeks, title="DORA figures per week", subtitle="test")
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 4
    for title in ("Deployment frequency", "Lead time for changes", "Change failure rate", "Time to restore"):
        assert f"<h3>{title}</h3>" in html
    # The headline is the latest complete week (W48), not the partial W49.
    assert "<h2>2026-W48: the latest complete week</h2>" in html
    assert "<title>2026-W46: 3</title>" in html and "<title>2026-W49 (partial): 100%</title>" in html
    # Each figure links to the deployments behind it, which are listed with their failure.
    assert 'href="#d-2026-W46-payments-api"' in html and 'id="d-2026-W46-payments-api"' in html
    assert 'data-execution="b-fail"' in html and "rolled back by CodePipeline" in html
    assert '<span class="band low">low</span>' in html and "2023" in html
    # Nothing to fetch: no script, no external stylesheet or image, no URL but the SVG namespace.
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert set(re.findall(r"https?://[^\"' )]+", html)) == {"http://www.w3.org/2000/svg"}


@pytest.mark.parametrize(("kind", "largest", "labels"), [
    ("percent", 0.13, ["0%", "25%", "50%", "75%", "100%"]),
    ("count", 13, ["0", "5", "10", "15"]),
    ("count", 3, ["0", "1", "2", "3"]),
    ("count", 0, ["0", "1"]),
    ("duration", 0.2 * 3600, ["0 min", "5 min", "10 min", "15 min"]),  # 12 min: minutes, not 0.1 h
    ("duration", 30260, ["0 h", "2.5 h", "5 h", "7.5 h", "10 h"]),
    ("duration", 5 * 86400, ["0 d", "2 d", "4 d", "6 d"]),
    ("duration", 45, ["0 s", "20 s", "40 s", "60 s"]),
])
def test_ticks_are_round_in_one_unit_and_never_repeat(kind, largest, labels):
    got = [label for _, label in ticks(kind, largest)]
    assert got == labels and len(set(got)) == len(got)
    assert ticks(kind, largest)[-1][0] >= largest


def test_durations_read_in_the_unit_that_fits():
    assert [duration(s) for s in (45, 420, 3900, 30260, 3 * 86400, None)] == [
        "45 s", "7 min", "65 min", "8.4 h", "3 d", "–"]
