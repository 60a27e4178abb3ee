from datetime import timedelta

import pytest

from warden.approvals.tiers import EscalationConfig
from warden.core.clock import parse_iso
from warden.runtime.documents import ConfigError, parse_document

SINCE = parse_iso("2026-11-27T14:00:00Z")  # a Friday, 15:00 in Berlin
EXPIRES = SINCE + timedelta(days=7)


def due(config, hours, fired=()):
    return [t.name for t in config.due(since=SINCE, expires=EXPIRES, at=SINCE + timedelta(hours=hours),
                                       fired=set(fired))]


def test_default_tiers_remind_at_4h_escalate_at_8h_and_warn_12h_before_expiry():
    config = EscalationConfig()
    assert due(config, 3.9) == []
    assert due(config, 4) == ["remind"]
    assert due(config, 5, fired=["remind"]) == []
    assert due(config, 8, fired=["remind"]) == ["escalate"]
    # First seen late: only the latest reached tier, not a reminder after the escalation.
    assert due(config, 9) == ["escalate"]
    assert due(config, 7 * 24 - 12, fired=["remind", "escalate"]) == ["expiry"]
    escalate = next(t for t in config.tiers if t.name == "escalate")
    assert ("oncall" in escalate.audiences, escalate.severity) == (True, "high")


def test_business_hours_hold_a_tier_until_the_next_working_hour():
    config = parse_document("escalation", {"tiers": [
        {"name": "remind", "after": "4h", "audiences": ["approvers"],
         "business_hours": {"timezone": "Europe/Berlin", "start": "09:00", "end": "18:00"}}]})
    assert due(config, 4) == []  # Friday 19:00 Berlin
    assert due(config, 24 + 4) == []  # Saturday
    assert due(config, 66.5) == ["remind"]  # Monday 09:30 Berlin


@pytest.mark.parametrize(("doc", "expected"), [
    ({"tiers": [{"name": "a", "after": "4h", "before_expiry": "1h", "audiences": ["team"]}]}, "exactly one"),
    ({"tiers": [{"name": "a", "audiences": ["team"]}]}, "exactly one"),
    ({"tiers": [{"name": "a", "after": "4h", "audiences": ["pager"]}]}, "escalation.tiers[0] (name 'a').audiences[0]"),
    ({"tiers": [{"name": "a", "after": "4h", "audiences": ["team"],
                 "business_hours": {"timezone": "Mars/Olympus"}}]}, "unknown time zone"),
    ({"tiers": [{"name": "a", "after": "4h", "audiences": ["team"]},
                {"name": "a", "after": "8h", "audiences": ["team"]}]}, "unique"),
    ({"tiers": [{"name": "a", "after": "soon", "audiences": ["team"]}]}, "escalation.tiers[0] (name 'a').after"),
])
def test_invalid_escalation_documents_say_what_is_wrong(doc, expected):
    with pytest.raises(ConfigError) as err:
        parse_document("escalation", doc)
    assert expected in str(err.value)
