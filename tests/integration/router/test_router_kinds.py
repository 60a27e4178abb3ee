"""Every event kind the router owns is produced, to the audience the defaults promise."""

import pytest

from tests.helpers import effects, sample, write_scenario
from warden_local.replay import replay

UNMUTE_ALL = {"routing": {"rules": [{"name": "hear-everything", "match": {"events": ["pipeline.superseded"]},
                                     "mute": False}]}}


@pytest.mark.parametrize(("event_file", "kind", "topic", "severity"), [
    ("codepipeline/pipeline-started.json", "pipeline.started", "TeamTopic", "info"),
    ("codepipeline/pipeline-succeeded.json", "pipeline.succeeded", "TeamTopic", "info"),
    ("codepipeline/pipeline-failed.json", "pipeline.failed", "OnCallTopic", "critical"),
    ("codepipeline/pipeline-stopped.json", "pipeline.stopped", "TeamTopic", "info"),
    ("codepipeline/pipeline-superseded.json", "pipeline.superseded", "TeamTopic", "info"),
    ("codepipeline/stage-failed-build.json", "stage.failed", "OnCallTopic", "critical"),
    ("codepipeline/action-failed-build.json", "action.failed", "OnCallTopic", "critical"),
    ("codepipeline/action-failed-deploy.json", "action.failed", "OnCallTopic", "critical"),
    ("codepipeline/pipeline-started-rollback.json", "deployment.rolled_back", "OnCallTopic", "critical"),
    ("codedeploy/deployment-success.json", "deployment.succeeded", "TeamTopic", "info"),
    ("codedeploy/deployment-failure.json", "deployment.rolled_back", "OnCallTopic", "critical"),
    ("codedeploy/deployment-stop.json", "deployment.rolled_back", "OnCallTopic", "critical"),
])
def test_each_kind_reaches_its_audience(tmp_path, event_file, kind, topic, severity):
    doc = replay([write_scenario(tmp_path, [{"event": sample(event_file)}], config=UNMUTE_ALL)])
    [message] = effects(doc, "message", topic=topic)
    assert (message["event"], message["severity"]) == (kind, severity)
    assert message["attributes"]["severity"] == severity and message["attributes"]["event"] == kind


def test_superseded_is_muted_by_default_and_started_can_be_muted(tmp_path):
    config = {"routing": {"rules": [{"name": "no-starts", "match": {"events": ["pipeline.started"]},
                                     "mute": True}]}}
    steps = [{"event": sample("codepipeline/pipeline-superseded.json")},
             {"event": sample("codepipeline/pipeline-started.json")},
             {"event": sample("codepipeline/stage-started-source.json")}]
    doc = replay([write_scenario(tmp_path, steps, config=config)])
    assert effects(doc, "message") == []


def test_a_rule_redirects_failures_and_adds_its_runbook(tmp_path):
    config = {"routing": {"rules": [{"name": "payments-builds", "match": {"pipelines": ["payments-*"],
                                                                          "stages": ["Build"]},
                                     "audiences": ["team"], "severity": "warning",
                                     "runbook": "https://runbooks.example.com/builds"}]}}
    doc = replay([write_scenario(tmp_path, [{"event": sample("codepipeline/action-failed-build.json")}],
                                 config=config)])
    [message] = effects(doc, "message")
    assert (message["topic"], message["severity"]) == ("TeamTopic", "warning")
    assert "Runbook: https://runbooks.example.com/builds" in message["body"]
    assert effects(doc, "page") == []  # on-call is not an audience of this rule
