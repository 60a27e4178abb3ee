"""CloudWatch alarm state-change events (EventBridge, source aws.cloudwatch).

Documented shapes: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html
- single-metric, metric-math and anomaly alarms: detail {alarmName, state{value, reason, reasonData (a JSON
string), timestamp (`2019-10-01T13:56:40.987+0000`)}, previousState{...}, configuration{description?,
metrics[{id, metricStat{metric{name, namespace, dimensions{}}, period, stat}, expression?, label?, returnData}]}};
- composite alarms: configuration {alarmRule, actionsSuppressor*, ...} and no metrics; state may carry
actionsSuppressedBy (WaitPeriod | ExtensionPeriod | Alarm) and actionsSuppressedReason; reasonData lists
triggeringAlarms [{arn, state{value, timestamp}}].
- alarm mute rules (AWS::CloudWatch::AlarmMuteRule, PutAlarmMuteRule): while a rule is ACTIVE the alarm still
changes state and emits its state-change event, but its actions are muted; the event then carries a
`muteDetail` object naming the mute (rule name or ARN, its window). Its fields are not pinned down in the
documentation Warden was built against, so any non-empty `muteDetail` (beside `state` or inside it) means
muted, and the names it carries are quoted back.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from pydantic import Field

from warden.models.base import REGION_PATTERN, TimeText, WardenEventBridgeModel, WardenModel, parse_time

SOURCE = "aws.cloudwatch"
ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"


class AlarmValue:
    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


def _mute_text(detail: Any) -> str:
    """What a muteDetail says, as one line: the rule names or ARNs it carries, else its keys and values."""
    if isinstance(detail, dict):
        named = [str(v) for k, v in detail.items() if isinstance(v, str | int) and any(
            word in k.lower() for word in ("rule", "arn", "name", "by", "reason", "until", "end"))]
        for value in detail.values():
            if isinstance(value, list | dict):
                named += [t for t in [_mute_text(value)] if t]
        return ", ".join(named) if named else ", ".join(f"{k}={v}" for k, v in detail.items())[:300]
    if isinstance(detail, list):
        return ", ".join(t for t in (_mute_text(v) for v in detail) if t)
    return str(detail) if detail not in (None, "") else ""


class AlarmState(WardenModel):
    value: str
    reason: str | None = None
    reason_data: str | None = Field(None, alias="reasonData")
    timestamp: TimeText | None = None
    actions_suppressed_by: str | None = Field(None, alias="actionsSuppressedBy")
    actions_suppressed_reason: str | None = Field(None, alias="actionsSuppressedReason")
    mute_detail: Any = Field(None, alias="muteDetail")

    @property
    def at(self) -> datetime | None:
        return parse_time(self.timestamp)

    @property
    def data(self) -> dict[str, Any] | None:
        """reasonData decoded (it is a JSON document in a string); None when absent or not JSON."""
        try:
            decoded = json.loads(self.reason_data) if self.reason_data else None
        except ValueError:
            return None
        return decoded if isinstance(decoded, dict) else None


class AlarmMetric(WardenModel):
    name: str | None = None
    namespace: str | None = None
    dimensions: dict[str, Any] | None = None


class AlarmMetricStat(WardenModel):
    metric: AlarmMetric | None = None
    period: int | None = None
    stat: str | None = None
    unit: str | None = None


class AlarmMetricQuery(WardenModel):
    id: str | None = None
    metric_stat: AlarmMetricStat | None = Field(None, alias="metricStat")
    expression: str | None = None
    label: str | None = None
    return_data: bool | None = Field(None, alias="returnData")


class AlarmConfiguration(WardenModel):
    description: str | None = None
    metrics: list[AlarmMetricQuery] = Field(default_factory=list)
    alarm_rule: str | None = Field(None, alias="alarmRule")
    actions_suppressor: str | None = Field(None, alias="actionsSuppressor")
    actions_suppressor_wait_period: int | None = Field(None, alias="actionsSuppressorWaitPeriod")
    actions_suppressor_extension_period: int | None = Field(None, alias="actionsSuppressorExtensionPeriod")


class CloudWatchAlarmDetail(WardenModel):
    alarm_name: str = Field(alias="alarmName")
    state: AlarmState
    previous_state: AlarmState | None = Field(None, alias="previousState")
    configuration: AlarmConfiguration | None = None
    mute_detail: Any = Field(None, alias="muteDetail")

    @property
    def muted(self) -> str | None:
        """Why the alarm's actions are muted (an alarm mute rule), or None: CloudWatch runs none of them."""
        detail = self.mute_detail if self.mute_detail not in (None, {}, [], "") else self.state.mute_detail
        if detail in (None, {}, [], "", False):
            return None
        return f"muted by an alarm mute rule ({_mute_text(detail) or 'muteDetail set'})"

    @property
    def suppressed(self) -> str | None:
        """Why a composite alarm's actions are suppressed (actionsSuppressedBy / actionsSuppressedReason)."""
        by, why = self.state.actions_suppressed_by, self.state.actions_suppressed_reason
        if by in (None, "", "None") and not why:
            return None
        return f"suppressed ({by or 'actionsSuppressedReason'}: {why or 'no reason given'})"

    @property
    def is_alarm(self) -> bool:
        return self.state.value == AlarmValue.ALARM

    @property
    def is_composite(self) -> bool:
        return self.configuration is not None and self.configuration.alarm_rule is not None

    @property
    def triggering_alarms(self) -> list[str]:
        """For a composite alarm, the ARNs of the children its reasonData names."""
        data = self.state.data or {}
        items = data.get("triggeringAlarms")
        if not isinstance(items, list):
            return []
        return [item["arn"] for item in items if isinstance(item, dict) and isinstance(item.get("arn"), str)]


class CloudWatchAlarmStateChange(WardenEventBridgeModel):
    detail: CloudWatchAlarmDetail

    @property
    def alarm_arn(self) -> str | None:
        return next((r for r in self.resources if ":alarm:" in r), None)


# -- CloudWatch alarm notifications over SNS (an alarm action that publishes to a topic) ----------------
# Documented: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Notify_Users_Alarm_Changes.html
# The SNS Message is a JSON document {AlarmName, AlarmDescription, AWSAccountId, NewStateValue, NewStateReason,
# StateChangeTime (`2026-11-27T16:01:10.190+0000`), Region (a display name: "US East (N. Virginia)"), AlarmArn,
# OldStateValue, Trigger{...}}. The region is read from AlarmArn.
ALARM_NOTIFICATION_KIND = "CloudWatch alarm notification"


class CloudWatchAlarmNotification(WardenModel):
    alarm_name: str = Field(alias="AlarmName")
    new_state: str = Field(alias="NewStateValue")
    old_state: str | None = Field(None, alias="OldStateValue")
    reason: str | None = Field(None, alias="NewStateReason")
    state_change_time: TimeText | None = Field(None, alias="StateChangeTime")
    account: str | None = Field(None, alias="AWSAccountId")
    alarm_arn: str | None = Field(None, alias="AlarmArn")
    description: str | None = Field(None, alias="AlarmDescription")

    @property
    def at(self) -> datetime | None:
        return parse_time(self.state_change_time)

    @property
    def region(self) -> str | None:
        parts = (self.alarm_arn or "").split(":")
        return parts[3] if len(parts) > 3 and re.match(REGION_PATTERN, parts[3]) else None
