"""A stored configuration document that does not validate, at run time, in the embedded world: routing keeps
its last valid version, rollback and artifacts act on nothing, and every case is counted and told to the team
once per stored value, naming the parameter and the error."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.helpers import pipeline_world, sample
from tests.integration.test_artifacts import BUCKET, T0, bucket_world, feed, start, sweep, writes
from warden_local.replay import Replayer, Scenario

TEAM_ONLY = {"rules": [{"name": "payments-to-the-team", "match": {"pipelines": ["payments-*"]},
                        "audiences": ["team", "chat"], "severity": "warning"}]}
WRAPPED_ERROR = "routing.routing: Extra inputs are not permitted"


def notices(step: dict) -> list[dict]:
    return [e for e in step["effects"] if e["kind"] == "message" and e["event"] == "config.invalid"]


def bodies(message: dict) -> str:
    return message["body"]


def fresh_containers(world) -> None:
    """The functions start afresh, as new Lambda containers would (nothing cached in memory)."""
    world._modules.clear()


def test_a_broken_routing_document_runs_its_last_valid_version_and_is_told_once(world):
    name = f"{world.parameter('ConfigPrefix')}/routing"
    ssm = world.client("ssm")
    ssm.put_parameter(Name=name, Type="String", Value=json.dumps(TEAM_ONLY))
    # Version 2: the form a scenario's `config` uses, which the function cannot read as the parameter's value.
    ssm.put_parameter(Name=name, Type="String", Overwrite=True, Value=json.dumps({"routing": TEAM_ONLY}))
    replayer = Replayer(world)
    replayer._setup(Scenario("test", world=pipeline_world()))

    failed = feed(replayer, sample("codepipeline/pipeline-failed.json"))
    told = {(m["topic"], m["severity"]) for m in failed["effects"]
            if m["kind"] == "message" and m["event"] == "pipeline.failed"}
    # The team's rule still decides (version 1), not the defaults' critical page to on-call.
    assert told == {("TeamTopic", "warning"), ("ChatTopic", "warning")}
    assert [e for e in failed["effects"] if e["kind"] == "page"] == []
    [notice] = notices(failed)
    assert notice["topic"] == "TeamTopic" and notice["severity"] == "high"
    assert notice["subject"] == f"[HIGH] Configuration {name} is invalid"
    body = bodies(notice)
    assert WRAPPED_ERROR in body and "version 1 of the parameter, the last that validates" in body
    assert '"InvalidConfiguration"' in world.logs.getvalue()

    # Another function (another container) reads the same value: counted again, not told again.
    approval = feed(replayer, sample("codepipeline/action-started-approval.json"))
    assert any(m["kind"] == "message" for m in approval["effects"]) and notices(approval) == []
    fresh_containers(world)
    again = feed(replayer, sample("codepipeline/pipeline-failed.json"))
    assert notices(again) == []
    assert world.logs.getvalue().count('"InvalidConfiguration"') >= 2

    # A new broken value is a new story: told again, naming its own error.
    ssm.put_parameter(Name=name, Type="String", Overwrite=True,
                      Value=json.dumps({"rules": [{"name": "x", "severity": "loud"}]}))
    fresh_containers(world)
    later = feed(replayer, sample("codepipeline/pipeline-failed.json"))
    [notice] = notices(later)
    assert "routing.rules[0] (name 'x').severity" in bodies(notice)


def test_a_broken_routing_document_with_no_valid_version_runs_the_defaults_and_says_so(world):
    name = f"{world.parameter('ConfigPrefix')}/routing"
    world.client("ssm").put_parameter(Name=name, Type="String", Value='{"rules": [{"nme": "typo"}]}')
    replayer = Replayer(world)
    replayer._setup(Scenario("test", world=pipeline_world()))
    failed = feed(replayer, sample("codepipeline/pipeline-failed.json"))
    assert ("OnCallTopic", "critical") in {(e["topic"], e["severity"]) for e in failed["effects"]
                                           if e["kind"] == "message" and e["event"] == "pipeline.failed"}
    assert [e["action"] for e in failed["effects"] if e["kind"] == "page"] == ["trigger"]
    [notice] = notices(failed)
    assert "the built-in defaults" in bodies(notice) and "routing.rules[0]" in bodies(notice)


def test_a_broken_artifacts_document_stops_artifact_guard_before_any_bucket(world):
    """Fail closed: the team wanted audit mode and made a typo; nothing is written, nothing reported on the
    defaults; the pass is dead-lettered with the reason, and the team is told once."""
    replayer = start(world, calls=bucket_world())
    world.client("ssm").put_parameter(Name=f"{world.parameter('ConfigPrefix')}/artifacts", Type="String",
                                      Value='{"mode": "audit", "expire_dayz": 30}')
    first = sweep(replayer)
    assert [e["api"] for e in first["effects"] if e["kind"] == "call"] == ["sqs:SendMessage"]  # its dead letter
    assert [m for m in first["effects"] if m["kind"] == "message" and m["event"] == "artifact.noncompliant"] == []
    [letter] = [e for e in first["effects"] if e["kind"] == "dead_letter"]
    assert letter["function"] == "ArtifactGuard" and "artifacts.expire_dayz" in letter["error"]
    [notice] = notices(first)
    assert "nothing: what this document governs does not act until it is fixed" in bodies(notice)
    second = sweep(replayer, T0 + timedelta(days=1))
    assert writes(second) == [] and notices(second) == []
    assert world.buckets()[BUCKET]["public_access_block"] in ({}, None)  # never written


def test_a_broken_rollback_document_is_told_to_the_team_once(world, tmp_path):
    from tests import rollback_story as story
    from tests.integration.test_rollback import T1, play
    from tests.integration.test_rollback import two_releases as releases

    def dead(doc):
        return [e for step in doc["steps"] for e in step["effects"] if e["kind"] == "dead_letter"]

    fired = story.deploy_end(T1) + timedelta(minutes=20)
    play(world, tmp_path, releases())
    world.client("ssm").put_parameter(Name=f"{world.parameter('ConfigPrefix')}/rollback", Type="String",
                                      Overwrite=True, Value=json.dumps({"rollback": {"mode": "dry_run"}}))
    doc = play(world, tmp_path, [story.step(story.alarm_event(fired))], calls=[], name="a.json")
    [letter] = dead(doc)
    assert "rollback.rollback: Extra inputs are not permitted" in letter["error"]
    [notice] = notices(doc["steps"][0])
    assert "/rollback is invalid" in notice["subject"]
    later = play(world, tmp_path, [story.step(story.alarm_event(fired + timedelta(minutes=1)) | {"id": "second"})],
                 calls=[], name="b.json")
    assert notices(later["steps"][0]) == [] and len(dead(later)) == 1



def test_a_broken_ledger_document_is_told_by_the_deployment_tracker(world):
    """DeploymentTracker alone reads the ledger document: it tells the team too, and keeps recording."""
    name = f"{world.parameter('ConfigPrefix')}/ledger"
    world.client("ssm").put_parameter(Name=name, Type="String", Value='{"change_failure_window_hours": "a day"}')
    replayer = Replayer(world)
    replayer._setup(Scenario("test", world=pipeline_world()))
    succeeded = feed(replayer, sample("codepipeline/pipeline-succeeded.json"))
    [notice] = notices(succeeded)
    assert f"Configuration {name} is invalid" in notice["subject"] and "the built-in defaults" in bodies(notice)
    assert "ledger.change_failure_window_hours" in bodies(notice)
    assert any(e["kind"] == "item" and e["table"] == "LedgerTable" for e in succeeded["effects"])
