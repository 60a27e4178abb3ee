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
    assert "✉ on-call, chat: [CRITICAL] payments-api: Build/Compile failed" in out
    assert "☎ pages on-call (critical): payments-api: Build/Compile failed" in out
    assert "✉ approvers, chat: [INFO] payments-api: approval needed" in out
    assert "✉ team, chat: [INFO] payments-api succeeded" in out
    assert "☎ page resolved: pipeline/payments-api" in out


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
    good = tmp_path / "routing.json"
    good.write_text(json.dumps({"rules": [{"name": "quiet", "match": {"pipelines": ["sandbox-*"]}, "mute": True}]}))
    run = warden("config", "validate", str(good))
    assert run.returncode == 0 and "valid" in run.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rules": [{"name": "quiet", "match": {"pipeline": ["x"]}}]}))
    assert "routing.rules[0] (name 'quiet').match.pipeline" in one_line_error(
        warden("config", "validate", "--name", "/pipeline-warden/prod/routing", str(bad)))
    assert "no such file" in one_line_error(warden("config", "validate", str(tmp_path / "none.json")))


def test_demo_fails_naming_the_step_when_the_story_dead_letters(tmp_path, monkeypatch, capsys):
    from warden_local import cli, demo

    story = json.loads((ROOT / "events" / "scenarios" / "demo.json").read_text())
    broken = json.loads((EVENTS / "codepipeline" / "pipeline-failed.json").read_text())
    broken["time"] = "yesterday"  # routed (rules match detail-type and state), then rejected: dead-lettered
    story["steps"] = story["steps"][:2] + [{"at": "2026-11-27T09:30:00Z", "event": broken}]
    path = tmp_path / "story.json"
    path.write_text(json.dumps(story))
    monkeypatch.setattr(demo, "STORY", path)
    assert cli.main(["demo"]) == cli.EXIT_DEMO_FAILED
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors and all(line.startswith("warden: demo failed at ") for line in errors)
    assert any("story.json#steps[2]" in line and "DLQ of NotificationRouter" in line for line in errors), errors


def test_demo_failures_lists_each_dead_letter_with_its_step():
    from warden_local.demo import failures

    doc = {"steps": [
        {"input": "a", "at": "t1", "effects": [{"kind": "message"}]},
        {"input": "b", "at": "t2", "effects": [{"kind": "dead_letter", "function": "F", "error": "KeyError: x"}]},
        {"input": "c", "at": "t3", "effects": [], "note": "no route in template.yaml accepts this input"},
    ]}
    assert failures(doc) == ["t2 b: DLQ of F: KeyError: x"]


def test_ledger_stack_signs_with_the_callers_profile_and_region(tmp_path):
    """`--stack` is a real account: the caller's standard credential chain and region (here a profile), never
    the embedded world's `testing` keys, session token or us-east-1."""
    import http.server
    import threading

    seen: list[dict] = []

    class Endpoint(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(dict(self.headers))
            body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>"
                    b"<Message>Stack with id payments does not exist</Message></Error></ErrorResponse>")
            self.send_response(400)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (tmp_path / "credentials").write_text("[adopter]\naws_access_key_id = AKIAADOPTEREXAMPLE\n"
                                          "aws_secret_access_key = adopter-secret\n")
    (tmp_path / "config").write_text("[profile adopter]\nregion = eu-west-2\n")
    env = {"HOME": str(tmp_path), "AWS_PROFILE": "adopter", "AWS_CONFIG_FILE": str(tmp_path / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{server.server_port}", "AWS_MAX_ATTEMPTS": "1"}
    try:
        run = subprocess.run([sys.executable, "-m", "warden_local.cli", "ledger", "current", "--stack", "payments"],
                             capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)
    finally:
        server.shutdown()
    assert "Stack with id payments does not exist" in one_line_error(run)
    [request] = seen
    assert "Credential=AKIAADOPTEREXAMPLE/" in request["Authorization"]
    assert "/eu-west-2/cloudformation/aws4_request" in request["Authorization"]
    assert "X-Amz-Security-Token" not in request
