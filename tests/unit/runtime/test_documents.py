"""Configuration from SSM: defaults when absent, cached either way, defaults (loudly) when invalid."""

import json

import boto3
from moto import mock_aws

from warden.notify.rules import RoutingConfig
from warden.runtime.documents import ConfigStore


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
