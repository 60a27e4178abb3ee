"""The `warden` command: its output, and one clear line with exit status 2 for bad input."""

import json
import subprocess
import sys

import pytest

from tests.helpers import EVENTS, ROOT


def warden(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "warden_local.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def one_line_error(run):
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warden: "), run.stderr
    assert run.stdout == ""
    return lines[0]


def test_demo_timeline_shows_page_approval_and_success():
    run = warden("demo")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "OnCallTopic" in out and "☎ PagerDuty       trigger" in out
    assert "ApproversTopic" in out and "approval needed" in out
    assert "TeamTopic" in out and "succeeded" in out
    assert "resolve" in out


def test_replay_json_prints_one_document():
    run = warden("replay", "--json", str(EVENTS / "codepipeline" / "pipeline-failed.json"))
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert "NotificationRouter" in doc["steps"][0]["routed_to"]


@pytest.mark.parametrize(("content", "expected"), [
    (None, "no such file"),
    ("{not json", "invalid JSON"),
    ('{"steps": [{"at": "2026-11-27T09:00:00Z"}]}', "a step has exactly one of"),
    ('{"steps": [{"schedule": "NoSuchFunction"}]}', "unknown schedule 'NoSuchFunction'"),
    ('{"steps": [{"at": "yesterday", "event": {}}]}', "'at' is not an ISO 8601 time"),
    ('{"steps": "all of them"}', "'steps' must be a list"),
    ('{"config": {"routing": {"rules": [{"name": "x", "severity": "loud"}]}}, "steps": []}',
     "routing.rules[0] (name 'x').severity"),
    ('{"acount": "123456789012", "steps": []}', "unknown key 'acount'"),
    ('{"region": "Ohio", "steps": []}', "'region' is not an AWS region name"),
    ('{"steps": [{"call": "sqs:CreateQueue", "params": {"QueueName": "${q.QueueUrl}"}}]}',
     "${q...} names no response saved by an earlier entry"),
    ('{"world": [{"call": "sqs:CreateQueue", "params": {"QueueName": "a"}, "save": "q"}],'
     ' "steps": [{"call": "sqs:GetQueueAttributes", "params": {"QueueUrl": "${q.Queue.Url}"}}]}',
     "${q.Queue.Url} cannot be resolved: the response has no q.Queue"),
])
def test_bad_replay_input_is_one_line_and_exit_2(tmp_path, content, expected):
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content)
    assert expected in one_line_error(warden("replay", str(path)))


def test_unknown_command_and_missing_arguments_exit_2():
    one_line_error(warden("explode"))
    one_line_error(warden("replay"))


def test_config_validate(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"routing": {"rules": [{"name": "quiet", "match": {"pipelines": ["sandbox-*"]},
                                                        "mute": True}]}}))
    run = warden("config", "validate", str(good))
    assert run.returncode == 0 and "valid" in run.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"routing": {"rules": [{"name": "quiet", "match": {"pipeline": ["x"]}}]}}))
    assert "routing.rules[0] (name 'quiet').match.pipeline" in one_line_error(warden("config", "validate", str(bad)))
    assert "no such file" in one_line_error(warden("config", "validate", str(tmp_path / "none.json")))
