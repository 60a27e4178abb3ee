"""Scenarios name their world: the tools account and region it is, and responses saved for later steps.

The AWS documentation's events, and whatever a user captures, come from 123456789012 in us-east-2; a
scenario that says so gets a world that is that account and region, so its CreatePipeline with a role
of that account succeeds and the approval is tracked, reminded and escalated as in production.
"""

import json

import jsonschema

from tests.helpers import EVENTS, SCHEMA, effects, pipeline_world, sample
from warden_local.replay import replay

SCENARIOS = EVENTS / "scenarios"


def test_given_a_scenario_in_123456789012_us_east_2_then_its_approval_is_reminded_at_4h_and_escalated_at_8h():
    doc = replay([str(SCENARIOS / "approval-own-account.json")])
    jsonschema.validate(doc, SCHEMA)
    escalated = sorted((step["at"], e["topic"]) for step in doc["steps"] for e in step["effects"]
                       if e["kind"] == "message" and e["event"] == "approval.escalated")
    assert escalated == [("2026-11-27T13:10:00Z", "ApproversTopic"),
                         ("2026-11-27T17:10:00Z", "OnCallTopic"), ("2026-11-27T17:10:00Z", "TeamTopic")]
    assert not any("could not confirm" in e["body"] for e in effects(doc, "message", event="approval.escalated"))
    [item] = [i for i in doc["tables"]["StateTable"] if i["pk"].startswith("approval#")]
    # The world's own account and region: not a workload account's approval.
    assert item["pk"] == "approval#123456789012#us-east-2#payments-api"
    assert item["status"] == "approved" and sorted(item["fired"]) == ["escalate", "remind"]
    # The links point at the region the pipeline is in.
    [needed] = effects(doc, "message", event="approval.needed", topic="ApproversTopic")
    assert "region=us-east-2" in needed["body"]


def test_a_saved_response_is_substituted_into_later_params_and_inline_events(tmp_path, world):
    failed = sample("codepipeline/pipeline-failed.json", **{"execution-id": "${run.pipelineExecutionId}"})
    scenario = {
        "world": pipeline_world() + [
            {"call": "kms:CreateKey", "params": {"Description": "audit"}, "save": "key"}],
        "steps": [
            {"at": "2026-11-27T09:00:00Z", "call": "sqs:CreateQueue", "save": "queue",
             "params": {"QueueName": "audit", "Attributes": {"KmsMasterKeyId": "${key.KeyMetadata.Arn}"}}},
            {"at": "2026-11-27T09:00:00Z", "call": "sqs:TagQueue",
             "params": {"QueueUrl": "${queue.QueueUrl}", "Tags": {"key": "${key.KeyMetadata.KeyId}"}}},
            {"at": "2026-11-27T09:01:00Z", "call": "codepipeline:StartPipelineExecution",
             "params": {"name": "payments-api"}, "save": "run"},
            {"at": "2026-11-27T09:10:00Z", "event": failed},
        ]}
    path = tmp_path / "saved.json"
    path.write_text(json.dumps(scenario))
    doc = replay([str(path)], world=world)
    jsonschema.validate(doc, SCHEMA)
    sqs = world.client("sqs")
    url = sqs.get_queue_url(QueueName="audit")["QueueUrl"]
    key = world.client("kms").list_keys()["Keys"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["KmsMasterKeyId"])["Attributes"]["KmsMasterKeyId"]
    assert arn in [k["KeyArn"] for k in key]
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"]["key"] == arn.rsplit("/", 1)[1]
    [run] = world.client("codepipeline").list_pipeline_executions(pipelineName="payments-api")[
        "pipelineExecutionSummaries"]
    [execution] = [i for i in doc["tables"]["LedgerTable"] if i["sk"] == "EXECUTION"]
    assert execution["execution_id"] == run["pipelineExecutionId"] and execution["status"] == "FAILED"


def test_every_bundled_scenario_follows_the_scenario_schema():
    local = json.loads((EVENTS.parent / "tests" / "contract" / "replay.schema.json").read_text())
    scenario_schema = {"$ref": "#/$defs/scenario", "$defs": local["$defs"]}
    for path in sorted(SCENARIOS.glob("*.json")):
        jsonschema.validate(json.loads(path.read_text()), scenario_schema)
