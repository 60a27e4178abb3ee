"""Which RollbackTrigger entry point an input reaches, and what it claims (warden.rollback.inputs)."""

import json

from tests.helpers import EVENTS
from warden.models import parse_event
from warden.rollback.alarm import Transition
from warden.rollback.inputs import RollbackInputs


class Trigger:
    """RollbackTrigger's entry points, recording what reached them; `admit` refuses what `refuse` names."""

    def __init__(self, refuse=()):
        self.calls, self.refuse = [], set(refuse)

    def admit(self, transition):
        self.calls.append(("admit", transition.alarm))
        return {"status": "skipped", "reason": "refused"} if transition.alarm in self.refuse else None

    def on_alarm(self, transition):
        self.calls.append(("on_alarm", transition.key))
        return {"status": "acted"}


def alarm(name):
    return parse_event(json.loads((EVENTS / "cloudwatch" / name).read_text()))


def test_an_alarm_into_alarm_is_admitted_then_claimed_on_its_transition_then_acted_on():
    # Given an alarm state change into ALARM
    trigger = Trigger()
    inputs = RollbackInputs(lambda: trigger, region="us-east-1")
    # When it is prepared, checked, keyed and handled as the invocation pipeline does
    item = inputs.prepare(alarm("alarm-5xx-alarm.json"))
    # Then it is one Transition, admitted, keyed on the alarm and CloudWatch's time (not the delivery id)
    assert isinstance(item, Transition) and inputs.skip(item) is None
    assert inputs.key(item, "delivery-1") == {"id": item.key} == inputs.key(item, "delivery-2")
    assert inputs.handle(item) == {"status": "acted"}
    assert trigger.calls == [("admit", item.alarm), ("on_alarm", item.key)]


def test_a_refused_transition_claims_nothing():
    trigger = Trigger(refuse={alarm("alarm-5xx-alarm.json").detail.alarm_name})
    inputs = RollbackInputs(lambda: trigger, region="us-east-1")
    item = inputs.prepare(alarm("alarm-5xx-alarm.json"))
    assert inputs.skip(item) == {"status": "skipped", "reason": "refused"}


def test_a_return_to_ok_and_a_stranger_are_ignored_with_their_reason():
    trigger = Trigger()
    inputs = RollbackInputs(lambda: trigger, region="us-east-1")
    ok = inputs.prepare(alarm("alarm-5xx-ok.json"))
    assert inputs.skip(ok) == {"status": "ignored", "reason": f"{ok.previous} -> {ok.state}"}
    stranger = inputs.prepare({"not": "an alarm"})
    assert inputs.skip(stranger) == {"status": "ignored", "reason": "not an alarm: dict"}
    assert inputs.key(stranger, "d") is None and trigger.calls == []


def test_an_sns_message_is_a_transition_to_confirm_in_the_region_it_names_or_this_one():
    message = parse_event({"AlarmName": "api-5xx", "NewStateValue": "ALARM", "OldStateValue": "OK",
                           "AWSAccountId": "111122223333"})
    inputs = RollbackInputs(Trigger, region="eu-west-1")
    item = inputs.prepare(message)
    assert (item.via, item.region) == ("sns", "eu-west-1")
