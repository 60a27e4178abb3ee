"""Configuration from SSM: defaults when absent, cached either way; when invalid, the last valid version (else
the defaults) for `get`, nothing for `require`, and loudly either way."""

import json

import boto3
import pytest
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
    assert store.get("routing").rules[0].name == "quiet"  # invalid: the last valid version, never silence
    assert store.fallback("routing") == "invalid"


@mock_aws
def test_a_missing_document_is_cached_too():
    ssm = boto3.client("ssm", region_name="us-east-1")
    store = ConfigStore(ssm, "/pw", max_age=300)
    assert store.get("routing") == RoutingConfig()
    ssm.put_parameter(Name="/pw/routing", Type="String", Value=json.dumps({"rules": [{"name": "late"}]}))
    assert store.get("routing") == RoutingConfig()  # still within max_age


@mock_aws
def test_an_invalid_document_is_reported_with_what_runs_instead():
    from warden.runtime.documents import InvalidConfig

    ssm = boto3.client("ssm", region_name="us-east-1")
    heard = []
    store = ConfigStore(ssm, "/pw", max_age=0, on_invalid=heard.append)
    ssm.put_parameter(Name="/pw/routing", Type="String", Value='{"rules": "none"}')
    assert store.get("routing") == RoutingConfig()
    ssm.put_parameter(Name="/pw/routing", Type="String", Overwrite=True, Value=json.dumps({"rules": []}))
    ssm.put_parameter(Name="/pw/routing", Type="String", Overwrite=True, Value='{"rules": [{"name": 1}]}')
    assert store.get("routing") == RoutingConfig(rules=[])  # version 2
    ssm.put_parameter(Name="/pw/rollback", Type="String", Value='{"mode": "dryrun"}')
    with pytest.raises(InvalidConfig, match="/pw/rollback is invalid"):
        store.require("rollback")
    assert [(h.parameter, h.using) for h in heard] == [
        ("/pw/routing", "the built-in defaults"),
        ("/pw/routing", "version 2 of the parameter, the last that validates"),
        ("/pw/rollback", "nothing: what this document governs does not act until it is fixed")]
    assert heard[0].digest != heard[1].digest and "routing.rules" in heard[0].error


@mock_aws
def test_telling_of_it_failing_never_stops_the_read():
    ssm = boto3.client("ssm", region_name="us-east-1")

    def broken(_):
        raise RuntimeError("SNS is down")

    store = ConfigStore(ssm, "/pw", max_age=0, on_invalid=broken)
    ssm.put_parameter(Name="/pw/routing", Type="String", Value="{not json")
    assert store.get("routing") == RoutingConfig() and store.fallback("routing") == "invalid"
