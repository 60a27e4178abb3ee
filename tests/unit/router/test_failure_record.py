"""What each failure event records on its incident (warden.router.router._failure): the stage, an unknown
stage of its execution, or a deployment. Given / When / Then."""

import json
import uuid

from tests.helpers import EVENTS
from tests.unit.fakes import InMemoryIncidents, RecordingNotifier, gateway
from warden.models import parse_event
from warden.notify.incidents import Failure
from warden.notify.notice import classify
from warden.router.router import NotificationRouter, _failure


def sample(path, **detail):
    event = json.loads((EVENTS / path).read_text())
    event["id"] = str(uuid.uuid4())
    event["detail"].update(detail)
    return event


def test_each_failure_kind_says_where_it_failed():
    stage = classify(parse_event(sample("codepipeline/stage-failed-build.json")))
    assert _failure(stage) == Failure(stage.execution_id, stage="Build")
    pipeline = classify(parse_event(sample("codepipeline/pipeline-failed.json")))
    assert _failure(pipeline) == Failure(pipeline.execution_id)  # unknown until its enrichment
    assert _failure(pipeline).placed("Build") == Failure(pipeline.execution_id, stage="Build")
    rollback = classify(parse_event(sample("codepipeline/pipeline-started-rollback.json")))
    assert rollback.event == "deployment.rolled_back"
    assert _failure(rollback) == Failure(rollback.execution_id, deployment=True)
    assert _failure(rollback).placed("Deploy-Prod").stage is None  # a deployment stays a deployment


def test_a_fold_records_its_stage_on_the_open_incident():
    incidents = InMemoryIncidents()
    router = NotificationRouter(notifier=RecordingNotifier(), incidents=incidents, codepipeline=gateway())
    # Given an incident opened by a Build failure
    router.handle(parse_event(sample("codepipeline/stage-failed-build.json")))
    # When a Deploy-Prod failure of the same pipeline folds into it
    folded = router.handle(parse_event(sample("codepipeline/stage-failed-build.json", stage="Deploy-Prod")))
    # Then it is recorded there, beside Build
    assert folded["status"] == "folded"
    [item] = incidents.items.values()
    assert {f.stage for f in item["failures"]} == {"Build", "Deploy-Prod"}
