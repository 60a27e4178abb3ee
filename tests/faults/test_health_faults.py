"""Health against each pipeline's own history (warden.health.watch) survives one failed call of each kind in
the sweep: failing past botocore's retries (the sweep's Lambda attempt fails, and Lambda retries the same
scheduled event) and a lost answer (the call happened, its answer did not arrive). Each slowdown and the
stuck stage are told once (a lost publish answer may add one message, never lose one)."""

from __future__ import annotations

import uuid

import pytest

from tests.faults.inject import BOTOCORE_ATTEMPTS
from tests.helpers import write_scenario
from tests.integration.health.test_history_story import _t, story
from warden.core.clock import parse_iso
from warden_local.replay import replay

AT = _t(13, 180)
TOLD = ["(execution) is slower than its own history", "Build is slower than its own history", "Build looks stuck"]


def _scheduled(at: str) -> dict:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "111122223333", "time": at, "region": "us-east-1", "resources": [], "detail": {}}


@pytest.mark.parametrize("api", ["sns:Publish", "dynamodb:UpdateItem", "dynamodb:Query"])
@pytest.mark.parametrize("mode", ["every_attempt", "lost"])
def test_a_failing_call_of_the_health_sweep_tells_each_finding_once(world, faults, tmp_path, api, mode):
    # Given the story's ledger: two slowdowns and a stuck stage to tell
    replay([write_scenario(tmp_path, story())], world=world)
    world.set_time(parse_iso(AT))
    mark = world.begin()
    # When one call of the sweep fails (past botocore's retries, or its answer is lost)
    if mode == "lost":
        faults.fail(api, 1, lost=True)
    else:
        faults.fail(api, BOTOCORE_ATTEMPTS)
    outcome = world.invoke("ApprovalEscalator", _scheduled(AT))
    faults.clear()
    if outcome.error is not None:  # dead-lettered after Lambda's retries: the next sweep finishes it
        world.invoke("ApprovalEscalator", _scheduled(_t(13, 181)))
    # Then each finding was told, once (a lost publish answer: one may go out twice)
    told = sorted(e["subject"].split("payments-api: ", 1)[1].split(" (")[0] for e in world.effects(mark)
                  if e["kind"] == "message" and e["event"] == "pipeline.slow" and "still running" not in e["subject"])
    if (api, mode) == ("sns:Publish", "lost"):  # the lost one may be another sweep's message, or one of these
        assert sorted(set(told)) == TOLD and len(told) <= len(TOLD) + 1, told
    else:
        assert told == TOLD, (api, mode, told)


@pytest.mark.parametrize("api", ["dynamodb:UpdateItem", "dynamodb:DeleteItem"])
@pytest.mark.parametrize("mode", ["every_attempt", "lost"])
def test_a_failing_call_of_the_stuck_resolve_still_resolves_the_page_once(world, faults, tmp_path, api, mode):
    from tests.integration.health.test_history_story import PIPELINE, PIPELINE_EVENT, STAGE_EVENT, _event

    # Given h13 paged as stuck (sweeps at 09:00 and 09:05), then ended
    replay([write_scenario(tmp_path, story())], world=world)
    for at in (_t(13, 180), _t(13, 185)):
        world.set_time(parse_iso(at))
        world.invoke("ApprovalEscalator", _scheduled(at))
    trigger = {"execution-trigger": {"trigger-type": "WebhookV2", "commit-id": "13" * 20,
                                     "author-display-name": "Dev", "branch-name": "main"}}
    ended = [_event(STAGE_EVENT, PIPELINE, "h13", "FAILED", _t(13, 190), stage="Build"),
             _event(PIPELINE_EVENT, PIPELINE, "h13", "FAILED", _t(13, 190), **trigger)]
    replay([write_scenario(tmp_path, [{"at": e["time"], "event": e} for e in ended], world=[],
                                   name="ended.json")],
           world=world)
    world.set_time(parse_iso(_t(13, 195)))
    mark = world.begin()
    # When one call of the resolve fails (past botocore's retries, or its answer is lost)
    only = (lambda body: b"resolved" in body) if api == "dynamodb:UpdateItem" else (lambda body: b"stuck#" in body)
    rule = faults.fail(api, 1 if mode == "lost" else BOTOCORE_ATTEMPTS, only, lost=mode == "lost")
    outcome = world.invoke("ApprovalEscalator", _scheduled(_t(13, 195)))
    faults.clear()
    assert rule.failed >= 1
    if outcome.error is not None:  # dead-lettered after Lambda's retries: the next sweep finishes it
        world.invoke("ApprovalEscalator", _scheduled(_t(13, 196)))
    world.invoke("ApprovalEscalator", _scheduled(_t(13, 200)))
    # Then the page was resolved (a retry may resolve it again, harmlessly), and nothing stays to resolve
    resolves = [e["dedup_key"] for e in world.effects(mark) if e["kind"] == "page" and e["action"] == "resolve"]
    assert set(resolves) == {f"pipeline-warden/stuck/{PIPELINE}/h13"} and len(resolves) <= 2, resolves
    later = world.begin()
    world.invoke("ApprovalEscalator", _scheduled(_t(13, 205)))
    assert [e for e in world.effects(later) if e["kind"] == "page"] == []
