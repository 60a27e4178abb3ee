"""RollbackTrigger against forged input and under faults: each case of the issue, on the embedded world.

Forged input: a hand-written ALARM message on the alarm topic while the real alarm is OK; a message claiming
a workload account; alarms tagged with another team's pipeline; suppressed composite alarms; the topic policy.
Faults: a retry after the action succeeded; a failed record in the stop path; a retry on the CodeDeploy
path; a lost answer; an unreadable or invalid `rollback` document; two alarms on one release; the pages
of CodeDeploy rollbacks and of pipeline rollback executions; the validation hook under a read throttle.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests import rollback_story as story
from tests.faults.inject import BOTOCORE_ATTEMPTS, LAMBDA_ATTEMPTS
from tests.helpers import EVENTS, effects
from tests.integration.test_rollback import (
    E1,
    E2,
    T1,
    calls,
    codedeploy_world,
    deploy_step,
    notices,
    play,
    skipped_because,
    triggers,
)
from tests.integration.test_rollback import two_releases as releases
from warden_local import fakes
from warden_local.fakes import codedeploy_state, codepipeline_state
from warden_local.fakes.codepipeline import rollback_execution_id
from warden_local.observe import RECORDER
from warden_local.replay import Replayer

OTHER = "999988887777"  # an account Warden does not trust
WORKLOAD = "444455556666"
PAGE_KEY = f"pipeline-warden/{story.ACCOUNT}/{story.REGION}/rollback/{story.PIPELINE}/{story.STAGE}"


def dead(doc):
    return effects(doc, "dead_letter")


def acted(found):
    """AWS calls that change something, the dead-letter queue's own send aside."""
    return [e for e in found if e["kind"] == "call" and not e["api"].startswith("sqs:")]


def rollback_started(rollback, target, at):
    return story.step(story.pipeline_event(rollback, "STARTED", at, **{
        "execution-type": "ROLLBACK", "execution-trigger": {"trigger-type": "ManualRollback"},
        "rollback-metadata": {"rollback-target-pipeline-execution-id": target}}))


def only_warden(body):
    return RECORDER.function == "RollbackTrigger"


# -- forged input ----------------------------------------------------------------------------------
def test_a_hand_written_alarm_message_while_the_alarm_is_ok_rolls_nothing_back_and_says_why(world, tmp_path):
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    doc = play(world, tmp_path, [
        *releases(),
        # CloudWatch's own record: the alarm went OK before the release (not routed: the rule takes ALARM only).
        story.step(story.alarm_event(T1 - timedelta(minutes=30), "OK", "ALARM")),
        story.step(story.alarm_notification(fired), fired)])  # nobody's alarm: a message someone published
    assert calls(doc, "codepipeline:RollbackStage") == [] and triggers(doc) == []
    assert notices(doc, "rollback.started") == [] and notices(doc, "rollback.skipped") == []
    [letter] = dead(doc)
    assert letter["function"] == "RollbackTrigger" and "not confirmed by CloudWatch" in letter["error"]
    assert "older" in letter["error"]


def test_a_message_about_a_real_transition_that_is_over_is_stale_and_acts_on_nothing(world, tmp_path):
    play(world, tmp_path, releases())
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    # CloudWatch: ALARM at `fired`, OK again two minutes later (applied as AWS's own record).
    fakes.apply_event(story.alarm_event(fired))
    fakes.apply_event(story.alarm_event(fired + timedelta(minutes=2), "OK", "ALARM"))
    mark = world.begin()
    replayer = Replayer(world)
    [(function, payload)] = replayer.routes(story.alarm_notification(fired))
    result = world.invoke(function, payload).result["results"][0]
    assert result["status"] == "stale" and "is OK since" in result["reason"]
    assert [e for e in world.effects(mark) if e["kind"] in ("call", "page", "dead_letter")] == []


def test_a_confirmed_message_rolls_back_as_the_eventbridge_event_would(world, tmp_path):
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    play(world, tmp_path, releases())
    fakes.apply_event(story.alarm_event(fired))  # CloudWatch's transition; only its SNS message is delivered
    doc = play(world, tmp_path, [story.step(story.alarm_notification(fired), fired)], calls=[], name="m.json")
    assert calls(doc, "codepipeline:RollbackStage") == [
        {"pipelineName": story.PIPELINE, "stageName": story.STAGE, "targetPipelineExecutionId": E1}]
    assert len(triggers(doc)) == 1


@pytest.mark.parametrize("claim", ["account", "arn"])
def test_a_message_claiming_another_account_never_makes_warden_assume_a_role_there(tmp_path, claim):
    from warden_local.world import World

    fired = story.deploy_end(T1) + timedelta(minutes=20)
    message = story.alarm_notification(fired, account=OTHER)
    if claim == "arn":  # the message claims this account, its AlarmArn another one
        message["AWSAccountId"] = story.ACCOUNT
    rule = {"rules": [{"name": "any", "alarms": ["*"], "pipeline": story.PIPELINE, "stage": story.STAGE}]}
    with World(parameters={"WorkloadDeployRoleName": "pipeline-warden-deploy",
                           "TrustedAccountIds": WORKLOAD}) as world:
        RECORDER.access.clear()
        doc = play(world, tmp_path, [*releases(), story.step(message, fired)], config=rule)
        assumed = [a for f, a in RECORDER.access if f == "RollbackTrigger" and a == "sts:AssumeRole"]
    assert assumed == [] and acted(effects(doc, "call")) == [] and triggers(doc) == []
    [letter] = dead(doc)
    assert ("not a trusted account" in letter["error"]) if claim == "account" else ("AlarmArn" in letter["error"])


def test_an_eventbridge_alarm_of_an_untrusted_account_is_refused_too(world, tmp_path):
    rule = {"rules": [{"name": "any", "alarms": ["*"], "pipeline": story.PIPELINE, "stage": story.STAGE}]}
    play(world, tmp_path, releases(), config=rule)
    mark = world.begin()
    event = story.alarm_event(story.deploy_end(T1) + timedelta(minutes=20), account=OTHER)
    world.invoke("RollbackTrigger", event)  # delivered however it got here: the bus would not even route it
    found = world.effects(mark)
    assert acted(found) == [] and [e for e in found if e["kind"] == "page"] == []
    assert ["not a trusted account" in e["error"] for e in found if e["kind"] == "dead_letter"] == [True]


def test_tag_grants_keep_one_teams_alarm_from_rolling_back_another_teams_pipeline(world, tmp_path):
    grants = {"tag_grants": [{"alarms": ["payments-*"], "pipelines": ["payments-*"]}]}
    doc = play(world, tmp_path, [*releases(), story.step(story.alarm_event(story.deploy_end(T1)
                                                                              + timedelta(minutes=20)))],
               config=grants)
    assert calls(doc, "codepipeline:RollbackStage") == [] and triggers(doc) == []


def test_a_tag_grant_that_allows_the_mapping_rolls_back(world, tmp_path):
    grants = {"tag_grants": [{"alarms": ["checkout-*"], "accounts": [story.ACCOUNT], "pipelines": ["checkout-*"]}]}
    doc = play(world, tmp_path, [*releases(), story.step(story.alarm_event(story.deploy_end(T1)
                                                                              + timedelta(minutes=20)))],
               config=grants)
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1


# -- grants: each target on its own; regions -----------------------------------------------------------
TEAM_B = [{"alarms": ["teamb-*"], "pipelines": ["teamb-*"], "deployment_groups": ["teamb/*"]}]


def tagged_alarm(name, tags):
    return {"call": "cloudwatch:PutMetricAlarm", "params": {
        "AlarmName": name, "Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count",
        "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 25,
        "ComparisonOperator": "GreaterThanThreshold", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}}


def test_a_granted_teams_alarm_tagged_with_another_teams_group_never_stops_that_teams_deployment(world, tmp_path):
    # Given team B's grant (its alarms' tags may name teamb-* pipelines and teamb/* groups) and team A's
    # deployment of checkout/prod in progress, when team B's alarm, tagged with its own pipeline *and* team A's
    # group, fires:
    alarm = "teamb-app-5xx"
    calls_ = codedeploy_world() + [tagged_alarm(alarm, {
        "pipeline-warden:pipeline": "teamb-app", "pipeline-warden:stage": "Deploy",
        "pipeline-warden:deployment-group": "checkout/prod"})]
    doc = play(world, tmp_path, [deploy_step(T1), story.step(story.alarm_event(T1 + timedelta(minutes=4),
                                                                               alarm=alarm))],
               calls=calls_, grants=TEAM_B)
    # Then team A's deployment runs on, and the group no grant covers is said, not acted on.
    assert calls(doc, "codedeploy:StopDeployment") == [] and triggers(doc) == []
    reasons = skipped_because(doc)
    assert any("alarm tags name deployment group checkout/prod: no tag grant covers it" in r for r in reasons)
    # The granted part (team B's own stage) is still decided, and its notice names what was dropped.
    assert any("Stage: Deploy" in r and "Not acted on: checkout/prod" in r for r in reasons)


def test_a_tag_granted_group_does_not_reach_the_ungranted_pipeline_that_deploys_it(world, tmp_path):
    # Given a grant for checkout/* groups only, and checkout-api's Deploy stage (which deploys checkout/prod)
    # in its bake window, when an alarm tagged with the group alone fires, then the stage is not rolled back.
    calls_ = codedeploy_world() + [tagged_alarm("checkout-prod-latency",
                                                {"pipeline-warden:deployment-group": "checkout/prod"})]
    grants = [{"alarms": ["checkout-*"], "deployment_groups": ["checkout/*"]}]
    doc = play(world, tmp_path, [*releases(), story.step(story.alarm_event(
        story.deploy_end(T1) + timedelta(minutes=20), alarm="checkout-prod-latency"))], calls=calls_, grants=grants)
    assert calls(doc, "codepipeline:RollbackStage") == [] and triggers(doc) == []
    assert "no deployment of checkout/prod is in progress" in skipped_because(doc)[0]


def test_the_page_names_the_stage_and_the_group_it_may_act_on(world, tmp_path):
    # Given an alarm tagged with checkout-api/Deploy and checkout/prod, both granted, and a deployment in
    # progress, when it fires, then the group's deployment is stopped and the page names both targets.
    calls_ = codedeploy_world()
    calls_[2]["params"]["Tags"] = [{"Key": "pipeline-warden:pipeline", "Value": story.PIPELINE},
                                   {"Key": "pipeline-warden:stage", "Value": story.STAGE},
                                   {"Key": "pipeline-warden:deployment-group", "Value": "checkout/prod"}]
    doc = play(world, tmp_path, [deploy_step(T1), story.step(story.alarm_event(T1 + timedelta(minutes=4)))],
               calls=calls_)
    assert len(calls(doc, "codedeploy:StopDeployment")) == 1
    [page] = triggers(doc)
    assert page["summary"].startswith("checkout-api/Deploy and deployment group checkout/prod: alarm")
    [oncall] = [m for m in notices(doc, "rollback.started") if m["topic"] == "OnCallTopic"]
    assert "alarm rolls back Deploy and deployment group checkout/prod" in oncall["subject"]


def test_without_tag_grants_alarm_tags_map_nothing_and_say_so(world, tmp_path):
    # Given the alarm tagged with checkout-api/Deploy and no tag_grants, when it fires in the bake window,
    # then nothing is rolled back and the team is told why (a rule would still map it: next test).
    doc = play(world, tmp_path, [*releases(), story.step(story.alarm_event(story.deploy_end(T1)
                                                                              + timedelta(minutes=20)))],
               grants=None)
    assert calls(doc, "codepipeline:RollbackStage") == [] and triggers(doc) == []
    [why] = skipped_because(doc)
    assert "lists no tag_grants, so alarm tags map nothing" in why


def test_without_tag_grants_a_rule_still_maps_the_alarm(world, tmp_path):
    rule = {"rules": [{"name": "checkout", "alarms": ["checkout-api-prod-*"], "pipeline": story.PIPELINE,
                       "stage": story.STAGE}]}
    doc = play(world, tmp_path, [*releases(), story.step(story.alarm_event(story.deploy_end(T1)
                                                                              + timedelta(minutes=20)))],
               config=rule, grants=None)
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1 and len(triggers(doc)) == 1
    assert skipped_because(doc) == []  # the tags name the stage the rule maps: nothing to tell


def in_region(event, region):
    event = json.loads(json.dumps(event).replace(f":{story.REGION}:", f":{region}:"))
    event["region"] = region
    return event


RULE = {"name": "checkout", "alarms": ["checkout-api-prod-*"], "pipeline": story.PIPELINE, "stage": story.STAGE}


def test_an_alarm_of_another_region_never_rolls_back_this_regions_stage_by_name(world, tmp_path):
    # Given a rule naming checkout-api/Deploy (us-east-1) by alarm name, when an eu-west-1 alarm of that name
    # fires, then the us-east-1 stage is not rolled back: the rule's target is in the alarm's own region.
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    doc = play(world, tmp_path, [*releases(), story.step(in_region(story.alarm_event(fired), "eu-west-1"))],
               config={"rules": [RULE]}, calls=story.world(tags=False))
    assert calls(doc, "codepipeline:RollbackStage") == [] and triggers(doc) == []
    [skipped] = [m for m in notices(doc, "rollback.skipped") if m["topic"] == "OnCallTopic"]
    assert "no deployment of the stage is known" in skipped["body"] and "(eu-west-1)" in skipped["body"]


def test_a_rule_that_names_the_target_region_acts_there_and_the_incident_names_that_region(world, tmp_path):
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    rule = dict(RULE, regions=["eu-west-1"], target_region=story.REGION)
    doc = play(world, tmp_path, [*releases(), story.step(in_region(story.alarm_event(fired), "eu-west-1"))],
               config={"rules": [rule]}, calls=story.world(tags=False))
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1
    assert [p["dedup_key"] for p in triggers(doc)] == [PAGE_KEY]  # us-east-1: where the stage is


def test_a_namesake_of_a_stage_conditions_alarm_in_another_region_is_not_that_conditions_alarm(world, tmp_path):
    # Given checkout-api's Deploy stage with an onSuccess condition on the alarm (us-east-1), when an eu-west-1
    # alarm of the same name fires in the bake window, then the stage is not rolled back.
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    pipeline = story.pipeline_definition(on_success_alarm=story.ALARM)
    doc = play(world, tmp_path, [*releases(), story.step(in_region(story.alarm_event(fired), "eu-west-1"))],
               calls=story.world(tags=False, pipeline=pipeline))
    assert effects(doc, "call") == [] and notices(doc, "rollback.skipped") == []
    # The same alarm of the pipeline's own region still rolls the stage back.
    doc = play(world, tmp_path, [story.step(story.alarm_event(fired + timedelta(minutes=1)))], calls=[],
               name="home.json")
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1


def test_a_rule_limited_to_regions_ignores_alarms_of_other_regions(world, tmp_path):
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    doc = play(world, tmp_path, [*releases(), story.step(in_region(story.alarm_event(fired), "eu-west-1"))],
               config={"rules": [dict(RULE, regions=[story.REGION])]}, calls=story.world(tags=False))
    assert effects(doc, "call") == [] and notices(doc, "rollback.skipped") == []


def composite_world():
    return story.world(tags=False) + [{"call": "cloudwatch:PutCompositeAlarm", "params": {
        "AlarmName": "checkout-api-prod-health", "AlarmRule": f"ALARM({story.ALARM})",
        "ActionsSuppressor": "checkout-api-maintenance", "ActionsSuppressorWaitPeriod": 120,
        "ActionsSuppressorExtensionPeriod": 60,
        "Tags": [{"Key": "pipeline-warden:pipeline", "Value": story.PIPELINE},
                 {"Key": "pipeline-warden:stage", "Value": story.STAGE}]}}]


def composite_event(at, *, suppressed):
    event = json.loads((EVENTS / "cloudwatch" / "composite-alarm-alarm.json").read_text())
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"
    event["id"], event["time"] = f"composite-{suppressed}", story.clock.iso(at)
    event["resources"] = [f"arn:aws:cloudwatch:{story.REGION}:{story.ACCOUNT}:alarm:checkout-api-prod-health"]
    event["detail"]["alarmName"] = "checkout-api-prod-health"
    event["detail"]["state"]["timestamp"] = stamp
    if suppressed:
        event["detail"]["state"]["actionsSuppressedBy"] = "Alarm"
        event["detail"]["state"]["actionsSuppressedReason"] = "Alarm checkout-api-maintenance is in ALARM"
    return event


@pytest.mark.parametrize("path", ["eventbridge", "sns"])
def test_a_suppressed_composite_alarm_acts_on_nothing(world, tmp_path, path):
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    event = composite_event(fired, suppressed=True)
    if path == "eventbridge":
        steps = [*releases(), story.step(event)]
    else:
        steps = releases()
    doc = play(world, tmp_path, steps, calls=composite_world())
    if path == "sns":
        fakes.apply_event(event)  # CloudWatch's record; a (forged) message about it arrives
        message = story.alarm_notification(fired, alarm="checkout-api-prod-health")
        doc = play(world, tmp_path, [story.step(message, fired)], calls=[], name="sns.json")
    # Nothing acts and nobody is paged; the team hears why, once.
    assert effects(doc, "call") == [] and triggers(doc) == [] and dead(doc) == []
    [why] = skipped_because(doc)
    assert "are suppressed (Alarm: Alarm checkout-api-maintenance is in ALARM)" in why


MUTE = {"muteRuleName": "checkout-api-release-window",
        "muteRuleArn": f"arn:aws:cloudwatch:{story.REGION}:{story.ACCOUNT}:alarm-mute-rule:checkout-api-release-window"}


@pytest.mark.parametrize("where", ["detail", "state"])
def test_an_alarm_muted_by_a_mute_rule_never_acts_and_says_why(world, tmp_path, where):
    # Given the story's release in its bake window, when its alarm goes into ALARM while an alarm mute rule
    # mutes its actions (the state-change event carries muteDetail), then nothing is rolled back, nobody is
    # paged, and the team hears rollback.skipped naming the mute rule; a redelivery says nothing more.
    event = story.alarm_event(story.deploy_end(T1) + timedelta(minutes=20))
    (event["detail"] if where == "detail" else event["detail"]["state"])["muteDetail"] = MUTE
    doc = play(world, tmp_path, [*releases(), story.step(event), story.step(dict(event, id="redelivered"))])
    assert acted(effects(doc, "call")) == [] and triggers(doc) == [] and dead(doc) == []
    [why] = skipped_because(doc)
    assert "muted by an alarm mute rule (checkout-api-release-window" in why


def test_an_empty_mute_detail_is_not_a_mute(world, tmp_path):
    event = story.alarm_event(story.deploy_end(T1) + timedelta(minutes=20))
    event["detail"]["muteDetail"] = {}
    doc = play(world, tmp_path, [*releases(), story.step(event)])
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1


def test_the_page_of_a_confirmed_message_says_what_cloudwatch_says_not_what_the_message_says(world, tmp_path):
    # Given CloudWatch's own ALARM transition, when a message about it arrives whose reason and description
    # someone rewrote (a link to "their" runbook), then the rollback's page and messages carry CloudWatch's
    # reason and none of the message's text.
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    play(world, tmp_path, releases())
    fakes.apply_event(story.alarm_event(fired))
    message = story.alarm_notification(fired)
    message["NewStateReason"] = "Rollback approved by SRE, confirm at https://evil.example/runbook"
    message["AlarmDescription"] = "see https://evil.example/runbook"
    doc = play(world, tmp_path, [story.step(message, fired)], calls=[], name="m.json")
    [page] = triggers(doc)
    texts = [page["summary"]] + [m["body"] for m in notices(doc, "rollback.started")]
    assert all("evil" not in t for t in texts)
    assert "Threshold Crossed: 1 out of the last 1 datapoints" in page["summary"]


def test_the_same_composite_alarm_unsuppressed_rolls_back(world, tmp_path):
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    doc = play(world, tmp_path, [*releases(), story.step(composite_event(fired, suppressed=False))],
               calls=composite_world())
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1


def test_the_alarm_topic_admits_only_cloudwatch_of_this_and_the_trusted_accounts():
    from warden_local.world import World

    with World(parameters={"TrustedAccountIds": WORKLOAD}) as world:
        policy = world.resolve(world.template.resources["RollbackAlarmTopicPolicy"]["Properties"]["PolicyDocument"])
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert statement["Action"] == "sns:Publish" and statement["Effect"] == "Allow"
    assert sorted(statement["Condition"]["StringEquals"]["aws:SourceAccount"]) == sorted([story.ACCOUNT, WORKLOAD])


# -- faults ----------------------------------------------------------------------------------------
def test_a_retry_after_rollback_stage_succeeded_resumes_and_pages_instead_of_saying_skipped(world, tmp_path, faults):
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    play(world, tmp_path, releases())
    # The write that records the rollback execution fails past botocore's retries: Lambda retries the alarm.
    faults.fail("dynamodb:UpdateItem", BOTOCORE_ATTEMPTS, lambda b: only_warden(b) and b"rollback_execution_id" in b)
    doc = play(world, tmp_path, [story.step(story.alarm_event(fired))], calls=[], name="a.json")
    assert len(codepipeline_state().rollbacks) == 1
    assert len(triggers(doc)) == 1 and notices(doc, "rollback.skipped") == []
    assert dead(doc) == []


def test_a_lost_answer_to_rollback_stage_is_verified_not_reported_as_a_refusal(world, tmp_path, faults):
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    play(world, tmp_path, releases())
    faults.fail("codepipeline:RollbackStage", 1, only_warden, lost=True)  # botocore retries: "already rolling back"
    doc = play(world, tmp_path, [story.step(story.alarm_event(fired))], calls=[], name="a.json")
    assert len(codepipeline_state().rollbacks) == 1
    assert len(triggers(doc)) == 1 and notices(doc, "rollback.skipped") == []


def test_a_failed_record_after_the_stop_still_rolls_back_once_the_stage_stopped(world, tmp_path, faults):
    play(world, tmp_path, releases(second_finishes=False))
    faults.fail("dynamodb:UpdateItem", BOTOCORE_ATTEMPTS * LAMBDA_ATTEMPTS,
                lambda b: only_warden(b) and b"acted" in b and b"pending_execution" in b)
    doc = play(world, tmp_path, [story.step(story.alarm_event(T1 + timedelta(minutes=6)))], calls=[],
               name="a.json")
    assert [s["pipelineExecutionId"] for s in codepipeline_state().stops] == [E2]
    assert dead(doc)  # every attempt failed: the alarm is dead-lettered ...
    faults.clear()
    stopped = T1 + timedelta(minutes=7)
    doc = play(world, tmp_path, [story.step(story.stage_event(E2, "STOPPED", stopped))], calls=[],
               name="b.json")
    # ... and the stage's STOPPED event still finds the intent: the stage is rolled back.
    assert [r["targetPipelineExecutionId"] for r in codepipeline_state().rollbacks] == [E1]
    # The redrive of the alarm resumes the intent: one stop, one page, nothing skipped.
    redrive = play(world, tmp_path, [story.step(story.alarm_event(T1 + timedelta(minutes=6)) | {"id": "redrive"})],
                   calls=[], name="c.json")
    assert len(codepipeline_state().stops) == 1 and notices(redrive, "rollback.skipped") == []


def test_a_retry_on_the_codedeploy_path_never_stops_codedeploys_own_rollback(world, tmp_path, faults):
    play(world, tmp_path, [deploy_step(T1)], calls=codedeploy_world())
    faults.fail("dynamodb:UpdateItem", BOTOCORE_ATTEMPTS, lambda b: only_warden(b) and b"deployment_id" in b
                and b"acted" in b)
    doc = play(world, tmp_path, [story.step(story.alarm_event(T1 + timedelta(minutes=4)))], calls=[],
               name="a.json")
    stops = codedeploy_state().stops
    assert len(stops) == 1  # the release only: never the rollback deployment CodeDeploy created
    assert len(triggers(doc)) == 1 and notices(doc, "rollback.skipped") == []


def test_a_new_alarm_during_codedeploys_rollback_never_stops_it(world, tmp_path):
    play(world, tmp_path, [deploy_step(T1), story.step(story.alarm_event(T1 + timedelta(minutes=4)))],
         calls=codedeploy_world(), config={"cooldown_minutes": 0})
    doc = play(world, tmp_path, [story.step(story.alarm_event(T1 + timedelta(minutes=8)))], calls=[],
               name="b.json", config={"cooldown_minutes": 0})
    assert len(codedeploy_state().stops) == 1
    assert "never stops a rollback" in skipped_because(doc)[0]


def test_a_lost_answer_to_stop_deployment_is_not_a_refusal(world, tmp_path, faults):
    play(world, tmp_path, [deploy_step(T1)], calls=codedeploy_world())
    faults.fail("codedeploy:StopDeployment", 1, only_warden, lost=True)
    doc = play(world, tmp_path, [story.step(story.alarm_event(T1 + timedelta(minutes=4)))], calls=[],
               name="a.json")
    assert len(triggers(doc)) == 1 and notices(doc, "rollback.skipped") == []


def test_an_unreadable_rollback_document_never_acts_on_defaults(world, tmp_path, faults):
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    play(world, tmp_path, releases(), config={"mode": "dry_run"})
    faults.fail("ssm:GetParameter", 10**6, lambda b: only_warden(b) and b"rollback" in b)
    doc = play(world, tmp_path, [story.step(story.alarm_event(fired))], calls=[], name="a.json", grants=None)
    assert calls(doc, "codepipeline:RollbackStage") == [] and triggers(doc) == []  # not the enforce default
    [letter] = dead(doc)
    assert "could not be read" in letter["error"] or "Throttling" in letter["error"]
    faults.clear()
    redrive = play(world, tmp_path, [story.step(story.alarm_event(fired) | {"id": "redrive"})], calls=[],
                   name="b.json", grants=None)
    assert calls(redrive, "codepipeline:RollbackStage") == []
    assert "dry run" in skipped_because(redrive)[0]


def test_an_invalid_rollback_document_is_dead_lettered_at_once_with_the_reason(world, tmp_path):
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    play(world, tmp_path, releases())
    world.client("ssm").put_parameter(Name="/pipeline-warden/rollback", Type="String", Overwrite=True,
                                      Value=json.dumps({"mode": "dryrun"}))
    doc = play(world, tmp_path, [story.step(story.alarm_event(fired))], calls=[], name="a.json", grants=None)
    assert acted(effects(doc, "call")) == [] and triggers(doc) == []
    [letter] = dead(doc)
    assert "InvalidConfig" in letter["error"] and "rollback.mode" in letter["error"]


def test_two_alarms_on_one_release_via_stage_and_group_act_once_and_page_once(world, tmp_path):
    group_alarm = "checkout-prod-latency"
    world_calls = story.world() + [
        {"call": "cloudwatch:PutMetricAlarm", "params": {
            "AlarmName": group_alarm, "Namespace": "AWS/ApplicationELB", "MetricName": "TargetResponseTime",
            "Statistic": "Average", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1,
            "ComparisonOperator": "GreaterThanThreshold",
            "Tags": [{"Key": "pipeline-warden:deployment-group", "Value": "checkout/prod"}]}},
        *codedeploy_world()[3:]]
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    doc = play(world, tmp_path, [*releases(), story.step(story.alarm_event(fired)),
                                 story.step(story.alarm_event(fired + timedelta(seconds=30), alarm=group_alarm))],
               calls=world_calls)
    assert len(calls(doc, "codepipeline:RollbackStage")) == 1 and calls(doc, "codedeploy:StopDeployment") == []
    assert [p["dedup_key"] for p in triggers(doc)] == [PAGE_KEY]
    [why] = skipped_because(doc)  # the group alarm is the same release: told, not acted on, not paged
    assert "Deployment group: prod" in why and "already runs a rollback" in why
    rollback = rollback_execution_id(story.PIPELINE, story.STAGE, E1)
    done = fired + timedelta(minutes=9)
    after = play(world, tmp_path, [rollback_started(rollback, E1, fired + timedelta(minutes=1)),
                                   story.step(story.stage_event(rollback, "SUCCEEDED", done))],
                 calls=[], name="after.json")
    assert [(p["action"], p["dedup_key"]) for p in effects(after, "page")] == [("resolve", PAGE_KEY)]


def test_each_pipeline_rollback_pages_once_the_rollback_executions_started_does_not_page_again(world, tmp_path):
    fired = story.deploy_end(T1) + timedelta(minutes=20)
    rollback = rollback_execution_id(story.PIPELINE, story.STAGE, E1)
    doc = play(world, tmp_path, [*releases(), story.step(story.alarm_event(fired)),
                                 rollback_started(rollback, E1, fired + timedelta(minutes=1))])
    assert len(triggers(doc)) == 1
    assert [m for m in effects(doc, "message") if m["event"] == "deployment.rolled_back"] == []


def test_a_persons_rollback_still_pages(world, tmp_path):
    manual = "0b1c2d3e-7777-4a5b-8c7d-000000000007"
    doc = play(world, tmp_path, [*releases(), rollback_started(manual, E1, story.deploy_end(T1)
                                                               + timedelta(minutes=5))])
    assert len(triggers(doc)) == 1 and effects(doc, "message", event="deployment.rolled_back")


def test_a_codedeploy_rollback_page_is_resolved_when_the_rollback_deployment_succeeds(world, tmp_path):
    fired = T1 + timedelta(minutes=4)
    doc = play(world, tmp_path, [deploy_step(T1), story.step(story.alarm_event(fired))],
               calls=codedeploy_world())
    [page] = triggers(doc)
    [stopped] = codedeploy_state().stops
    info = world.client("codedeploy").get_deployment(deploymentId=stopped["deploymentId"])["deploymentInfo"]
    rollback = info["rollbackInfo"]["rollbackDeploymentId"]
    success = json.loads((EVENTS / "codedeploy" / "deployment-success.json").read_text())
    success["account"], success["time"] = story.ACCOUNT, story.clock.iso(fired + timedelta(minutes=6))
    success["detail"] |= {"application": "checkout", "deploymentGroup": "prod", "deploymentId": rollback}
    after = play(world, tmp_path, [story.step(success), story.step(dict(success, id="redelivered"))],
                 calls=[], name="after.json")
    resolves = [p for p in effects(after, "page") if p["action"] == "resolve" and "/rollback/" in p["dedup_key"]]
    assert [p["dedup_key"] for p in resolves] == [page["dedup_key"]]


# -- the validation hook under a read throttle -----------------------------------------------------
def _hook_world(world):
    from tests.integration.test_validation_hook import setup

    return setup(world)


def _hook_reports(world, mark):
    return [e["params"]["status"] for e in world.effects(mark)
            if e["kind"] == "call" and e["api"] == "codedeploy:PutLifecycleEventHookExecutionStatus"]


def test_the_hook_retries_a_transient_read_instead_of_failing_the_deployment(world, faults):
    event = _hook_world(world)
    faults.fail("codedeploy:GetDeployment", BOTOCORE_ATTEMPTS)  # the first attempt's read is throttled
    mark = world.begin()
    outcome = world.invoke("DeploymentValidationHook", event)
    assert _hook_reports(world, mark) == ["Succeeded"] and outcome.error is None


def test_the_hook_reports_hook_on_error_only_on_the_last_attempt(world, faults):
    event = _hook_world(world)
    faults.fail("codedeploy:GetDeployment", 10**6)
    mark = world.begin()
    world.invoke("DeploymentValidationHook", event)
    assert _hook_reports(world, mark) == ["Failed"]  # once, from the third and last attempt
    assert faults.rules[0].failed == BOTOCORE_ATTEMPTS * LAMBDA_ATTEMPTS


def test_the_hook_attempts_match_lambdas_retries():
    from warden_local.world import World

    with World() as world:
        fn = world.template.resources["DeploymentValidationHook"]["Properties"]
    assert int(fn["Environment"]["Variables"]["HOOK_ATTEMPTS"]) == 1 + fn["EventInvokeConfig"]["MaximumRetryAttempts"]
