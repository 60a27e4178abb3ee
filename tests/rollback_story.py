"""A release story for alarm rollbacks: the checkout-api pipeline, its alarm, releases and alarm transitions,
as real API calls and events shaped like AWS's samples (events/cloudwatch, events/codepipeline)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from tests.helpers import EVENTS
from warden.core import clock

ACCOUNT = "111122223333"
REGION = "us-east-1"
PIPELINE = "checkout-api"
STAGE = "Deploy"
ALARM = "checkout-api-prod-5xx"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/checkout-pipeline"
# The platform team's grant for the checkout team: its alarms' tags may name its pipelines and groups (without
# a grant, alarm tags map nothing).
GRANTS = [{"alarms": ["checkout-*"], "pipelines": ["checkout-*"], "deployment_groups": ["checkout/*"]}]


def pipeline_definition(name: str = PIPELINE, *, on_success_alarm: str | None = None) -> dict[str, Any]:
    deploy: dict[str, Any] = {"name": STAGE, "actions": [{
        "name": "Deploy", "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CodeDeploy",
                                           "version": "1"},
        "configuration": {"ApplicationName": "checkout", "DeploymentGroupName": "prod"},
        "inputArtifacts": [{"name": "src"}]}]}
    if on_success_alarm:
        deploy["onSuccess"] = {"conditions": [{"result": "ROLLBACK", "rules": [{
            "name": "ErrorRate", "ruleTypeId": {"category": "Rule", "owner": "AWS", "provider": "CloudWatchAlarm",
                                                "version": "1"},
            "configuration": {"AlarmName": on_success_alarm, "WaitTime": "5"}}]}]}
    return {"name": name, "roleArn": ROLE, "pipelineType": "V2", "executionMode": "QUEUED",
            "artifactStore": {"type": "S3", "location": f"{name}-artifacts-{ACCOUNT}"},
            "stages": [
                {"name": "Source", "actions": [{
                    "name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS",
                                                       "provider": "CodeStarSourceConnection", "version": "1"},
                    "configuration": {"ConnectionArn": f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/"
                                                       "6e8f0c2a-1111-4a5b-9c3d-0e1f2a3b4c5d",
                                      "FullRepositoryId": "example-org/checkout-api", "BranchName": "main"},
                    "outputArtifacts": [{"name": "src"}]}]},
                deploy]}


def world(*, tags: bool = True, alarm: str = ALARM, pipeline: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The real API calls that set the story up: a role, the pipeline, its alarm (tagged with what it guards)."""
    alarm_tags = [{"Key": "pipeline-warden:pipeline", "Value": PIPELINE},
                  {"Key": "pipeline-warden:stage", "Value": STAGE}] if tags else []
    return [
        {"call": "iam:CreateRole", "params": {"RoleName": "checkout-pipeline", "AssumeRolePolicyDocument": json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
                "Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]})}},
        {"call": "codepipeline:CreatePipeline", "params": {"pipeline": pipeline or pipeline_definition()}},
        {"call": "cloudwatch:PutMetricAlarm", "params": {
            "AlarmName": alarm, "AlarmDescription": "checkout-api prod: target 5XX above 25 per minute",
            "Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count", "Statistic": "Sum",
            "Dimensions": [{"Name": "LoadBalancer", "Value": "app/checkout-api-prod/8e2f4a6c1b3d5e7f"}],
            "Period": 60, "EvaluationPeriods": 1, "Threshold": 25, "ComparisonOperator": "GreaterThanThreshold",
            "Tags": alarm_tags}},
    ]


def _at(moment: datetime | str) -> str:
    return moment if isinstance(moment, str) else clock.iso(moment)


def _pipeline_event(kind: str, execution: str, state: str, at: datetime, *, account: str = ACCOUNT,
                    pipeline: str = PIPELINE, **detail: Any) -> dict[str, Any]:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": f"CodePipeline {kind} Execution State Change",
            "source": "aws.codepipeline", "account": account, "time": _at(at), "region": REGION,
            "resources": [f"arn:aws:codepipeline:{REGION}:{account}:{pipeline}"],
            "detail": {"pipeline": pipeline, "execution-id": execution, "state": state, "version": 1.0,
                       "pipeline-execution-attempt": 1.0, **detail}}


def release(execution: str, start: datetime, *, commit: str, author: str, deploy_minutes: int = 10,
            finish: bool = True, account: str = ACCOUNT) -> list[dict[str, Any]]:
    """Steps of one release: the execution starts, its Deploy stage starts and (if `finish`) succeeds."""
    trigger = {"trigger-type": "WebhookV2", "commit-id": commit, "author-display-name": author,
               "full-repository-name": "example-org/checkout-api", "provider-type": "GitHub", "branch-name": "main",
               "commit-message": f"Release {commit[:7]}", "author-date": _at(start - timedelta(minutes=3))}
    start_time = {"start-time": _at(start).replace("Z", ".000Z")}
    deploy_start, deploy_end = start + timedelta(minutes=2), start + timedelta(minutes=2 + deploy_minutes)
    steps = [
        {"at": _at(start), "event": _pipeline_event("Pipeline", execution, "STARTED", start, account=account,
                                                    **start_time, **{"execution-trigger": trigger})},
        {"at": _at(deploy_start), "event": _pipeline_event("Stage", execution, "STARTED", deploy_start,
                                                           account=account, stage=STAGE, **start_time)},
    ]
    if finish:
        steps += [
            {"at": _at(deploy_end), "event": _pipeline_event("Stage", execution, "SUCCEEDED", deploy_end,
                                                             account=account, stage=STAGE, **start_time)},
            {"at": _at(deploy_end + timedelta(seconds=5)), "event": _pipeline_event(
                "Pipeline", execution, "SUCCEEDED", deploy_end + timedelta(seconds=5), account=account,
                **start_time, **{"execution-trigger": trigger})},
        ]
    return steps


def deploy_end(start: datetime, deploy_minutes: int = 10) -> datetime:
    return start + timedelta(minutes=2 + deploy_minutes)


def alarm_event(at: datetime, state: str = "ALARM", previous: str = "OK", *, alarm: str = ALARM,
                account: str = ACCOUNT, delivered: datetime | None = None) -> dict[str, Any]:
    """A CloudWatch Alarm State Change shaped like the AWS sample (events/cloudwatch/alarm-5xx-alarm.json):
    the state's own timestamp is `at`; EventBridge's `time` is when it was delivered."""
    event = copy.deepcopy(json.loads((EVENTS / "cloudwatch" / "alarm-5xx-alarm.json").read_text()))
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"
    event["id"] = str(uuid.uuid4())
    event["account"] = account
    event["time"] = _at(delivered or at)
    event["resources"] = [f"arn:aws:cloudwatch:{REGION}:{account}:alarm:{alarm}"]
    detail = event["detail"]
    detail["alarmName"] = alarm
    detail["state"]["value"], detail["state"]["timestamp"] = state, stamp
    detail["previousState"]["value"] = previous
    if state == "OK":
        detail["state"]["reason"] = ("Threshold Crossed: 1 out of the last 1 datapoints [2.0] was not greater than "
                                     "the threshold (25.0)")
    return event


def alarm_notification(at: datetime, state: str = "ALARM", previous: str = "OK", *, alarm: str = ALARM,
                       account: str = ACCOUNT) -> dict[str, Any]:
    """The Message a CloudWatch alarm action publishes to SNS."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"
    return {"AlarmName": alarm, "AlarmDescription": "checkout-api prod: target 5XX above 25 per minute",
            "AWSAccountId": account, "AlarmConfigurationUpdatedTimestamp": "2026-11-20T09:12:44.118+0000",
            "NewStateValue": state, "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [63.0] was "
            "greater than the threshold (25.0)", "StateChangeTime": stamp, "Region": "US East (N. Virginia)",
            "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{account}:alarm:{alarm}", "OldStateValue": previous,
            "OKActions": [], "InsufficientDataActions": [],
            "AlarmActions": [f"arn:aws:sns:{REGION}:{ACCOUNT}:pipeline-warden-prod-rollback-alarms"],
            "Trigger": {"MetricName": "HTTPCode_Target_5XX_Count", "Namespace": "AWS/ApplicationELB",
                        "StatisticType": "Statistic", "Statistic": "SUM", "Unit": None, "Period": 60,
                        "EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "Threshold": 25.0,
                        "TreatMissingData": "missing", "EvaluateLowSampleCountPercentile": ""}}


def stage_event(execution: str, state: str, at: datetime, *, stage: str = STAGE, **detail: Any) -> dict[str, Any]:
    return _pipeline_event("Stage", execution, state, at, stage=stage, **detail)


def pipeline_event(execution: str, state: str, at: datetime, **detail: Any) -> dict[str, Any]:
    return _pipeline_event("Pipeline", execution, state, at, **detail)


def step(event: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
    return {"at": _at(at) if at else event.get("time") or clock.iso(clock.now()), "event": event}


class Timeline:
    """Events that happen in the embedded AWS at their own time (CodePipeline's and CloudWatch's state follow
    them) and reach Warden's functions when, and as often as, a test says: a late or lagging delivery."""

    def __init__(self, embedded: Any, calls: list[dict[str, Any]] | None = None,
                 rollback: dict[str, Any] | None = None) -> None:
        """`rollback`: the rollback document (default: the story's tag grant, so its alarm's tags count)."""
        from warden_local.replay import Replayer, Scenario

        self.world = embedded
        self.replayer = Replayer(embedded)
        self.replayer.run(Scenario("world", world=world() if calls is None else calls,
                                   config={"rollback": {"tag_grants": GRANTS} if rollback is None else rollback}))

    def happen(self, event: dict[str, Any]) -> None:
        from warden_local import fakes

        self.world.set_time(clock.parse_iso(event["time"]))
        fakes.apply_event(copy.deepcopy(event))

    def deliver(self, event: dict[str, Any], at: datetime | None = None, *,
                only: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        """Deliver `event` (at `at`, else its own time) to the functions that template.yaml routes it to (or
        to `only` those); returns the effects observed."""
        self.world.set_time(at or clock.parse_iso(event.get("time") or clock.iso(clock.now())))
        mark = self.world.begin()
        for function, payload in self.replayer.routes(copy.deepcopy(event)):
            if only is None or function in only:
                self.world.invoke(function, payload)
        return self.world.effects(mark)

    def both(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """It happens and is delivered at once."""
        self.happen(event)
        return self.deliver(event)
