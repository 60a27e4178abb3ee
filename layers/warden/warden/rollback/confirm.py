"""Is an alarm transition real? What an SNS message on the alarm topic claims, checked with CloudWatch.

Anyone allowed to publish on the topic can write an ALARM message; the topic policy admits only CloudWatch
of trusted accounts, but a message is still only a claim. Before anything acts on it, Warden asks CloudWatch
in the claimed account and region (DescribeAlarms, through the same access it would act with):
- the account is trusted (this account, TrustedAccountIds, or the organisation) and the message's AlarmArn
  names the account the message claims; otherwise Warden never assumes a role there;
- the alarm exists there, and its state changed into ALARM exactly when the message says (CloudWatch's
  StateTransitionedTimestamp, else StateUpdatedTimestamp, to the millisecond);
- a later transition (the alarm went OK again, or re-alarmed since) makes the message stale: nothing acts,
  and the result says so; an alarm whose state never changed at the claimed time makes it forged;
- a composite alarm whose actions are suppressed (ActionsSuppressedBy) acts on nothing, as CloudWatch
  itself runs none of its actions (the team is told, `rollback.skipped`);
- what Warden says about a confirmed message comes from CloudWatch's answer, never from the message: its
  reason, state and description are CloudWatch's (`verified`), so text someone wrote into a message (a link,
  a fake runbook) never reaches on-call.
The answer depends on CloudWatch's state, never on the delivery, so a redelivered message is judged the same
way (a stale one stays stale). Forged and untrusted messages are refused with the reason (the handler
dead-letters them: a forged rollback request is something on-call must see).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from warden.core import clock
from warden.rollback.alarm import Transition

CONFIRMED, STALE, FORGED, SUPPRESSED = "confirmed", "stale", "forged", "suppressed"
SUPPRESSION_NONE = {"", "None", None}


@dataclass(frozen=True)
class Verdict:
    status: str  # confirmed | stale | forged | suppressed
    reason: str = ""
    alarm: dict[str, Any] = field(default_factory=dict)  # CloudWatch's record of the alarm (DescribeAlarms)

    @property
    def confirmed(self) -> bool:
        return self.status == CONFIRMED


def _ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def suppressed(alarm: dict[str, Any]) -> str | None:
    by = alarm.get("ActionsSuppressedBy")
    return None if by in SUPPRESSION_NONE else str(by)


def judge(transition: Transition, alarms: list[dict[str, Any]]) -> Verdict:
    """The verdict on `transition` from DescribeAlarms' answer for its alarm name (pure)."""
    where = f"account {transition.account}, {transition.region}"
    alarm = next((a for a in alarms if a.get("AlarmName") == transition.alarm), None)
    if alarm is None:
        return Verdict(FORGED, f"no alarm {transition.alarm!r} exists in {where}")
    changed = alarm.get("StateTransitionedTimestamp") or alarm.get("StateUpdatedTimestamp")
    state = alarm.get("StateValue")
    claimed = clock.iso(transition.at)
    if not isinstance(changed, datetime):
        return Verdict(FORGED, f"CloudWatch gives no transition time for {transition.alarm!r} in {where}")
    if _ms(changed) < _ms(transition.at):
        return Verdict(FORGED, f"the message claims {transition.alarm!r} went into ALARM at {claimed}, but "
                               f"CloudWatch's latest transition of it is older ({clock.iso(changed)}, {state})")
    if _ms(changed) > _ms(transition.at) or state != "ALARM":
        return Verdict(STALE, f"{transition.alarm!r} is {state} since {clock.iso(changed)}, not the ALARM of "
                              f"{claimed} the message reports: nothing acts on a superseded transition")
    by = suppressed(alarm)
    if by:
        return Verdict(SUPPRESSED, f"the actions of composite alarm {transition.alarm!r} are suppressed ({by}: "
                                   f"{alarm.get('ActionsSuppressedReason') or 'no reason given'})", alarm)
    return Verdict(CONFIRMED, alarm=alarm)


UNVERIFIED = "not confirmed with CloudWatch: the message's own text is not shown"


def verified(transition: Transition, alarm: dict[str, Any] | None) -> Transition:
    """`transition` (an SNS message's) with what CloudWatch says in place of what the message says: the
    reason, state and description, and the suppression. Without CloudWatch's record, none of the message's
    text is kept."""
    if not alarm:
        return replace(transition, reason=UNVERIFIED, description=None)
    by = suppressed(alarm)
    return replace(transition, reason=alarm.get("StateReason") or None, state=alarm.get("StateValue") or
                   transition.state, description=alarm.get("AlarmDescription") or None,
                   suppressed_by=f"{by}: {alarm.get('ActionsSuppressedReason') or 'no reason given'}" if by else None)


def confirm(transition: Transition, cloudwatch: Any) -> Verdict:
    """Ask CloudWatch (a client in the claimed account and region). Errors propagate: retrying may help."""
    answer = cloudwatch.describe_alarms(AlarmNames=[transition.alarm], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    return judge(transition, answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", []))
