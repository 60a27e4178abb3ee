"""The embedded world's contract with moto: checked statically, probed live, failing with moto's version."""

import json

import boto3
import pytest
from moto import mock_aws

from warden_local.fakes import install, moto_model
from warden_local.fakes.moto_model import MOTO_VERSION, MotoShapeChanged


def test_installed_moto_meets_the_contract():
    assert moto_model.broken() == [], f"moto {MOTO_VERSION}: {moto_model.broken()}"


def test_a_broken_item_fails_naming_the_moto_version_and_the_item(monkeypatch):
    monkeypatch.setattr(moto_model, "CONTRACT", moto_model.CONTRACT + (("a shape moto dropped", lambda: False),))
    with pytest.raises(MotoShapeChanged) as raised:
        moto_model.check()
    assert f"moto {MOTO_VERSION}" in str(raised.value) and "a shape moto dropped" in str(raised.value)
    with pytest.raises(MotoShapeChanged):
        install()  # the world refuses to start on a moto it cannot extend


def test_a_check_that_raises_counts_as_broken(monkeypatch):
    monkeypatch.setattr(moto_model, "CONTRACT", (("raises", lambda: 1 / 0),))
    assert moto_model.broken() == ["raises"]


def test_live_probe_of_what_the_fakes_read(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    install()
    with mock_aws():
        role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({"Statement": [{
            "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        )["Role"]["Arn"]
        definition = {
            "name": "probe", "roleArn": role, "artifactStore": {"type": "S3", "location": "probe-bucket"},
            "stages": [{"name": "Source", "actions": [{"name": "S", "actionTypeId": {
                "category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "outputArtifacts": [{"name": "out"}]}]},
                {"name": "Deploy", "actions": [{"name": "D", "actionTypeId": {
                    "category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
                    "inputArtifacts": [{"name": "out"}]}]}],
        }
        cp = boto3.client("codepipeline")
        cp.create_pipeline(pipeline=definition)
        account = boto3.client("sts").get_caller_identity()["Account"]
        stored = moto_model.pipeline_definition(account, "us-east-1", "probe")
        assert stored["name"] == "probe" and stored["version"] == 1, f"moto {MOTO_VERSION}: {stored!r}"
        assert moto_model.pipeline_definition(account, "us-east-1", "absent") is None
        created, updated = moto_model.pipeline_times(account, "us-east-1", "probe")
        assert created <= updated, f"moto {MOTO_VERSION}"
        # Executions are the embedded world's own, through the real API shapes.
        started = cp.start_pipeline_execution(name="probe")["pipelineExecutionId"]
        assert cp.get_pipeline_execution(pipelineName="probe", pipelineExecutionId=started)[
            "pipelineExecution"]["status"] == "Succeeded"
        assert [s["pipelineExecutionId"] for s in cp.list_pipeline_executions(pipelineName="probe")[
            "pipelineExecutionSummaries"]] == [started]
        state = cp.get_pipeline_state(name="probe")
        assert state["created"] <= state["updated"]
