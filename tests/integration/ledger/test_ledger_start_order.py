"""An execution's start in the ledger is the earliest its events say, whatever order they arrive in (found by
the order suite on the demo: a rollback execution, whose events name no start, recorded its stage's SUCCEEDED
time as its start when that event was heard before the stage's STARTED)."""

from datetime import timedelta

from tests import rollback_story as story
from warden.core import clock
from warden_local.world import World

ROLLBACK_RUN = "7ef29902-5744-597c-9968-daa7f9e549c5"
START = clock.parse_iso("2026-11-27T19:32:40Z")
END = START + timedelta(minutes=6, seconds=20)


def _execution(world):
    [item] = [i for i in world.table_items("LedgerTable") if i.get("execution_id") == ROLLBACK_RUN
              and i.get("kind") == "execution"]
    return item


def _deliver(order):
    with World() as world:
        timeline = story.Timeline(world)
        events = {"started": story.stage_event(ROLLBACK_RUN, "STARTED", START),
                  "succeeded": story.stage_event(ROLLBACK_RUN, "SUCCEEDED", END)}
        for event in events.values():
            timeline.happen(event)
        for name in order:
            timeline.deliver(events[name], END + timedelta(minutes=30), only=("DeploymentTracker",))
        return _execution(world)


def test_a_stage_started_heard_after_its_success_moves_the_execution_start_back():
    # Given a stage's events that name no execution start, When its SUCCEEDED is heard before its STARTED
    late = _deliver(["succeeded", "started", "succeeded"])
    # Then the execution starts when the stage started, as when they arrive in order
    in_order = _deliver(["started", "succeeded"])
    assert late["started_at"] == in_order["started_at"] == "2026-11-27T19:32:40Z"
    for field in ("started_s", "gsi1sk", "gsi2sk", "gsi3pk", "gsi3sk", "duration_s", "ended_at"):
        assert late.get(field) == in_order.get(field), field


def test_a_stage_resumed_heard_before_the_failure_it_resumed_from_starts_at_the_failure():
    # Given a stage that failed and was retried (RESUMED), its events naming no stage start
    failed = story.stage_event(ROLLBACK_RUN, "FAILED", START)
    resumed = story.stage_event(ROLLBACK_RUN, "RESUMED", START + timedelta(minutes=30))

    def stage_times(order):
        with World() as world:
            timeline = story.Timeline(world)
            for event in (failed, resumed):
                timeline.happen(event)
            for event in order:
                timeline.deliver(event, START + timedelta(hours=1), only=("DeploymentTracker",))
            item = _execution(world)
            return {k: v for k, v in item.items() if k.startswith("stage:Deploy:")}

    # When the RESUMED is heard first Then the stage's times are those of the in-order run: no negative duration
    late, in_order = stage_times([resumed, failed]), stage_times([failed, resumed])
    for field in ("started_at", "started_s", "ended_at", "duration_s"):
        assert late.get(f"stage:Deploy:{field}") == in_order.get(f"stage:Deploy:{field}"), field
    assert late["stage:Deploy:duration_s"] == 0
