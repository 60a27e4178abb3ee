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


class _ThrottledSsm:
    """An SSM client whose every read is throttled (after botocore's retries)."""

    def __init__(self):
        self.asked = []

    def get_parameter(self, **request):
        from botocore.exceptions import ClientError

        self.asked.append(request)
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetParameter")


def test_given_ssm_throttles_when_a_document_is_read_then_get_runs_uncached_defaults_and_require_refuses():
    from warden.core.documents import ConfigUnreadable

    ssm = _ThrottledSsm()
    store = ConfigStore(ssm, "/pw", max_age=300)
    assert store.get("routing") == RoutingConfig() and store.fallback("routing") == "unreadable"
    assert store.get("routing") == RoutingConfig()  # defaults standing in for a document are not cached
    with pytest.raises(ConfigUnreadable, match=r"/pw/rollback could not be read \(.*ThrottlingException"):
        store.require("rollback")
    assert ssm.asked == [{"Name": "/pw/routing", "WithDecryption": False}] * 2 + [
        {"Name": "/pw/rollback", "WithDecryption": False}]


def test_given_a_fresh_interpreter_when_a_document_is_read_then_no_powertools_parameters_module_is_imported():
    """The read is one GetParameter through the container's client: a cold start does not import Parameters'
    provider tree (AppConfig, DynamoDB, Secrets Manager providers) for a call it does not need them for."""
    import subprocess
    import sys

    code = (
        "import sys, json\n"
        "from moto import mock_aws\n"
        "with mock_aws():\n"
        "    import boto3\n"
        "    from warden.runtime.documents import ConfigStore\n"
        "    ssm = boto3.client('ssm', region_name='us-east-1')\n"
        "    ssm.put_parameter(Name='/pw/routing', Type='String', Value=json.dumps({'rules': []}))\n"
        "    assert ConfigStore(ssm, '/pw').get('routing').rules == []\n"
        "print(sorted(m for m in sys.modules if m.startswith('aws_lambda_powertools.utilities.parameters')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_given_a_fresh_interpreter_when_the_document_models_are_imported_then_none_is_built_until_it_is_read():
    """A document model's validator is built on its first use (`defer_build`): a cold start builds only the
    documents its first event reads (RollbackTrigger's alarm reads `rollback`, never `routing`)."""
    import subprocess
    import sys

    code = (
        "from warden.runtime.documents import DOCUMENTS, model_for, parse_document\n"
        "models = {kind: model_for(kind) for kind in sorted(DOCUMENTS)}\n"
        "before = [kind for kind, model in models.items() if model.__pydantic_complete__]\n"
        "parse_document('rollback', {})\n"
        "after = [kind for kind, model in models.items() if model.__pydantic_complete__]\n"
        "print(before, after)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[] ['rollback']"
