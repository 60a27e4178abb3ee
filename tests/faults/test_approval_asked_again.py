"""An approval rejected, its stage retried, the approval asked again: the second request is tracked, told
and escalated in every order of the deliveries (issue 28).

CodePipeline's own state is the story's end (every event has happened before any is delivered: the second
request is the action's latest run, pending with its own token); the deliveries then reach Warden in each
of the 120 orders of the five approval inputs, with the execution's FAILED (the rejection failed the stage)
at a place that moves with the order. One world serves every order: its tables are emptied between them.
`make faults` delivers all 120 orders; `make test` every sixth (20 orders, among them each input first).
"""

from __future__ import annotations

import copy
import itertools
import os
from collections import Counter

import pytest

from tests.helpers import sample
from tests.integration.approvals.test_approvals import RUN, TOKEN, approval_event, message, payments_world, started
from warden.core import clock
from warden_local.replay import Replayer, Scenario

FIRST, SECOND = "a1a1a1a1-0000-4000-8000-00000000000a", "b2b2b2b2-0000-4000-8000-00000000000b"  # action execution ids
TOKEN_AGAIN = "2e2e2e2e-6b1c-4d7e-9a5f-3c2b1e0d9f8b"
DELIVERED_AT = clock.parse_iso("2026-11-27T13:40:00Z")


def _failed_execution():
    event = sample("codepipeline/pipeline-failed.json", **{"execution-id": RUN})
    event["time"] = "2026-11-27T09:30:05Z"
    return event


def story() -> dict[str, dict]:
    rejected = approval_event("FAILED", at="2026-11-27T09:30:00Z", **{"action-execution-id": FIRST})
    rejected["detail"]["execution-result"] = {"external-execution-summary": "Not during the freeze."}
    return {
        "asked": approval_event("STARTED", at="2026-11-27T09:06:49Z", **{"action-execution-id": FIRST}),
        "asked message": message(),
        "rejected": rejected,
        "asked again": approval_event("STARTED", at="2026-11-27T10:00:00Z", **{"action-execution-id": SECOND}),
        "asked again message": message(token=TOKEN_AGAIN),
    }


STORY = story()  # fixed ids: every order delivers the same events
STARTED = started(RUN, "2026-11-27T09:00:02Z")
FAILED = _failed_execution()
IN_ORDER = ["asked", "asked message", "rejected", "asked again", "asked again message"]
FULL = os.environ.get("WARDEN_FAULTS") == "all"  # `make faults`: every order


@pytest.fixture(scope="module")
def deliver():
    """`deliver(order, failed_at)` -> (approval messages by (topic, event), approval items, dead letters)."""
    from warden_local import fakes
    from warden_local.world import World

    with World() as world:
        replayer = Replayer(world)
        replayer.run(Scenario("world", world=payments_world()))
        world.set_time(DELIVERED_AT)
        # Each request's message happens with its STARTED (CodePipeline sends it as the action starts): the
        # token the world holds for each action execution is the message's, as CodePipeline issued it.
        for event, at in [(STARTED, None), (STORY["asked message"], STORY["asked"]["time"]), (STORY["asked"], None),
                          (STORY["rejected"], None), (FAILED, None),
                          (STORY["asked again message"], STORY["asked again"]["time"]), (STORY["asked again"], None)]:
            fakes.apply_event(copy.deepcopy(event), at=at or event["time"])
        ddb = world.client("dynamodb")

        def run(order: list[str], failed_at: int):
            for lid, attrs in world.physical.items():  # every table emptied: a fresh Warden, the same CodePipeline
                if "TableName" in attrs:
                    for item in world.table_items(lid):
                        ddb.delete_item(TableName=attrs["TableName"],
                                        Key={k: {"S": item[k]} for k in attrs["Keys"]})
            inputs = [STORY[name] for name in order]
            inputs.insert(failed_at, FAILED)
            messages, dead, told = Counter(), [], []
            mark = world.begin()
            for event in [STARTED, *inputs]:
                for function, payload in replayer.routes(copy.deepcopy(event)):
                    if function == "ApprovalTracker":  # the story is the tracker's: the router's page aside
                        world.invoke(function, payload)
            for effect in world.effects(mark):
                if effect["kind"] == "dead_letter":
                    dead.append(effect)
                if effect["kind"] == "message" and (effect["event"] or "").startswith("approval."):
                    messages[effect["topic"], effect["event"]] += 1
                    told.append(effect)
            items = [i for i in world.table_items("StateTable") if i["pk"].startswith("approval#")]
            return messages, items, dead, told

        yield run


def test_the_second_request_is_tracked_and_told_in_every_order(deliver):
    orders = list(itertools.permutations(IN_ORDER))
    assert len(orders) == 120
    chosen = [(i, o) for i, o in enumerate(orders) if FULL or i % 6 == 0]
    assert {o[0] for _, o in chosen} == set(IN_ORDER)  # each input delivered first, the rejection among them
    for index, order in chosen:
        messages, items, dead, told = deliver(list(order), index % 6)
        where = (order, index % 6)
        assert dead == [], where
        # Given in any order: the second request is pending, keyed by its own action execution, with its token
        [again] = [i for i in items if i.get("action_execution_id") == SECOND]
        assert (again["status"], again["token"], again["execution_id"]) == ("pending", TOKEN_AGAIN, RUN), where
        assert again.get("gsi1pk") == "approvals#pending", where  # the sweep will remind and escalate it
        # And the first is the rejected one, whichever of its inputs came after the rejection
        [first] = [i for i in items if i.get("action_execution_id") == FIRST]
        assert first["status"] == "rejected" and first["comment"] == "Not during the freeze.", where
        assert len(items) == 2, where
        # Then approvers were asked for the second request once, with its own review link, and the team told of
        # the rejection once; the first request was announced at most once (not when its inputs came after
        # the rejection: nobody is asked for an approval already decided)
        needed = [m for m in told if m["event"] == "approval.needed" and m["topic"] == "ApproversTopic"]
        assert sum(f"approve/{TOKEN_AGAIN}" in m["body"] for m in needed) == 1, where
        assert len(needed) in (1, 2) and not any(f"approve/{TOKEN}" in m["body"] for m in needed), where
        assert messages["TeamTopic", "approval.rejected"] == 1, where


def test_in_order_the_first_request_is_announced_then_rejected_then_the_second_announced(deliver):
    messages, items, dead, _ = deliver(IN_ORDER, 3)
    assert messages == Counter({("ApproversTopic", "approval.needed"): 2, ("ChatTopic", "approval.needed"): 2,
                                ("TeamTopic", "approval.rejected"): 1, ("ApproversTopic", "approval.rejected"): 1})
