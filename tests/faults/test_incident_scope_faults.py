"""Where a failure failed, recorded on its incident (warden.notify.incidents), under faults: the write that
records it failing past botocore's retries fails the event, which Lambda retries (and dead-letters past its
retries, to be redriven), so a stage is never lost silently and the deployment gate never reads a production
failure as "Build only". Through the freeze story's world (tests/integration/freeze/test_incident_scope.py)."""

from __future__ import annotations

import copy
from datetime import timedelta

from tests.faults.inject import BOTOCORE_ATTEMPTS, LAMBDA_ATTEMPTS
from tests.integration.freeze.test_incident_scope import (
    T0,
    E,
    F,
    action_failed,
    build_fails,
    enters,
    held,
    pipeline_failed,
    sets,
    stage_failed,
    started,
)
from tests.integration.freeze.test_incident_scope import story as story  # noqa: F401 (the fixture)


def _fold(body: bytes) -> bool:
    """The fold's UpdateItem: an ADD to the record's sets, no SET (not the opening, not a take-over)."""
    return b"ADD " in body and b"failed_stages" in body and b"SET " not in body


def _pages(result):
    return [e["action"] for e in result["effects"] if e["kind"] == "page"]


def test_a_fold_whose_record_fails_once_is_retried_and_its_stage_counts(world, story, faults):  # noqa: F811
    _, deliver = story
    # Given D failed in Build (the incident open) and E reached Deploy-Prod
    build_fails(deliver)
    deliver(started(E, T0 + timedelta(minutes=30)))
    deliver(enters(E, T0 + timedelta(minutes=40)))
    # When E's Deploy-Prod failure folds into it and the write recording it is throttled past botocore's retries
    rule = faults.fail("dynamodb:UpdateItem", BOTOCORE_ATTEMPTS, when=_fold)
    folded = deliver(stage_failed(E, "Deploy-Prod", T0 + timedelta(minutes=45)))
    faults.clear()
    # Then that Lambda attempt failed, the retry recorded the stage: nothing dead-lettered, nobody paged twice
    assert rule.failed == BOTOCORE_ATTEMPTS
    assert not [e for e in folded["effects"] if e["kind"] == "dead_letter"]
    assert _pages(folded) == []
    assert sets(world)["failed_stages"] == {"Build", "Deploy-Prod"}
    deliver(started(F, T0 + timedelta(minutes=50)))
    assert "failed in production stage Deploy-Prod" in held(deliver(enters(F, T0 + timedelta(minutes=55))))


def test_a_fold_whose_record_fails_every_attempt_is_dead_lettered_and_its_redrive_counts(world, story, faults):  # noqa: F811
    _, deliver = story
    build_fails(deliver)
    deliver(started(E, T0 + timedelta(minutes=30)))
    deliver(enters(E, T0 + timedelta(minutes=40)))
    # When the record of E's Deploy-Prod failure fails on every Lambda attempt
    event = stage_failed(E, "Deploy-Prod", T0 + timedelta(minutes=45))
    faults.fail("dynamodb:UpdateItem", BOTOCORE_ATTEMPTS * LAMBDA_ATTEMPTS, when=_fold)
    folded = deliver(copy.deepcopy(event))
    faults.clear()
    # Then the event is dead-lettered (said, not silent), and the stage is not recorded yet
    [dead] = [e for e in folded["effects"] if e["kind"] == "dead_letter"]
    assert dead["function"] == "NotificationRouter" and "Throttling" in dead["error"]
    assert sets(world)["failed_stages"] == {"Build"}
    # And once redriven, it counts
    assert world.invoke("NotificationRouter", copy.deepcopy(event)).error is None
    assert sets(world)["failed_stages"] == {"Build", "Deploy-Prod"}


def test_the_stage_an_openers_enrichment_found_is_recorded_by_its_retry_without_a_second_page(world, story, faults):  # noqa: F811
    _, deliver = story
    from warden_local import fakes

    deliver(started(E, T0))
    # Given E failed in Deploy-Prod, and its pipeline FAILED is the first failure event heard (it opens the
    # incident, its enrichment finds the stage)
    fakes.apply_event(action_failed(E, "Deploy-Prod", T0 + timedelta(minutes=5), action="Deploy"))

    def placing(body: bytes) -> bool:
        return _fold(body) and b"Deploy-Prod" in body

    # When the write recording the stage the enrichment found fails past botocore's retries once
    rule = faults.fail("dynamodb:UpdateItem", BOTOCORE_ATTEMPTS, when=placing)
    opened = deliver(pipeline_failed(E, T0 + timedelta(minutes=5, seconds=5)))
    faults.clear()
    # Then the retry recorded it, on-call was paged once, and nothing is dead-lettered
    assert rule.failed == BOTOCORE_ATTEMPTS
    assert _pages(opened) == ["trigger"]
    assert not [e for e in opened["effects"] if e["kind"] == "dead_letter"]
    assert sets(world)["failed_stages"] == {"Deploy-Prod"}
