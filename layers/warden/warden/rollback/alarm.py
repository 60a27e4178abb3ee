"""An alarm's transition, whichever way it arrived (EventBridge state change or SNS notification).

The transition's identity is the alarm and the time CloudWatch says the state changed (the state's own
timestamp, never the delivery time): the EventBridge event and the SNS message of one transition, and every
redelivery of either, share it, so idempotency keyed on it acts once per transition.

An alarm whose actions CloudWatch does not run acts on nothing here either: `suppressed_by` is a composite
alarm's `actionsSuppressedBy` (or its reason), `muted` an alarm mute rule's `muteDetail`. The transition still
maps to its targets, so the team hears `rollback.skipped` saying why (and nobody is paged).

The two ways are not equally trustworthy. An EventBridge event of source aws.cloudwatch is put on the bus by
AWS (its account is the alarm's, the bus policy and the rule admit only trusted accounts). An SNS message is
what anyone allowed to publish on the topic wrote: `via` says which way it came, and RollbackTrigger confirms
an SNS transition with CloudWatch itself (warden.rollback.confirm) before it acts. `suppressed_by` is a
composite alarm's `actionsSuppressedBy`: CloudWatch runs none of that alarm's actions, and neither does Warden.
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
    via: str = "eventbridge"  # or "sns": a message to confirm with CloudWatch before acting
    suppressed_by: str | None = None  # a composite alarm whose actions are suppressed (WaitPeriod, Alarm, ...)
    arn_account: str | None = None  # the account in the message's AlarmArn (SNS): must be the one it claims
    muted: str | None = None  # why an alarm mute rule mutes its actions (the event's muteDetail)

    @property
    def held_back(self) -> str | None:
        """Why CloudWatch runs none of this transition's actions (and Warden neither), or None."""
        if self.muted:
            return f"the actions of alarm {self.alarm} are {self.muted}: CloudWatch runs none of them"
        if self.suppressed_by:
            return (f"the actions of composite alarm {self.alarm} are suppressed ({self.suppressed_by}): "
                    "CloudWatch runs none of them")
        return None

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
                          description=d.configuration.description if d.configuration else None,
                          suppressed_by=f"{d.state.actions_suppressed_by or 'suppressed'}: "
                                        f"{d.state.actions_suppressed_reason or 'no reason given'}"
                          if d.suppressed else None, muted=d.muted)
    if isinstance(event, CloudWatchAlarmNotification):
        arn_account = (event.alarm_arn or "").split(":")[4:5]
        return Transition(alarm=event.alarm_name, account=event.account or (arn_account[0] if arn_account else ""),
                          region=event.region or default_region, state=event.new_state,
                          at=event.at or datetime.now(UTC), previous=event.old_state, reason=event.reason,
                          arn=event.alarm_arn, description=event.description, via="sns",
                          arn_account=arn_account[0] if arn_account else None)
    return None
