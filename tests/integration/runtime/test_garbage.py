"""Garbage, truncated and oversized events never crash unhandled: each is processed or dead-lettered
with a clear reason (hypothesis-generated)."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import EVENTS
from warden_local.world import World

SAMPLES = [json.loads(p.read_text()) for p in sorted((EVENTS / "codepipeline").glob("*.json"))]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def world():
    with World() as w:
        yield w


def truncated(event, cut):
    """A sample whose JSON was cut short and then closed as well as possible: fields go missing."""
    detail = dict(event["detail"])
    for key in list(detail)[cut:]:
        del detail[key]
    return {**event, "detail": detail}


def assert_handled(world, event):
    mark = world.begin()
    outcome = world.invoke("NotificationRouter", event)
    found = world.effects(mark)
    dead = [e for e in found if e["kind"] == "dead_letter"]
    if outcome.error or dead or (isinstance(outcome.result, dict) and outcome.result.get("status") == "dead_lettered"):
        assert len(dead) == 1, found
        assert dead[0]["error"].startswith("InvalidEvent: "), dead[0]["error"]
        assert "\n" not in dead[0]["error"]
    else:
        assert outcome.result["status"] in {"sent", "ignored", "muted", "folded"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=json_values)
def test_arbitrary_json_is_dead_lettered_or_handled(world, garbage):
    assert_handled(world, garbage)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from(SAMPLES), cut=st.integers(min_value=0, max_value=8), fresh=st.uuids())
def test_truncated_samples_are_dead_lettered_or_handled(world, base, cut, fresh):
    event = truncated(base, cut)
    event["id"] = str(fresh)
    assert_handled(world, event)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from(SAMPLES), field=st.sampled_from(["detail", "source", "detail-type", "time", "id"]),
       value=json_values, fresh=st.uuids())
def test_wrong_types_in_known_fields(world, base, field, value, fresh):
    event = {**base, "id": str(fresh), field: value}
    assert_handled(world, event)


def test_an_oversized_event_is_handled_without_an_oversized_message(world):
    event = {**SAMPLES[0], "id": "oversized-1"}
    event["detail"] = {**event["detail"], "state": "FAILED", "pipeline": "big-pipeline",
                       "execution-trigger": {"commit-message": "x" * 250_000, "commit-id": "a" * 40}}
    mark = world.begin()
    outcome = world.invoke("NotificationRouter", event)
    found = world.effects(mark)
    assert outcome.error is None and [e for e in found if e["kind"] == "dead_letter"] == []
    assert all(len(e["body"]) < 10_000 for e in found if e["kind"] == "message")
