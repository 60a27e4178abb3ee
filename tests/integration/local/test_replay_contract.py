"""`warden replay` against the contract: every sample, the document schema, idempotency, dead letters."""

import json

import jsonschema
import pytest

from tests.helpers import EVENTS, SCHEMA, effects, sample, write_scenario
from warden_local.replay import replay

SAMPLES = sorted(p for p in EVENTS.rglob("*.json"))


def valid(doc):
    jsonschema.validate(doc, SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return doc


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: str(p.relative_to(EVENTS)))
def test_every_sample_replays_to_the_documented_json(path):
    doc = valid(replay([str(path)]))
    assert doc["steps"], "a sample yields at least one step"
    assert not effects(doc, "dead_letter"), "a documented sample must never be dead-lettered"
    assert "LedgerTable" in doc["tables"] and "IdempotencyTable" not in doc["tables"]


def test_codepipeline_and_codedeploy_samples_reach_the_router():
    for folder in ("codepipeline", "codedeploy"):
        for path in (EVENTS / folder).glob("*.json"):
            step = replay([str(path)])["steps"][0]
            assert "NotificationRouter" in step["routed_to"], path.name


def test_alarm_events_do_not_reach_the_router():
    step = replay([str(EVENTS / "cloudwatch" / "alarm-5xx-alarm.json")])["steps"][0]
    assert "NotificationRouter" not in step["routed_to"]


def test_the_same_event_delivered_twice_publishes_once(tmp_path):
    started = sample("codepipeline/pipeline-started.json")
    path = tmp_path / "started.json"
    path.write_text(json.dumps(started))
    doc = valid(replay([str(path), str(path)]))
    first, second = doc["steps"]
    assert [e["topic"] for e in first["effects"] if e["kind"] == "message"] == ["TeamTopic"]
    assert [e for e in second["effects"] if e["kind"] == "message"] == []


def test_a_malformed_event_is_dead_lettered_with_the_field_named(tmp_path):
    broken = sample("codepipeline/action-failed-build.json")
    del broken["detail"]["stage"]
    doc = valid(replay([write_scenario(tmp_path, [{"event": broken}])]))
    [dead] = effects(doc, "dead_letter")
    assert dead["function"] == "NotificationRouter"
    assert "detail.stage" in dead["error"] and "Field required" in dead["error"]
    assert effects(doc, "message") == [] and effects(doc, "page") == []


def test_an_input_no_route_accepts_is_reported(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}))
    [step] = valid(replay([str(path)]))["steps"]
    assert step["routed_to"] == [] and step["effects"] == []
    assert "no route" in step["note"]


def test_a_scenario_step_time_and_relative_event_files(tmp_path):
    (tmp_path / "ev.json").write_text(json.dumps(sample("codepipeline/pipeline-succeeded.json")))
    doc = valid(replay([write_scenario(tmp_path, [{"at": "2026-11-27T13:10:00Z", "event": "ev.json"}])]))
    [step] = doc["steps"]
    assert step["at"] == "2026-11-27T13:10:00Z"
    assert step["input"].endswith("ev.json")


def test_a_dead_lettered_event_is_logged_with_its_reason(tmp_path, world):
    broken = sample("codepipeline/pipeline-failed.json")
    broken["detail"]["execution-id"] = None
    replay([write_scenario(tmp_path, [{"event": broken}])], world=world)
    logged = [json.loads(line) for line in world.logs.getvalue().splitlines() if line.startswith("{")]
    [error] = [entry for entry in logged
               if entry.get("message") == "dead-lettered" and entry.get("function_name") == "NotificationRouter"]
    assert error["level"] == "ERROR" and "detail.execution-id" in error["error"]


@pytest.mark.parametrize(("function", "broken"), [
    ("ApprovalTracker", {"region": "us-east-1", "consoleLink": "https://console", "approval": {"pipelineName": "p"}}),
    ("DeploymentTracker", {**sample("codepipeline/pipeline-failed.json"), "detail": {"pipeline": "payments-api"}}),
])
def test_every_event_driven_function_dead_letters_invalid_input_once_with_its_reason(tmp_path, world, function,
                                                                                   broken):
    doc = valid(replay([write_scenario(tmp_path, [{"event": broken}])], world=world))
    dead = [e for e in effects(doc, "dead_letter") if e["function"] == function]
    assert len(dead) == 1, effects(doc, "dead_letter")
    assert dead[0]["error"].startswith("InvalidEvent: invalid") and "\n" not in dead[0]["error"]
    # Logged once, and not retried: retrying an invalid event cannot help.
    logged = [json.loads(line) for line in world.logs.getvalue().splitlines() if line.startswith("{")]
    assert [e["error"] for e in logged if e.get("message") == "dead-lettered" and e.get("function_name") == function
            ] == [dead[0]["error"]]
