"""Configuration from SSM: defaults when absent, cached either way, defaults (loudly) when invalid."""

import json

import boto3
from moto import mock_aws

from warden.aws.config import ConfigStore
from warden.notify.rules import RoutingConfig


@mock_aws
def test_documents_come_from_ssm_and_fall_back_to_defaults():
    ssm = boto3.client("ssm", region_name="us-east-1")
    store = ConfigStore(ssm, "/pw", max_age=0)
    assert store.get("routing") == RoutingConfig()
    ssm.put_parameter(Name="/pw/routing", Type="String", Overwrite=True,
                      Value=json.dumps({"rules": [{"name": "quiet", "mute": True}]}))
    assert store.get("routing").rules[0].name == "quiet"
    ssm.put_parameter(Name="/pw/routing", Type="String", Overwrite=True, Value='{"rules": [{"nme": 1}]}')
    assert store.get("routing") == RoutingConfig()  # invalid: defaults, never silence


@mock_aws
def test_a_missing_document_is_cached_too():
    ssm = boto3.client("ssm", region_name="us-east-1")
    store = ConfigStore(ssm, "/pw", max_age=300)
    assert store.get("routing") == RoutingConfig()
    ssm.put_parameter(Name="/pw/routing", Type="String", Value=json.dumps({"rules": [{"name": "late"}]}))
    assert store.get("routing") == RoutingConfig()  # still within max_age


@mock_aws
def test_documents_age_on_wardens_clock_so_a_replayed_story_sees_a_change_at_story_time():
    from datetime import UTC, datetime, timedelta

    from warden.core import clock

    ssm = boto3.client("ssm", region_name="us-east-1")
    store = ConfigStore(ssm, "/pw", max_age=300)
    start = datetime(2026, 11, 27, 9, tzinfo=UTC)
    try:
        clock.set_source(lambda: start)
        assert store.get("routing") == RoutingConfig()
        ssm.put_parameter(Name="/pw/routing", Type="String", Value=json.dumps({"rules": [{"name": "later"}]}))
        clock.set_source(lambda: start + timedelta(seconds=299))
        assert store.get("routing") == RoutingConfig()  # cached, five minutes of story time
        clock.set_source(lambda: start + timedelta(minutes=10))  # ten story minutes: milliseconds of wall time
        assert store.get("routing").rules[0].name == "later"
        assert store.require("routing").rules[0].name == "later"
    finally:
        clock.set_source(None)
