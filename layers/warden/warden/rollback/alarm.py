"""An alarm's transition, whichever way it arrived (EventBridge state change or SNS notification).

The transition's identity is the alarm and the time CloudWatch says the state changed (the state's own
timestamp, never the delivery time): the EventBridge event and the SNS message of one transition, and every
redelivery of either, share it, so idempotency keyed on it acts once per transition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from warden.models.cloudwatch import AlarmValue, CloudWatchAlarmNotification, CloudWatchAlarmStateChange


@dataclass(frozen=True)
class Transition:
    alarm: str
    account: str
    region: str
    state: str
    at: datetime  # when the alarm changed state (CloudWatch's timestamp)
    previous: str | None = None
    reason: str | None = None
    arn: str | None = None
    description: str | None = None

    @property
    def into_alarm(self) -> bool:
        return self.state == AlarmValue.ALARM and self.previous != AlarmValue.ALARM

    @property
    def key(self) -> str:
        return f"{self.account}/{self.region}/{self.alarm}@{self.at.astimezone(UTC).isoformat(timespec='milliseconds')}"

    @property
    def alarm_arn(self) -> str:
        return self.arn or f"arn:aws:cloudwatch:{self.region}:{self.account}:alarm:{self.alarm}"


def transition_of(event: Any, *, default_region: str) -> Transition | None:
    """The transition an alarm input describes; None for anything else."""
    if isinstance(event, CloudWatchAlarmStateChange):
        d = event.detail
        return Transition(alarm=d.alarm_name, account=event.account, region=event.region, state=d.state.value,
                          at=d.state.at or event.time, previous=d.previous_state.value if d.previous_state else None,
                          reason=d.state.reason, arn=event.alarm_arn,
                          description=d.configuration.description if d.configuration else None)
    if isinstance(event, CloudWatchAlarmNotification):
        arn_account = (event.alarm_arn or "").split(":")[4:5]
        return Transition(alarm=event.alarm_name, account=event.account or (arn_account[0] if arn_account else ""),
                          region=event.region or default_region, state=event.new_state,
                          at=event.at or datetime.now(UTC), previous=event.old_state, reason=event.reason,
                          arn=event.alarm_arn, description=event.description)
    return None
