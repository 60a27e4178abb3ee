"""An allow list that allows everything is accepted, and said: ArtifactBucketAllowList `*` and a tag grant of
`*` each log a warning when read (issue 27: "an allow list of `*` is accepted without a warning")."""

from __future__ import annotations

import logging

import pytest

from warden.artifacts.eligibility import allow_list
from warden.rollback.config import RollbackConfig


def warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize("text", ["*", "team-a-*,*", " ** "])
def test_an_artifact_allow_list_that_matches_every_bucket_is_accepted_with_a_warning(text, caplog):
    assert "*" in "".join(allow_list(text))
    [warning] = warnings(caplog)
    assert "matches every bucket" in warning.getMessage()


def test_a_narrow_artifact_allow_list_says_nothing(caplog):
    assert allow_list("team-a-artifacts-*,codepipeline-*") == ("team-a-artifacts-*", "codepipeline-*")
    assert warnings(caplog) == []


def test_a_tag_grant_of_every_pipeline_is_accepted_with_a_warning(caplog):
    config = RollbackConfig.model_validate({"tag_grants": [{"alarms": ["*"], "pipelines": ["*"]}]})
    assert config.grants_pipeline("any-alarm", "111122223333", "us-east-1", "any-pipeline")
    [warning] = warnings(caplog)
    assert "allows every name" in warning.getMessage() and warning.fields == ["alarms", "pipelines"]


def test_a_narrow_tag_grant_says_nothing(caplog):
    RollbackConfig.model_validate({"tag_grants": [{"alarms": ["checkout-*"], "pipelines": ["checkout-*"]}]})
    assert warnings(caplog) == []
