"""The order suite (tests/faults/order_suite.py) on the bundled stories: every event delivered to each of its
functions 1-3 times, up to an hour late, while the world, the sweeps and the clock run in story time; the end
must equal the in-order run, but for the legitimate differences the suite names.

`make faults` runs 30 seeds of each story (each seed its own test, so the two workers share them); `make test`
runs 3 seeds of the alarm story, the cheapest (about 4 s a seed on an idle machine; the demo takes about 20 s),
and one of the Slack approval with Slack down (its owed post).
A failure prints the minimal diff of each divergent aspect.
"""

from __future__ import annotations

import os

import pytest

from tests.faults import order_suite

FULL = os.environ.get("WARDEN_FAULTS") == "all"
QUICK = {"alarm": range(3), "slack-down": range(1)}
CASES = [(name, seed) for name in sorted(order_suite.STORIES)
         for seed in (range(order_suite.SEEDS) if FULL else QUICK.get(name, ()))]


@pytest.mark.parametrize(("story", "seed"), CASES)
def test_a_story_delivered_late_and_repeated_ends_as_in_order(faults, story, seed):
    expected, _ = order_suite.in_order(story)
    assert expected.messages and not expected.dead, "the in-order run tells someone and dead-letters nothing"
    divergence = order_suite.check(story, seed)
    report = order_suite.Report(story, [seed], {seed: divergence} if divergence else {}, expected)
    assert not divergence, report.text()


@pytest.mark.skipif(not FULL, reason="make faults: a replay and an in-order run of the story (about 15 s)")
def test_the_in_order_run_is_the_story_as_replayed():
    """The suite's in-order run tells what `warden replay` tells: same messages (by topic and event) and pages."""
    from collections import Counter

    from tests.helpers import EVENTS
    from warden_local.replay import replay

    doc = replay([str(EVENTS / "scenarios" / "approval-asked-again.json")])
    effects = [e for step in doc["steps"] for e in step["effects"]]
    expected, _ = order_suite.in_order("approval-asked-again")
    told = Counter((m[0], m[1]) for m in expected.messages.elements())
    replayed = Counter((e["topic"], "a failure heard first" if e["event"] in order_suite.FAILURES else e["event"])
                       for e in effects if e["kind"] == "message")
    assert told == replayed
    assert sum(expected.pages.values()) == sum(e["kind"] == "page" for e in effects) == 4
    # The second request is told, reminded at 4 h and escalated with a page at 8 h; then approved.
    assert told[("ApproversTopic", "approval.needed")] == 2 and told[("ApproversTopic", "approval.escalated")] == 1
    assert told[("OnCallTopic", "approval.escalated")] == 1 and told[("TeamTopic", "approval.approved")] == 1


def test_late_deliveries_are_late_repeated_and_reproducible():
    delays = [order_suite._delays(seed, 3, "NotificationRouter") for seed in range(30)]
    assert all(1 <= len(d) <= 3 for d in delays) and any(len(d) > 1 for d in delays)
    assert all(0 <= x.total_seconds() <= 3600 for d in delays for x in d)
    assert delays == [order_suite._delays(seed, 3, "NotificationRouter") for seed in range(30)]
    assert order_suite._delays(None, 3, "NotificationRouter") == [order_suite.timedelta(0)]
