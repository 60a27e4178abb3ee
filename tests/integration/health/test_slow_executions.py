"""pipeline.slow: once per execution still running past its pipeline's threshold, found by the scheduled
sweep from the ledger's running index (issue 13)."""

from tests.helpers import effects, sample, write_scenario
from warden_local.replay import replay

SLOW_RUN = "5a1f0c3e-7b2d-4e9a-8c6f-1d3b5e7a9c20"
QUICK_RUN = "6b2e1d4f-8c3e-4fab-9d70-2e4c6f8b0d31"


def started(execution_id, at):
    return {"at": at, "event": sample("codepipeline/pipeline-started-v2-git-push.json", **{
        "execution-id": execution_id, "start-time": at}) | {"time": at}}


def succeeded(execution_id, start, at):
    return {"at": at, "event": sample("codepipeline/pipeline-succeeded.json", **{
        "execution-id": execution_id, "start-time": start}) | {"time": at}}


def sweep(at):
    return {"at": at, "schedule": "ApprovalEscalator"}


def slow_messages(step):
    return [e for e in step["effects"] if e["kind"] == "message" and e["event"] == "pipeline.slow"]


def test_a_45_minute_execution_is_slow_once_at_the_first_sweep_past_30_minutes(tmp_path):
    steps = [started(SLOW_RUN, "2026-11-27T09:00:00Z"), started(QUICK_RUN, "2026-11-27T09:00:00Z"),
             sweep("2026-11-27T09:25:00Z"), succeeded(QUICK_RUN, "2026-11-27T09:00:00Z", "2026-11-27T09:29:00Z"),
             sweep("2026-11-27T09:30:00Z"), sweep("2026-11-27T09:35:00Z"), sweep("2026-11-27T09:40:00Z"),
             succeeded(SLOW_RUN, "2026-11-27T09:00:00Z", "2026-11-27T09:45:00Z"), sweep("2026-11-27T09:50:00Z")]
    doc = replay([write_scenario(tmp_path, steps)])
    per_step = [(step["at"], len(slow_messages(step))) for step in doc["steps"]]
    assert [n for _, n in per_step] == [0, 0, 0, 0, 0, 1, 0, 0, 0], per_step
    [message] = slow_messages(doc["steps"][5])
    assert message["topic"] == "TeamTopic" and message["severity"] == "warning"
    assert message["pipeline"] == "payments-api"
    # It names the release and how long it has been running; the quick execution is never mentioned.
    assert "running for 35m" in message["body"] and SLOW_RUN in message["body"]
    assert "Commit: e4d2c0b Enable connection pooling" in message["body"] and "Author: Wei Zhang" in message["body"]
    assert QUICK_RUN not in str(effects(doc, "message", event="pipeline.slow"))
    # Finished executions leave the running index: nothing is left for the next sweep to read.
    ledger = doc["tables"]["LedgerTable"]
    assert not [i for i in ledger if i.get("gsi4pk")]


def test_the_threshold_is_per_pipeline_in_the_routing_document(tmp_path):
    config = {"routing": {"slow_executions": [{"pipelines": ["payments-*"], "minutes": 60}]}}
    steps = [started(SLOW_RUN, "2026-11-27T09:00:00Z"), sweep("2026-11-27T09:45:00Z"),
             sweep("2026-11-27T10:01:00Z")]
    doc = replay([write_scenario(tmp_path, steps, config=config)])
    assert [len(slow_messages(s)) for s in doc["steps"]] == [0, 0, 1]


def test_a_late_started_event_does_not_put_a_finished_execution_back_in_the_running_index(tmp_path):
    steps = [succeeded(SLOW_RUN, "2026-11-27T09:00:00Z", "2026-11-27T09:20:00Z"),
             started(SLOW_RUN, "2026-11-27T09:00:00Z"), sweep("2026-11-27T10:00:00Z")]
    doc = replay([write_scenario(tmp_path, steps)])
    assert effects(doc, "message", event="pipeline.slow") == []
    assert not [i for i in doc["tables"]["LedgerTable"] if i.get("gsi4pk")]
