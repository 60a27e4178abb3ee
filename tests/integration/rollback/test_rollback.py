"""Alarm-triggered rollback (issue 10): each action and each guard rail, on the embedded world.

Inputs are shaped like AWS's samples (CloudWatch alarm state changes, CodePipeline state changes); effects are
what the world shows: RollbackStage / StopPipelineExecution / StopDeployment calls, messages, pages, items.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests import rollback_story as story
from tests.helpers import effects, write_scenario
from warden_local.fakes.codepipeline import rollback_execution_id
from warden_local.replay import Replayer, load

T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)  # the second release starts
E1, E2 = "0b1c2d3e-1111-4a5b-8c7d-000000000001", "0b1c2d3e-2222-4a5b-8c7d-000000000002"
C1, C2 = "a1" * 20, "b2" * 20


def play(world, tmp_path, steps, *, config=None, calls=None, name="scenario.json", grants=story.GRANTS):
    """`grants`: the story's tag grants, added to the rollback document unless it lists its own (None: none)."""
    if grants is not None and not (config or {}).get("tag_grants"):
        config = {**(config or {}), "tag_grants": grants}
    path = write_scenario(tmp_path, steps, config={"rollback": config} if config is not None else None,
                          world=story.world() if calls is None else calls, name=name)
    return {"steps": Replayer(world).run(load(path))}


def two_releases(*, second_finishes=True):
    return (story.release(E1, T0, commit=C1, author="Ana Lima")
            + story.release(E2, T1, commit=C2, author="Bo Chen", finish=second_finishes))


def calls(doc, api):
    return [e["params"] for e in effects(doc, "call") if e["api"] == api]


def notices(doc, event):
    return [e for e in effects(doc, "message") if e["event"] == event]


def triggers(doc):
    return [e for e in effects(doc, "page") if e["action"] == "trigger"]


def skipped_because(doc):
    return [e["body"] for e in notices(doc, "rollback.skipped") if e["topic"] == "OnCallTopic"]


def alarm_step(minutes_after_deploy, **kwargs):
    return story.step(story.alarm_event(story.deploy_end(T1) + timedelta(minutes=minutes_after_deploy), **kwargs))


# -- 3. what it does ---------------------------------------------------------------------------------
def test_given_a_release_in_its_bake_window_when_its_alarm_fires_then_the_stage_rolls_back_and_on_call_is_paged(
        world, tmp_path):
    doc = play(world, tmp_path, [*two_releases(), alarm_step(20)])
    assert calls(doc, "codepipeline:RollbackStage") == [
        {"pipelineName": "checkout-api", "stageName": "Deploy", "targetPipelineExecutionId": E1}]
    pages = triggers(doc)
    assert len(pages) == 1 and pages[0]["severity"] == "critical"
    assert pages[0]["dedup_key"].endswith("/rollback/checkout-api/Deploy")
    oncall = [m for m in notices(doc, "rollback.started") if m["topic"] == "OnCallTopic"]
    assert len(oncall) == 1 and oncall[0]["severity"] == "critical"
    body = oncall[0]["body"]
    for fact in ("checkout-api-prod-5xx", "Threshold Crossed", E2, C2[:7], "Bo Chen", E1, C1[:7], "Ana Lima"):
        assert fact in body
    # The ledger keeps the rollback and its cause on both executions.
    ledger = {i["execution_id"]: i for step in doc["steps"] for e in step["effects"]
              if e["kind"] == "item" and e["table"] == "LedgerTable" for i in [e["item"]] if "execution_id" in i}
    rollback = rollback_execution_id("checkout-api", "Deploy", E1)
    assert ledger[E2]["rolled_back"]["alarm"] == "checkout-api-prod-5xx"
    assert ledger[E2]["rolled_back"]["rollback_execution_id"] == rollback
    assert ledger[rollback]["rollback_cause"]["rolled_back_execution_id"] == E2


def test_the_rollback_story_replays_to_the_documented_json(tmp_path):
    import jsonschema

    from tests.helpers import SCHEMA
    from warden_local.replay import replay

    path = write_scenario(tmp_path, [*two_releases(), alarm_step(20)], world=story.world())
    jsonschema.validate(replay([path]), SCHEMA)


def test_the_page_is_resolved_when_the_rollback_execution_succeeds(world, tmp_path):
    play(world, tmp_path, [*two_releases(), alarm_step(20)])
    rollback = rollback_execution_id("checkout-api", "Deploy", E1)
    done = story.deploy_end(T1) + timedelta(minutes=30)
    doc = play(world, tmp_path, [
        story.step(story.pipeline_event(rollback, "STARTED", done - timedelta(minutes=6), **{
            "execution-type": "ROLLBACK", "execution-trigger": {"trigger-type": "ManualRollback"}})),
        story.step(story.stage_event(rollback, "SUCCEEDED", done)),
        story.step(story.stage_event(rollback, "SUCCEEDED", done)),  # redelivered
    ], calls=[], name="after.json")
    resolves = [e for e in effects(doc, "page") if e["action"] == "resolve" and "/rollback/" in e["dedup_key"]]
    assert len(resolves) == 1


def test_given_the_stage_still_deploying_when_the_alarm_fires_then_it_stops_and_rolls_back_once_stopped(
        world, tmp_path):
    doc = play(world, tmp_path, [*two_releases(second_finishes=False),
                                 story.step(story.alarm_event(T1 + timedelta(minutes=6)))])
    assert calls(doc, "codepipeline:StopPipelineExecution") == [
        {"pipelineName": "checkout-api", "pipelineExecutionId": E2, "abandon": True,
         "reason": "Pipeline Warden: alarm checkout-api-prod-5xx in ALARM; rolling Deploy back"}]
    assert calls(doc, "codepipeline:RollbackStage") == []  # not while the stage is still stopping
    assert len(triggers(doc)) == 1
    stopped = T1 + timedelta(minutes=7)
    doc = play(world, tmp_path, [story.step(story.stage_event(E2, "STOPPED", stopped)),
                                 story.step(story.stage_event(E2, "STOPPED", stopped))], calls=[], name="stop.json")
    assert calls(doc, "codepipeline:RollbackStage") == [
        {"pipelineName": "checkout-api", "stageName": "Deploy", "targetPipelineExecutionId": E1}]
    assert triggers(doc) == []


def codedeploy_world():
    tags = [{"Key": "pipeline-warden:deployment-group", "Value": "checkout/prod"}]
    calls = story.world(tags=False)
    calls[-1]["params"]["Tags"] = tags
    return calls + [
        {"call": "codedeploy:CreateApplication",
         "params": {"applicationName": "checkout", "computePlatform": "Lambda"}},
        {"call": "codedeploy:CreateDeploymentGroup", "params": {
            "applicationName": "checkout", "deploymentGroupName": "prod",
            "serviceRoleArn": f"arn:aws:iam::{story.ACCOUNT}:role/codedeploy",
            "deploymentStyle": {"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"}}},
    ]


def deploy_step(at, save="d"):
    return {"at": story.clock.iso(at), "call": "codedeploy:CreateDeployment", "save": save, "params": {
        "applicationName": "checkout", "deploymentGroupName": "prod",
        "revision": {"revisionType": "AppSpecContent", "appSpecContent": {"content": "{\"version\": 0.0}"}}}}


def test_given_a_codedeploy_deployment_in_progress_when_its_alarm_fires_then_it_is_stopped_with_rollback(
        world, tmp_path):
    doc = play(world, tmp_path, [deploy_step(T1), story.step(story.alarm_event(T1 + timedelta(minutes=4)))],
               calls=codedeploy_world())
    stops = calls(doc, "codedeploy:StopDeployment")
    assert len(stops) == 1 and stops[0]["autoRollbackEnabled"] is True
    assert len(triggers(doc)) == 1


def warden_stop_story() -> tuple[list, list]:
    """(world calls, steps): E2's Deploy action runs a CodeDeploy deployment of the group its alarm guards; the
    alarm fires while it deploys, Warden stops it with rollback, and the action, stage and execution fail."""
    # The group's deployment runs in E2's Deploy action; the alarm guards the group, which that stage deploys.
    at = T1 + timedelta(minutes=4)
    deployment = "${d.deploymentId}"
    result = {"execution-result": {"external-execution-id": deployment, "external-execution-summary":
                                   "Deployment stopped", "external-execution-url": "https://console.aws.amazon.com/"
                                   "codesuite/codedeploy/deployments/d?region=us-east-1"}}
    deploy_action = story._pipeline_event("Action", E2, "STARTED", T1 + timedelta(minutes=2), stage=story.STAGE,
                                          action="Deploy", type={"owner": "AWS", "provider": "CodeDeploy",
                                                                 "category": "Deploy", "version": "1"},
                                          **{"execution-result": {"external-execution-id": deployment}})
    stopped = story.clock.iso(at + timedelta(minutes=1))
    stop = {"version": "0", "id": "6e1d2f3a-4b5c-4d6e-8f7a-9b0c1d2e3f4a",
            "detail-type": "CodeDeploy Deployment State-change Notification", "source": "aws.codedeploy",
            "account": story.ACCOUNT, "time": stopped, "region": story.REGION,
            "resources": [f"arn:aws:codedeploy:{story.REGION}:{story.ACCOUNT}:deploymentgroup:checkout/prod"],
            "detail": {"region": story.REGION, "application": "checkout", "deploymentGroup": "prod",
                       "deploymentId": deployment, "state": "STOP",
                       "instanceGroupId": "b7e2f1c4-3a9d-4e8b-a6c5-0d1f2e3a4b5c"}}
    failed = [story._pipeline_event("Action", E2, "FAILED", at + timedelta(minutes=1), stage=story.STAGE,
                                    action="Deploy", type=deploy_action["detail"]["type"], **result),
              story.stage_event(E2, "FAILED", at + timedelta(minutes=1)),
              story.pipeline_event(E2, "FAILED", at + timedelta(minutes=1))]
    steps = [*story.release(E1, T0, commit=C1, author="Ana Lima"),
             *story.release(E2, T1, commit=C2, author="Bo Chen", finish=False),
             deploy_step(T1 + timedelta(minutes=2)), story.step(deploy_action),
             story.step(story.alarm_event(at)), story.step(stop), *[story.step(e) for e in failed]]
    return codedeploy_world(), steps


def test_given_warden_stops_a_pipelines_deployment_then_its_stop_and_the_pipeline_failure_fold_into_the_rollback(
        world, tmp_path):
    at = T1 + timedelta(minutes=4)
    calls_, steps = warden_stop_story()
    doc = play(world, tmp_path, steps, calls=calls_)
    assert len(calls(doc, "codedeploy:StopDeployment")) == 1
    # One incident, the rollback's, paged once: not a second one for the pipeline's failure.
    assert [p["dedup_key"].rsplit("/", 3)[1:] for p in triggers(doc)] == [["rollback", "checkout-api", "Deploy"]]
    bodies = [m["subject"] + m["body"] for m in effects(doc, "message")]
    assert not [b for b in bodies if "stopped by a person" in b]
    assert not [m for m in effects(doc, "message") if m["event"] in ("pipeline.failed", "stage.failed",
                                                                       "action.failed", "deployment.failed")]
    assert effects(doc, "dead_letter") == []
    # And the ledger counts E2 as rolled back by Warden (its stop), not merely as a failed production stage
    from warden.ledger.changes import classify
    from warden.ledger.view import LedgerReader

    reader = LedgerReader(world.client("dynamodb"), world.physical["LedgerTable"]["TableName"], story.ACCOUNT)
    failed = [d for d in classify(reader.for_dora(T0 - timedelta(hours=1), T1 + timedelta(hours=2)).items).deployments
              if d.failure]
    assert [(d.execution_id, d.failure.cause) for d in failed] == [(E2, "rolled_back:warden")]
    assert "checkout-api-prod-5xx" in failed[0].failure.detail and failed[0].failure.since == at


# -- 4. guard rails ----------------------------------------------------------------------------------
def test_an_alarm_older_than_the_deployment_does_not_roll_it_back(world, tmp_path):
    # The transition happened before E2 started; EventBridge delivers it late (after E2 deployed).
    late = story.alarm_event(T1 - timedelta(minutes=5), delivered=story.deploy_end(T1) + timedelta(minutes=3))
    doc = play(world, tmp_path, [*two_releases(), story.step(late)])
    assert calls(doc, "codepipeline:RollbackStage") == []
    [why] = skipped_because(doc)
    assert "before the deployment of" in why and "RollbackStage of Deploy from" in why
    assert [m["severity"] for m in notices(doc, "rollback.skipped")] == ["high", "high"]
    assert sorted(m["topic"] for m in notices(doc, "rollback.skipped")) == ["OnCallTopic", "TeamTopic"]
    assert triggers(doc) == []


def test_outside_the_bake_window_nothing_is_rolled_back(world, tmp_path):
    doc = play(world, tmp_path, [*two_releases(), alarm_step(61)])
    assert calls(doc, "codepipeline:RollbackStage") == []
    assert "final: outside the bake window" in skipped_because(doc)[0]


def test_a_bake_window_from_the_configuration(world, tmp_path):
    doc = play(world, tmp_path, [*two_releases(), alarm_step(61)], config={"bake_minutes": 90})
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1


def test_no_known_deployment_of_the_stage_is_skipped(world, tmp_path):
    doc = play(world, tmp_path, [alarm_step(1)])
    assert calls(doc, "codepipeline:RollbackStage") == []
    assert "no deployment of the stage is known" in skipped_because(doc)[0]


def test_no_earlier_success_means_no_target(world, tmp_path):
    only = story.release(E2, T1, commit=C2, author="Bo Chen")
    doc = play(world, tmp_path, [*only, alarm_step(5)])
    assert calls(doc, "codepipeline:RollbackStage") == []
    assert "no valid rollback target: no earlier successful execution" in skipped_because(doc)[0]


def test_a_target_that_ran_on_an_older_pipeline_structure_is_not_valid(world, tmp_path):
    changed = story.pipeline_definition()
    changed["stages"][1]["actions"][0]["configuration"]["DeploymentGroupName"] = "prod-v2"
    steps = [*story.release(E1, T0, commit=C1, author="Ana Lima"),
             {"at": story.clock.iso(T0 + timedelta(minutes=30)), "call": "codepipeline:UpdatePipeline",
              "params": {"pipeline": changed}},
             *story.release(E2, T1, commit=C2, author="Bo Chen"), alarm_step(10)]
    doc = play(world, tmp_path, steps)
    assert calls(doc, "codepipeline:RollbackStage") == []
    assert "the pipeline changed since" in skipped_because(doc)[0]


def test_a_previous_rollback_whose_target_is_unknown_is_not_a_valid_target(world, tmp_path):
    rollback = "0b1c2d3e-9999-4a5b-8c7d-000000000009"
    t = T0 + timedelta(minutes=30)
    steps = [*story.release(E1, T0, commit=C1, author="Ana Lima"),
             story.step(story.pipeline_event(rollback, "STARTED", t, **{"execution-type": "ROLLBACK"})),
             story.step(story.stage_event(rollback, "SUCCEEDED", t + timedelta(minutes=4))),
             story.step(story.pipeline_event(rollback, "SUCCEEDED", t + timedelta(minutes=4),
                                             **{"execution-type": "ROLLBACK"})),
             *story.release(E2, T1, commit=C2, author="Bo Chen"), alarm_step(10)]
    doc = play(world, tmp_path, steps)
    assert calls(doc, "codepipeline:RollbackStage") == []
    assert "is itself a rollback" in skipped_because(doc)[-1]


def test_a_rollback_is_never_rolled_back(world, tmp_path):
    play(world, tmp_path, [*two_releases(), alarm_step(20)])
    rollback = rollback_execution_id("checkout-api", "Deploy", E1)
    done = story.deploy_end(T1) + timedelta(minutes=26)
    # Past the cooldown, the alarm fires again while the rollback is what the stage runs.
    doc = play(world, tmp_path, [
        story.step(story.pipeline_event(rollback, "STARTED", done - timedelta(minutes=4),
                                        **{"execution-type": "ROLLBACK"})),
        story.step(story.stage_event(rollback, "SUCCEEDED", done)),
        alarm_step(55, previous="OK")], calls=[], name="again.json")
    assert calls(doc, "codepipeline:RollbackStage") == []
    assert "never rolls back a rollback" in skipped_because(doc)[0]


def test_cooldown_one_stop_per_group_however_the_alarm_flaps(world, tmp_path):
    doc = play(world, tmp_path, [
        deploy_step(T1, "d1"), story.step(story.alarm_event(T1 + timedelta(minutes=4))),
        story.step(story.alarm_event(T1 + timedelta(minutes=6), "OK", "ALARM")),
        deploy_step(T1 + timedelta(minutes=8), "d2"),
        story.step(story.alarm_event(T1 + timedelta(minutes=10))),
    ], calls=codedeploy_world())
    assert len(calls(doc, "codedeploy:StopDeployment")) == 1
    assert "cooldown" in skipped_because(doc)[0]
    assert len(triggers(doc)) == 1


@pytest.mark.parametrize("config", [{"mode": "dry_run"},
                                    {"rules": [{"name": "observe", "alarms": ["checkout-*"], "pipeline": "checkout-api",
                                                "stage": "Deploy", "mode": "dry_run"}]}])
def test_dry_run_says_what_it_would_do_and_does_nothing(world, tmp_path, config):
    doc = play(world, tmp_path, [*two_releases(), alarm_step(20)], config=config)
    assert calls(doc, "codepipeline:RollbackStage") == []
    [why] = skipped_because(doc)
    assert "final: dry run" in why and f"RollbackStage of Deploy from {E2} to {E1}" in why
    assert "Rolled back to" not in why  # nothing was
    assert triggers(doc) == []


def test_a_refusal_is_reported_once_and_never_retried(world, tmp_path):
    # The alarm guards the Source stage: CodePipeline refuses to roll a source stage back.
    calls_ = story.world(tags=False) + [{"call": "cloudwatch:TagResource", "params": {
        "ResourceARN": f"arn:aws:cloudwatch:{story.REGION}:{story.ACCOUNT}:alarm:{story.ALARM}",
        "Tags": [{"Key": "pipeline-warden:pipeline", "Value": "checkout-api"},
                 {"Key": "pipeline-warden:stage", "Value": "Source"}]}}]
    alarm = story.alarm_event(story.deploy_end(T1) + timedelta(minutes=5))
    doc = play(world, tmp_path, [*two_releases(), story.step(alarm), story.step(dict(alarm, id="redelivered")),
                                 alarm_step(9)], calls=calls_)
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1
    assert "CodePipeline refused RollbackStage" in skipped_because(doc)[0]
    assert effects(doc, "dead_letter") == []


def test_duplicates_of_one_transition_act_once_whichever_way_they_arrive(world, tmp_path):
    at = story.deploy_end(T1) + timedelta(minutes=20)
    event = story.alarm_event(at)
    doc = play(world, tmp_path, [*two_releases(), story.step(event), story.step(event),
                                 story.step(story.alarm_notification(at), at + timedelta(seconds=1))])
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1
    assert len(triggers(doc)) == 1
    assert notices(doc, "rollback.skipped") == []


# -- a lagging ledger: provisional skips, decided again ------------------------------------------------
TRACKER = ("DeploymentTracker",)


def kinds(found, kind):
    return [e for e in found if e["kind"] == kind]


def skip_bodies(found):
    return [e["body"] for e in found if e["kind"] == "message" and e["event"] == "rollback.skipped"
            and e["topic"] == "OnCallTopic"]


def rollbacks(found):
    return [e["params"] for e in found if e["kind"] == "call" and e["api"] == "codepipeline:RollbackStage"]


def lagging_release(timeline, deploy_minutes):
    """E1 released and recorded; E2 released with a `deploy_minutes` deploy, of which the ledger (DeploymentTracker)
    has heard only the start: its stage's and execution's SUCCEEDED have happened, not yet been delivered."""
    for step in story.release(E1, T0, commit=C1, author="Ana Lima"):
        timeline.both(step["event"])
    started, *ended = [s["event"] for s in story.release(E2, T1, commit=C2, author="Bo Chen",
                                                          deploy_minutes=deploy_minutes)]
    timeline.both(started)
    timeline.both(ended[0])  # the stage's STARTED
    for event in ended[1:]:
        timeline.happen(event)
    return ended[1:]  # the stage's SUCCEEDED, the execution's SUCCEEDED


def test_given_the_ledger_lags_on_a_long_deploy_when_its_stage_end_arrives_then_the_skip_is_decided_again_and_acts(
        world):
    from tests.rollback_story import Timeline

    timeline = Timeline(world)
    stage_end, execution_end = lagging_release(timeline, deploy_minutes=50)
    end = story.deploy_end(T1, 50)
    alarm = story.alarm_event(end + timedelta(minutes=20))
    timeline.happen(alarm)
    # 72 minutes after the release started: only its stage end can tell whether the alarm is in its bake window.
    first = timeline.deliver(alarm, end + timedelta(minutes=21))
    assert rollbacks(first) == [] and kinds(first, "page") == []
    [why] = skip_bodies(first)
    assert "provisional: it is not known yet when Deploy of " + E2 in why and "Rolled back to" not in why
    # The stage's SUCCEEDED reaches RollbackTrigger (before or after DeploymentTracker): decided again, acted on.
    later = timeline.deliver(stage_end, end + timedelta(minutes=30), only=("RollbackTrigger",))
    assert rollbacks(later) == [{"pipelineName": "checkout-api", "stageName": "Deploy",
                                 "targetPipelineExecutionId": E1}]
    assert [p["action"] for p in kinds(later, "page")] == ["trigger"]
    started = [m for m in kinds(later, "message") if m["event"] == "rollback.started" and m["topic"] == "OnCallTopic"]
    assert len(started) == 1 and E2 in started[0]["body"] and C2[:7] in started[0]["body"]
    # Redelivered, and delivered to the others late: nothing acts twice, nothing more is said by RollbackTrigger.
    again = timeline.deliver(stage_end, end + timedelta(minutes=35))
    again += timeline.deliver(execution_end, end + timedelta(minutes=36))
    assert rollbacks(again) == [] and [p for p in kinds(again, "page") if p["action"] == "trigger"] == []
    assert [m for m in kinds(again, "message") if m["event"].startswith("rollback.")] == []
    assert kinds(first + later + again, "dead_letter") == []


def test_given_the_ledger_has_not_heard_of_the_release_when_its_alarm_fires_then_codepipeline_says_what_runs(world):
    from tests.rollback_story import Timeline

    timeline = Timeline(world)
    for step in story.release(E1, T0, commit=C1, author="Ana Lima"):
        timeline.both(step["event"])
    for step in story.release(E2, T1, commit=C2, author="Bo Chen"):
        timeline.happen(step["event"])  # nothing of E2 delivered yet
    alarm = story.alarm_event(story.deploy_end(T1) + timedelta(minutes=20))
    timeline.happen(alarm)
    found = timeline.deliver(alarm)
    # Not "outside the bake window" of E1: CodePipeline says the stage runs E2, which started 32 minutes before.
    assert rollbacks(found) == [{"pipelineName": "checkout-api", "stageName": "Deploy",
                                 "targetPipelineExecutionId": E1}]
    assert skip_bodies(found) == [] and len(kinds(found, "page")) == 1


def test_given_a_provisional_skip_when_the_alarm_is_ok_before_the_knowledge_arrives_then_the_skip_is_final(world):
    from tests.rollback_story import Timeline

    timeline = Timeline(world)
    stage_end, _ = lagging_release(timeline, deploy_minutes=50)
    end = story.deploy_end(T1, 50)
    alarm = story.alarm_event(end + timedelta(minutes=20))
    timeline.happen(alarm)
    assert "provisional:" in skip_bodies(timeline.deliver(alarm))[0]
    timeline.happen(story.alarm_event(end + timedelta(minutes=24), "OK", "ALARM"))
    later = timeline.deliver(stage_end, end + timedelta(minutes=30), only=("RollbackTrigger",))
    assert rollbacks(later) == [] and kinds(later, "page") == []
    [why] = skip_bodies(later)
    assert why.count("final: alarm checkout-api-prod-5xx is OK again") == 1
    assert skip_bodies(timeline.deliver(stage_end, end + timedelta(minutes=31), only=("RollbackTrigger",))) == []


def test_given_a_provisional_skip_when_the_stage_end_puts_the_alarm_outside_the_window_then_the_skip_is_final(world):
    from tests.rollback_story import Timeline

    timeline = Timeline(world)
    stage_end, _ = lagging_release(timeline, deploy_minutes=50)
    end = story.deploy_end(T1, 50)
    # The alarm came 59 minutes after the execution ended; the stage had ended earlier than the execution says.
    stage_end["time"] = story.clock.iso(end - timedelta(minutes=5))
    alarm = story.alarm_event(end + timedelta(minutes=59))
    timeline.happen(alarm)
    assert "provisional:" in skip_bodies(timeline.deliver(alarm))[0]
    later = timeline.deliver(stage_end, end + timedelta(minutes=61), only=("RollbackTrigger",))
    assert rollbacks(later) == []
    [why] = skip_bodies(later)
    assert "final: outside the bake window: the stage finished at" in why


# -- 2. mapping --------------------------------------------------------------------------------------
def test_an_alarm_named_by_a_rule_is_mapped_without_tags(world, tmp_path):
    rule = {"rules": [{"name": "checkout", "alarms": ["checkout-api-prod-*"], "pipeline": "checkout-api",
                       "stage": "Deploy"}]}
    doc = play(world, tmp_path, [*two_releases(), alarm_step(20)], config=rule, calls=story.world(tags=False))
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1


def test_an_alarm_of_a_stage_condition_is_watched_after_the_condition_is_over(world, tmp_path):
    pipeline = story.pipeline_definition(on_success_alarm=story.ALARM)
    doc = play(world, tmp_path, [*two_releases(), alarm_step(20)], calls=story.world(tags=False, pipeline=pipeline))
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1


def test_an_unmapped_alarm_does_nothing(world, tmp_path):
    doc = play(world, tmp_path, [*two_releases(), alarm_step(20)], calls=story.world(tags=False))
    assert effects(doc, "call") == [] and notices(doc, "rollback.skipped") == []


def test_ok_transitions_never_act(world, tmp_path):
    doc = play(world, tmp_path, [*two_releases(), alarm_step(20, state="OK", previous="ALARM")])
    assert doc["steps"][-1]["routed_to"] == []  # the EventBridge rule takes only ALARM
    # Delivered anyway (SNS without its filter, or ALARM -> ALARM), the handler does nothing either.
    mark = world.begin()
    for event in (story.alarm_event(T1, "OK", "ALARM"), story.alarm_event(T1, "ALARM", "ALARM")):
        assert world.invoke("RollbackTrigger", event).result["results"][0]["status"] == "ignored"
    assert world.effects(mark) == []


# -- every order, with duplicates --------------------------------------------------------------------
def story_steps():
    """One rollback story: two releases, the alarm firing 20 minutes after the second deployed, flapping."""
    end = story.deploy_end(T1)
    fired = story.alarm_event(end + timedelta(minutes=20))
    return [*two_releases(), story.step(fired),
            story.step(story.alarm_event(end + timedelta(minutes=22), "OK", "ALARM")),
            story.step(story.alarm_event(end + timedelta(minutes=24))),
            story.step(dict(fired)),  # an EventBridge redelivery
            story.step(story.alarm_notification(end + timedelta(minutes=20)), end + timedelta(minutes=21))]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_every_order_of_the_story_with_duplicates_rolls_back_and_pages_at_most_once(tmp_path, seed):
    import random

    from warden_local.world import World

    steps = story_steps()
    order = random.Random(seed).sample(steps, len(steps)) + [steps[random.Random(seed).randrange(len(steps))]]
    with World() as world:
        doc = play(world, tmp_path, order)
    assert len(calls(doc, "codepipeline:RollbackStage")) <= 1
    assert len(triggers(doc)) <= 1
    assert effects(doc, "dead_letter") == []


def test_in_story_order_it_rolls_back_exactly_once(world, tmp_path):
    doc = play(world, tmp_path, story_steps())
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1 and len(triggers(doc)) == 1
    # The flap is said, not acted on (the stage runs the rollback now); the redeliveries say nothing at all.
    assert len(skipped_because(doc)) == 1 and "already runs a rollback" in skipped_because(doc)[0]


# -- 5. workload accounts ----------------------------------------------------------------------------
WORKLOAD = "444455556666"


def test_a_workload_alarm_without_the_deploy_role_is_skipped_with_the_reason(world, tmp_path):
    rule = {"rules": [{"name": "workload", "alarms": [story.ALARM], "accounts": [WORKLOAD],
                       "pipeline": "checkout-api", "stage": "Deploy"}]}
    alarm = story.alarm_event(T1, account=WORKLOAD)
    doc = play(world, tmp_path, [story.step(alarm)], config=rule, calls=[])
    assert effects(doc, "call") == []
    assert "no WorkloadDeployRoleName" in skipped_because(doc)[0]


def test_a_workload_alarm_rolls_back_that_accounts_stage_through_the_deploy_role(tmp_path):
    from warden_local.world import World

    setup = f"arn:aws:iam::{WORKLOAD}:role/platform-admin/setup"
    import json

    # The workload account's own set-up, made there (call steps as one of its roles).
    before = story.clock.iso(T0 - timedelta(hours=1))
    setup_steps = [dict(c, at=before, **{"as": setup})
                   for c in json.loads(json.dumps(story.world()).replace(story.ACCOUNT, WORKLOAD))]
    steps = [*setup_steps, *[dict(s, event=dict(s["event"], account=WORKLOAD)) for s in two_releases()],
             story.step(story.alarm_event(story.deploy_end(T1) + timedelta(minutes=20), account=WORKLOAD))]
    with World(parameters={"WorkloadDeployRoleName": "pipeline-warden-deploy"}) as world:
        doc = play(world, tmp_path, steps, calls=[])
        from warden_local.fakes import codepipeline_state

        rollbacks = codepipeline_state(WORKLOAD).rollbacks
    assert [r["targetPipelineExecutionId"] for r in rollbacks] == [E1]
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1 and len(triggers(doc)) == 1


def test_given_a_refused_page_when_the_alarm_is_redriven_after_the_fix_then_on_call_is_paged_once(world, tmp_path):
    from tests.integration.router.test_incidents import BROKEN_SECRET, FIXED_SECRET

    # Given a release in its bake window and a PagerDuty secret without a routing key
    alarm = alarm_step(20)
    doc = play(world, tmp_path, [*two_releases(), alarm], calls=[*story.world(), BROKEN_SECRET])
    # When its alarm fires, then the stage is rolled back but on-call is not paged, and the incident says so
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1 and triggers(doc) == []
    [incident] = [i for i in world.table_items("StateTable")
                  if i.get("sk") == "incident" and "/rollback/" in i.get("pk", "")]
    assert incident["notified"] is False and "PagerDutyMisconfigured" in incident["page_failed"]
    # When a person fixes the secret and the dead-lettered alarm is redriven
    redrive = play(world, tmp_path, [{"at": alarm["at"], **FIXED_SECRET}, alarm], calls=[], name="redrive.json",
                   grants=None)
    # Then on-call is paged once, and nothing is rolled back a second time
    assert len(triggers(redrive)) == 1 and calls(redrive, "codepipeline:RollbackStage") == []
