"""PipelineScope: which pipelines a stack owns, as its EventBridge rules filter them, and what a non-prod
stack does with acting documents that set no mode."""

from __future__ import annotations

import json

import pytest
from moto.events.models import EventPattern

from warden.core.scope import PipelineScope
from warden.runtime.documents import for_environment, parse_document
from warden_local.world import World


@pytest.mark.parametrize(("scope", "owned", "other"), [
    ("*", ["payments-api", "x-staging"], []),
    ("*-staging", ["payments-api-staging"], ["payments-api", "staging-web"]),
    ("*-staging,sandbox-*", ["web-staging", "sandbox-1"], ["web", "my-sandbox"]),
    ("!*-staging", ["payments-api", "staging-web"], ["payments-api-staging"]),
    ("pay*api", ["payments-api", "payapi"], ["payments-api-staging"]),
])
def test_the_rules_and_the_sweeps_agree_on_which_pipelines_a_stack_owns(scope, owned, other):
    # Given a stack deployed with this PipelineScope (its rule patterns resolved as CloudFormation would)
    world = World(parameters={"PipelineScope": scope})
    trigger = next(t for t in world.functions["NotificationRouter"].triggers if t.name == "PipelineStateChanges")
    pattern = EventPattern.load(json.dumps(world.resolve(trigger.properties["Pattern"])))
    code = PipelineScope.parse(scope)
    for name, expected in [(n, True) for n in owned] + [(n, False) for n in other]:
        event = {"source": "aws.codepipeline", "account": "111122223333",
                 "detail-type": "CodePipeline Pipeline Execution State Change",
                 "detail": {"pipeline": name, "state": "FAILED"}}
        # Then the rule lets exactly the owned pipelines' events through, and the code agrees
        assert pattern.matches_event(event) is expected, name
        assert code.covers(name) is expected, name


@pytest.mark.parametrize("text", ["a,b,c,d", "a,!b", "!a,!b"])
def test_a_scope_the_rules_cannot_express_is_refused(text):
    with pytest.raises(ValueError, match="PipelineScope"):
        PipelineScope.parse(text)


@pytest.mark.parametrize(("kind", "mode"), [("artifacts", "audit"), ("rollback", "dry_run")])
def test_a_non_prod_stack_watches_unless_its_document_sets_a_mode(kind, mode):
    # Given no document, or one that sets other things: a staging stack only watches
    assert for_environment(kind, parse_document(kind, {}), "staging").mode == mode
    assert for_environment(kind, parse_document(kind, {"bake_minutes": 30} if kind == "rollback" else
                                                {"expire_days": 10}), "dev").mode == mode
    # a prod stack runs the defaults (enforce)
    assert for_environment(kind, parse_document(kind, {}), "prod").mode == "enforce"
    # and a document that says enforce is followed, whatever the environment
    assert for_environment(kind, parse_document(kind, {"mode": "enforce"}), "staging").mode == "enforce"
