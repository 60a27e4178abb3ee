"""Embedded CloudWatch: PutCompositeAlarm (missing in moto 5.2), and alarm state changes that happened.

moto keeps alarms but lacks composite alarms, and `set_alarm_state` stamps the machine's clock and emits no
event. Here:
- PutCompositeAlarm creates an alarm with its AlarmRule and suppressor settings (moto's PutMetricAlarm
  already reads AlarmRule; DescribeAlarms lists such an alarm under CompositeAlarms);
- a "CloudWatch Alarm State Change" event fed to the world is AWS's own record of a transition, so it is
  applied to the alarm of that account and region: StateValue, StateReason, StateReasonData, the state's own
  timestamp (StateUpdatedTimestamp and StateTransitionedTimestamp, to the millisecond) and, for a composite
  alarm, ActionsSuppressedBy / ActionsSuppressedReason. DescribeAlarms then answers as CloudWatch would.
An alarm message published to SNS is NOT applied: anyone allowed to publish can write one, and whether it
is true is exactly what DescribeAlarms must tell.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult, EmptyResult

from . import moto_model

ALARM_EVENT = "CloudWatch Alarm State Change"
_MARK = "_warden_embedded"


def _parse(stamp: str) -> datetime:
    """CloudWatch's `2026-11-27T16:01:10.190+0000` as naive UTC (what moto keeps)."""
    moment = datetime.strptime(stamp.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")
    return moment.astimezone(UTC).replace(tzinfo=None)


def apply_event(event: dict[str, Any]) -> bool:
    """Apply an alarm state change event to the embedded alarm it names (False when there is none)."""
    if event.get("source") != "aws.cloudwatch" or event.get("detail-type") != ALARM_EVENT:
        return False
    detail, account, region = event.get("detail") or {}, event.get("account"), event.get("region")
    try:
        alarm = moto_model.cloudwatch_alarms(account, region).get(detail.get("alarmName"))
    except (KeyError, TypeError):
        return False  # no such account or region: nothing happened here
    state = detail.get("state") or {}
    if alarm is None or not state.get("value") or not state.get("timestamp"):
        return False
    at = _parse(state["timestamp"])
    alarm.history.append(("StateUpdate", alarm.state_reason, alarm.state_reason_data, alarm.state_value,
                          alarm.state_updated_timestamp))
    alarm.state_value = state["value"]
    alarm.state_reason = state.get("reason") or alarm.state_reason
    alarm.state_reason_data = state.get("reasonData") or "{}"
    alarm.state_updated_timestamp = at
    alarm.state_transitioned_timestamp = at
    alarm.actions_suppressed_by = state.get("actionsSuppressedBy")
    alarm.actions_suppressed_reason = state.get("actionsSuppressedReason")
    return True


def put_composite_alarm(self: CloudWatchResponse) -> ActionResult:
    """moto's PutMetricAlarm reads AlarmRule already; the suppressor settings are kept beside it."""
    self.put_metric_alarm()
    alarm = self.cloudwatch_backend.alarms[self._get_param("AlarmName")]
    alarm.actions_suppressor = self._get_param("ActionsSuppressor")
    alarm.actions_suppressor_wait_period = self._get_param("ActionsSuppressorWaitPeriod")
    alarm.actions_suppressor_extension_period = self._get_param("ActionsSuppressorExtensionPeriod")
    return EmptyResult()


def install() -> None:
    if getattr(CloudWatchResponse, _MARK, False):
        return
    CloudWatchResponse.put_composite_alarm = put_composite_alarm  # type: ignore[attr-defined]
    setattr(CloudWatchResponse, _MARK, True)
