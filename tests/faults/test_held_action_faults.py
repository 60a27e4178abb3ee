"""A pipeline's CodeDeploy action held by the gate (warden.router.router) under faults: the team's message fails
past botocore's retries (SNS throttled every attempt), or one answer is lost. Nobody is paged either way; the team
is told exactly once in the end (a lost answer: at most one message more, the retry's): the telling is an effect
logged under the deployment's hold, so Lambda's retry, and every other failure event of the same hold, redo only
what did not happen."""

from __future__ import annotations

import pytest

from tests.faults.inject import BOTOCORE_ATTEMPTS
from tests.integration.freeze.test_held_by_gate import begin, deliver, effects
from tests.integration.freeze.test_held_codedeploy_action import held_at_christmas, open_incident


@pytest.mark.parametrize(("times", "lost", "told"), [(BOTOCORE_ATTEMPTS, False, [1]), (1, True, [1, 2])],
                         ids=["failed", "answer-lost"])
def test_a_held_action_told_despite_a_failed_publish_is_told_once_and_pages_nobody(world, faults, times, lost, told):
    # Given a pipeline's CodeDeploy deployment held by the Christmas freeze
    _, failure, events = held_at_christmas(world)
    mark = begin(world)
    # When the team's message of the stage's FAILED fails every botocore attempt (Lambda retries the event), or
    # is sent and its answer lost
    faults.fail("sns:Publish", times, lost=lost)
    outcome = deliver(world, events["stage"])
    assert outcome.error is None and outcome.result["status"] == "held"
    # And the other failure events follow, each twice
    for event in (events["action"], events["run"], failure, events["action"], events["run"]):
        deliver(world, event)
    # Then nobody is paged, no incident opens, and the team hears it once (a lost answer: at most once more)
    pages, oncall, held = effects(world, mark)
    assert pages == [] and oncall == [] and len(held) in told
    assert open_incident(world) is None
