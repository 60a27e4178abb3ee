"""Any order, twice: sampled permutations of a story's events, each event delivered once or twice, end in
the same tables and tell the same messages and pages as in-order delivery.

Every delivery happens at the same instant (after the story's last event), in order and shuffled alike,
so that what is compared is the effect of order alone, not of the clock. The permutations are drawn with
fixed seeds (a failure names its seed); a few per story keep the suite fast.

Orderings in which an outcome arrives before what it supersedes are left out on purpose: the recovery
before every failure (Warden rightly opens no page for a failure older than the latest success, issue
item 3), and an approval decided (or its execution ended) before it was requested (nobody is asked for an
approval already given). Those are different, correct outcomes rather than divergences.
"""

from __future__ import annotations

import copy
import random
from collections import Counter

import pytest

from tests.faults.test_fault_suite import OK_RUN, WORLD_MADE, _at
from tests.helpers import sample
from warden.core import clock
from warden_local.replay import Replayer, Scenario

DELIVERED_AT = clock.parse_iso("2026-11-27T13:40:00Z")  # after every event of both stories
SEEDS = (7, 2026)
FAILURES = {"CodePipeline Action Execution State Change", "CodePipeline Stage Execution State Change",
            "CodePipeline Pipeline Execution State Change"}


def failure_then_recovery() -> list[dict]:
    from tests.integration.approvals.test_approvals import started

    # The failed run's start says what its failure events say (the started sample is the other run's).
    start = sample("codepipeline/pipeline-failed.json")
    start["id"] = "5d0e2b7a-1c3f-4e9d-8a6b-2f4c6e8a0b13"
    start["detail"]["state"] = "STARTED"
    start["time"] = "2026-11-26T14:02:05Z"
    return [start,
            sample("codepipeline/action-failed-build.json"),
            sample("codepipeline/stage-failed-build.json"),
            sample("codepipeline/pipeline-failed.json"),
            started(OK_RUN, "2026-11-27T09:00:02Z"),
            _at(sample("codepipeline/pipeline-succeeded.json"), "2026-11-27T13:31:18Z")]


def approval_story() -> list[dict]:
    from tests.integration.approvals.test_approvals import approval_event, started

    return [started(OK_RUN, "2026-11-27T09:00:02Z"),
            approval_event("STARTED"),
            approval_event("SUCCEEDED", at="2026-11-27T09:40:00Z"),
            _at(sample("codepipeline/pipeline-succeeded.json"), "2026-11-27T13:31:18Z")]


# Built once: the events keep their EventBridge ids across runs (state items are keyed by them).
STORIES = {"failure_then_recovery": failure_then_recovery(), "approval": approval_story()}
# Which invocation holds a claim is bookkeeping of the order itself (the first delivery to arrive).
CLAIM_FIELDS = {"owner", "needed_owner", "needed_claimed_at"}


def _is_failure(event: dict) -> bool:
    return event["detail-type"] in FAILURES and event["detail"].get("state") == "FAILED"


def _is_approval(event: dict) -> bool:
    return event["detail-type"] == "CodePipeline Action Execution State Change" and \
        event["detail"].get("type", {}).get("category") == "Approval"


def _decided_first(order: list[dict]) -> bool:
    """An outcome delivered before what it supersedes (see the module's docstring): the recovery before
    every failure, or the approval's decision (or its execution's end) before its request."""
    first = {}
    for index, event in enumerate(order):
        first.setdefault(id(event), index)
    at = [(first[id(e)], e) for e in {id(e): e for e in order}.values()]
    failures = [i for i, e in at if _is_failure(e)]
    ends = [i for i, e in at if e["detail-type"] == "CodePipeline Pipeline Execution State Change"
            and e["detail"].get("state") == "SUCCEEDED"]
    requests = [i for i, e in at if _is_approval(e) and e["detail"]["state"] == "STARTED"]
    decisions = [i for i, e in at if _is_approval(e) and e["detail"]["state"] != "STARTED"]
    if failures and ends and min(ends) < min(failures):
        return True
    return bool(requests) and min(decisions + ends, default=len(order)) < min(requests)


def shuffled(events: list[dict], seed: int) -> list[dict]:
    """A permutation of `events`, not the story's order, in which each event is delivered once or twice (the
    same EventBridge id: a redelivery), at least one twice, no outcome before what it supersedes."""
    rng = random.Random(seed)
    while True:
        order = events + [e for e in events if rng.random() < 0.5]
        rng.shuffle(order)
        if len(order) > len(events) and order[:len(events)] != events and not _decided_first(order):
            return order


def _settled(value):
    """DynamoDB sets (a status history, the stages an execution ran) come back in arrival order: compared
    as sets."""
    return sorted(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else value


def deliver(world, story: list[dict], order: list[dict]) -> dict:
    """CodePipeline's own state is the story's end (every event has happened before any is delivered); the
    deliveries then reach Warden's functions in `order`, all at DELIVERED_AT."""
    from tests.integration.approvals.test_approvals import payments_world
    from warden_local import fakes

    replayer = Replayer(world)
    replayer.run(Scenario("world", world=payments_world()))
    world.set_time(DELIVERED_AT)
    for event in story:
        fakes.apply_event(copy.deepcopy(event))
    messages, pages = Counter(), Counter()  # counted: a redelivery that tells twice is a divergence
    for index, event in enumerate(order):
        mark = world.begin()
        for function, payload in replayer.routes(copy.deepcopy(event)):
            world.invoke(function, payload)
        effects = world.effects(mark)
        assert not [e for e in effects if e["kind"] == "dead_letter"], (index, event["detail-type"])
        messages.update((e["topic"], e["event"]) for e in effects if e["kind"] == "message")
        pages.update((e["action"], e["dedup_key"]) for e in effects if e["kind"] == "page")
    tables = {lid: sorted(repr(sorted((k, _settled(v)) for k, v in i.items() if k not in WORLD_MADE | CLAIM_FIELDS))
                          for i in world.table_items(lid)) for lid in world.observed_tables()}
    return {"messages": messages, "pages": pages, "tables": tables}


@pytest.fixture(scope="module")
def outcomes():
    """What each story tells and leaves in order, and in each sampled order (one world each, shared by the
    two tests below: messages and pages, then tables)."""
    from warden_local.world import World

    def run(name, order):
        with World() as world:
            return deliver(world, STORIES[name], order)

    cache = {}

    def get(name, seed=None):
        if (name, seed) not in cache:
            cache[name, seed] = run(name, STORIES[name] if seed is None else shuffled(STORIES[name], seed))
        return cache[name, seed]

    return get


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(STORIES))
def test_any_order_and_redelivery_tell_what_in_order_delivery_tells(outcomes, faults, name, seed):
    expected = outcomes(name)
    assert expected["messages"] and (expected["pages"] or name == "approval"), "the story tells someone"
    observed = outcomes(name, seed)
    assert observed["messages"] == expected["messages"]
    assert observed["pages"] == expected["pages"]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(STORIES))
def test_any_order_and_redelivery_converge_to_the_in_order_tables(outcomes, faults, name, seed):
    expected, observed = outcomes(name), outcomes(name, seed)
    for table, items in expected["tables"].items():
        assert observed["tables"][table] == items, table


def test_the_sampled_orders_are_not_in_order_and_redeliver():
    for name, events in STORIES.items():
        for seed in SEEDS:
            order = shuffled(events, seed)
            assert len(order) > len(events) and order[:len(events)] != events, (name, seed)


# The alarm story delivered late and repeated (every event to each function 1-3 times, up to an hour late) is a
# story of the order suite now: tests/faults/order_suite.py, tests/faults/test_order_suite.py.
