"""Two environments in one account: staging and prod deployed side by side with samconfig.toml's
parameters, the same story replayed once, and every effect happens once, by the stack that owns the
pipeline (PipelineScope: staging owns *-staging, prod every other pipeline)."""

from __future__ import annotations

import shlex
import tomllib
from collections import Counter

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import ROOT
from tests.helpers import SCHEMA, without_quiet_digest_mark
from warden_local.replay import load, replay_stacks

DEMO = str(ROOT / "events" / "scenarios" / "demo.json")  # prod's pipelines: payments-api, checkout-api
STAGING_STORY = str(ROOT / "events" / "scenarios" / "staging-beside-prod.json")  # payments-api-staging
WRITES = ("s3:PutBucketVersioning", "s3:PutPublicAccessBlock", "s3:PutBucketLifecycleConfiguration",
          "s3:PutBucketPolicy", "s3:PutBucketEncryption", "codepipeline:RollbackStage",
          "codepipeline:StopPipelineExecution", "codedeploy:StopDeployment")


def samconfig_parameters(env: str) -> dict[str, str]:
    """The environment's parameter_overrides, the placeholders left empty for the account dropped (an empty
    PagerDutySecretArn would turn paging off; the embedded world gives each stack a routing key)."""
    text = tomllib.loads((ROOT / "samconfig.toml").read_text())[env]["deploy"]["parameters"]["parameter_overrides"]
    return {k: v for k, v in (pair.split("=", 1) for pair in shlex.split(text)) if v}


@pytest.fixture(scope="module")
def stacks() -> dict[str, dict]:
    # Given staging and prod deployed in one account as samconfig.toml says; staging's artifact bucket
    # (not a default-named one) is in its allow list, as that team would set it.
    staging = samconfig_parameters("staging") | {"ArtifactBucketAllowList": "payments-staging-artifacts-*"}
    prod = samconfig_parameters("prod")
    # When prod's story (failures, approval escalation, artifact enforcement, alarm rollback) and then a
    # staging pipeline's story happen in that account
    return replay_stacks([DEMO, STAGING_STORY], {"staging": staging, "prod": prod})


def _effects(doc: dict, source: str) -> list[dict]:
    """The effects of the steps of one input (the inputs' steps come in order)."""
    demo = len(load(DEMO).steps)
    steps = doc["steps"][:demo] if source == DEMO else doc["steps"][demo:]
    return [e for s in steps for e in s["effects"]]


def _calls(effects: list[dict]) -> Counter:
    return Counter(e["api"] for e in effects if e["kind"] == "call")


def test_each_stack_document_is_a_replay_document(stacks):
    for doc in stacks.values():
        assert not list(Draft202012Validator(SCHEMA).iter_errors(doc))


def test_the_staging_stack_never_acts_on_prods_pipelines(stacks):
    # Then staging, whose documents are prod's own defaults, neither writes, rolls back nor pages for them
    staging = _effects(stacks["staging"], DEMO)
    assert without_quiet_digest_mark(staging) == []  # only its own week marked as having nothing to tell
    prod = _effects(stacks["prod"], DEMO)
    # prod enforces its bucket, rolls back once, and decides the approval Maria confirms in Slack
    assert _calls(prod) == Counter({"s3:PutBucketVersioning": 1, "s3:PutPublicAccessBlock": 1,
                                    "s3:PutBucketLifecycleConfiguration": 1, "s3:PutBucketPolicy": 2,
                                    "codepipeline:RollbackStage": 1, "codepipeline:PutApprovalResult": 1,
                                    "slack:ChatPostMessage": 3, "slack:ViewsOpen": 1, "slack:ChatUpdate": 1})
    assert [e["action"] for e in prod if e["kind"] == "page"].count("trigger") == 3


def test_the_prod_stack_never_acts_on_the_staging_pipeline(stacks):
    assert _effects(stacks["prod"], STAGING_STORY) == []
    staging = _effects(stacks["staging"], STAGING_STORY)
    # its failure pages once, from the staging stack, and its recovery resolves the page
    pages = [e for e in staging if e["kind"] == "page"]
    assert [p["action"] for p in pages] == ["trigger", "resolve"] and "payments-api-staging" in pages[0]["summary"]
    # a non-prod Environment audits its artifact bucket (a finding told) and changes nothing
    assert not any(api in WRITES for api in _calls(staging))
    findings = [e for e in staging if e.get("event") == "artifact.noncompliant"]
    assert len(findings) == 1 and "payments-staging-artifacts-111122223333" in findings[0]["subject"]
    # its alarm is a dry run: rollback.skipped says what it would have done, nothing is rolled back
    skipped = [e for e in staging if e.get("event") == "rollback.skipped"]
    assert skipped and {e["topic"] for e in skipped} == {"OnCallTopic", "TeamTopic"}
    assert all("dry run (mode dry_run)" in e["body"] for e in skipped)
    assert not any(e["kind"] == "dead_letter" for s in stacks.values() for st in s["steps"] for e in st["effects"])


def test_every_page_and_write_happens_once_in_the_account(stacks):
    pages = Counter((e["action"], e["dedup_key"]) for doc in stacks.values() for s in doc["steps"]
                    for e in s["effects"] if e["kind"] == "page")
    assert pages and set(pages.values()) == {1}
    writes = Counter(api for doc in stacks.values() for api in _calls([e for s in doc["steps"] for e in s["effects"]])
                     if api == "codepipeline:RollbackStage")
    assert writes == Counter({"codepipeline:RollbackStage": 1})


def test_samconfig_gives_the_two_environments_disjoint_scopes():
    from warden.core.scope import PipelineScope

    staging = PipelineScope.parse(samconfig_parameters("staging")["PipelineScope"])
    prod = PipelineScope.parse(samconfig_parameters("prod")["PipelineScope"])
    for name in ("payments-api", "payments-api-staging", "checkout-api", "web-staging", "staging-web"):
        assert staging.covers(name) != prod.covers(name), name

