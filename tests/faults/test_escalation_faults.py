"""The escalation of several approvals of one execution (one page, one message per audience, claims and
sent marks in transactions) survives one failed call of each kind: a failure past botocore's retries (the
sweep's Lambda attempt fails and is retried) and a lost answer (the write happened, its answer did not
arrive). Each audience hears once (a lost publish answer may add one message, never lose one), on-call is
paged once, and every approval counts the tier as fired."""

from __future__ import annotations

import uuid

import pytest

from tests.faults.inject import BOTOCORE_ATTEMPTS
from tests.helpers import write_scenario
from tests.integration.approvals.test_approvals import RUN, gated_requests, gated_world, started
from warden.core.clock import parse_iso
from warden_local.replay import replay

AT = "2026-11-27T17:10:00Z"


def _scheduled():
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "111122223333", "time": AT, "region": "us-east-1", "resources": [], "detail": {}}


@pytest.mark.parametrize("api", ["dynamodb:TransactWriteItems", "sns:Publish", "dynamodb:UpdateItem",
                                 "codepipeline:GetPipelineState"])
@pytest.mark.parametrize("mode", ["every_attempt", "lost"])
def test_a_failing_call_of_the_grouped_escalation_tells_and_pages_once(world, faults, tmp_path, api, mode):
    # Given one execution waiting at three approval actions, 8 h on
    replay([write_scenario(tmp_path, [{"event": started(RUN, "2026-11-27T09:00:02Z")}, *gated_requests()],
                           world=gated_world())], world=world)
    world.set_time(parse_iso(AT))
    mark = world.begin()
    # When one call of the sweep fails (past botocore's retries, or its answer is lost)
    if mode == "lost":
        faults.fail(api, 1, lost=True)
    else:
        faults.fail(api, BOTOCORE_ATTEMPTS)
    outcome = world.invoke("ApprovalEscalator", _scheduled())
    faults.clear()
    if outcome.error is not None:  # dead-lettered after Lambda's retries: the next sweep finishes it
        world.set_time(parse_iso("2026-11-27T17:20:00Z"))
        world.invoke("ApprovalEscalator", _scheduled())
    effects = world.effects(mark)
    # Then each audience heard once, on-call was paged once, and every approval counts the tier as fired
    told = sorted(e["topic"] for e in effects if e["kind"] == "message")
    if (api, mode) == ("sns:Publish", "lost"):  # the publish happened, its answer was lost: sent once more
        assert set(told) == {"OnCallTopic", "TeamTopic"} and len(told) == 3, told
    else:
        assert told == ["OnCallTopic", "TeamTopic"], (api, mode)
    assert len([e for e in effects if e["kind"] == "page" and e["action"] == "trigger"]) == 1, (api, mode)
    items = [i for i in world.table_items("StateTable") if i["pk"].startswith("approval#")]
    assert len(items) == 3 and all(sorted(i.get("fired", [])) == ["escalate"] for i in items), (api, mode)
