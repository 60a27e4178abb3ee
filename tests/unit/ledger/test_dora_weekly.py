"""DORA per week (`warden ledger dora --by week`): the weeks and their figures from a known ledger, and the
page of charts made from them."""

from __future__ import annotations

import re
from datetime import datetime

from warden.core import clock
from warden.ledger.dora import dora, week_start, weekly
from warden_local.dora_chart import page

PROD = "Deploy"


def execution(eid: str, *, ended: str, status: str = "SUCCEEDED", authored: str | None = None,
              pipeline: str = "payments-api", rollback: bool = False, started: str | None = None) -> dict:
    stage = {"status": status, "started_at": started or ended, "ended_at": ended}
    return {"pipeline": pipeline, "execution_id": eid, "prod_stage": PROD, "stages": {PROD: stage},
            "execution_type": "ROLLBACK" if rollback else "STANDARD", "author_date": authored}


# Week 46 (Mon 9 Nov 2026): two deployments, lead times 1 h and 3 h; the second fails 2 h later, restored
#   by a rollback 30 min after that.
# Week 47 (Mon 16 Nov): nothing.
# Week 48 (Mon 23 Nov): one deployment (lead 2 h) on Sunday 29 Nov 23:00, whose failure comes on Monday
#   30 Nov 01:00 (week 49) and is still open: it counts against week 48, the week it was deployed.
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


def test_the_figures_of_each_week():
    weeks = weekly(LEDGER, start=START, end=END, window_hours=24)
    assert [w["week"] for w in weeks] == ["2026-W46", "2026-W47", "2026-W48", "2026-W49"]
    assert [w["partial"] for w in weeks] == [False, False, False, True]
    assert [w["deployments"] for w in weeks] == [2, 0, 1, 0]
    assert [w["lead_time_seconds"]["median"] for w in weeks] == [7200, None, 7200, None]
    assert [w["change_failure_rate"] for w in weeks] == [0.5, None, 1.0, None]
    assert [w["failed_deployments"] for w in weeks] == [["b"], [], ["c"], []]
    # b's failure at 12:00 (the rollback starting 12:05 is the same incident) restored at 12:30.
    assert weeks[0]["time_to_restore_seconds"] == {"count": 1, "median": 1800, "p90": 1800, "open": 0}
    assert weeks[3]["time_to_restore_seconds"]["open"] == 1  # c's failure, in week 49, still open
    assert weeks[3]["until"] == "2026-12-02T12:00:00Z"


def test_the_weeks_add_up_to_the_whole_period():
    weeks = weekly(LEDGER, start=START, end=END, window_hours=24)
    whole = dora(LEDGER, start=START, end=END, window_hours=24)
    assert sum(w["deployments"] for w in weeks) == whole["deployments"] == 3
    assert sorted(sum((w["failed_deployments"] for w in weeks), [])) == sorted(whole["failed_deployments"])


def test_the_page_is_self_contained_charts_of_the_four_figures():
    weeks = weekly(LEDGER, start=START, end=END, window_hours=24)
    html = page(weeks, title="DORA figures per week", subtitle="test")
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 4
    for title in ("Deployment frequency", "Lead time for changes", "Change failure rate", "Time to restore"):
        assert f"<h2>{title}</h2>" in html
    # A bar per week with data, its value written above it; a week without data says so.
    assert len(re.findall(r"<rect [^>]*><title>2026-W46: 2</title>", html)) == 1
    assert "<title>2026-W48: 100%</title>" in html and "<title>2026-W46: 50%</title>" in html
    assert "no data" in html
    # Nothing to fetch: no script, no external stylesheet or image, no URL but the SVG namespace.
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert set(re.findall(r"https?://[^\"' )]+", html)) == {"http://www.w3.org/2000/svg"}
