"""Fault-injection suite: every AWS call the handlers make in a story, and PagerDuty, failing once past
botocore's retries (one Lambda attempt fails) and failing every attempt (the event is dead-lettered, then
redriven). The final tables and the delivered messages and pages must equal the fault-free run; a lost
answer (the call happened, its response did not arrive) may add one SNS message, never lose one.

The story: a build fails (action, stage and pipeline FAILED), a later execution succeeds; an approval is
requested meanwhile and given. It exercises the router (incident, page, resolve), the approval tracker
and the ledger.
"""

from __future__ import annotations

import copy
import json
from collections import Counter

import pytest

from tests.faults.inject import BOTOCORE_ATTEMPTS, LAMBDA_ATTEMPTS
from tests.helpers import sample
from warden.core import clock
from warden_local.replay import Replayer, Scenario, Step

FAILED_RUN = "3c9b2f7e-8d41-4a6e-b0f2-5e7a1c9d4b36"
OK_RUN = "8f14e45f-ceea-467a-9a36-dedd4bea2543"
PD_ATTEMPTS = 4
WORLD_MADE = {"token", "review_link"}
# The world's own observation (scans, queue reads, dead letters) is not the handlers'.
NOT_HANDLERS = {"dynamodb:Scan", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage",
                "sqs:GetQueueUrl", "sqs:GetQueueAttributes"}


def _at(event, time):
    event["time"] = time
    return event


def story() -> list[dict]:
    from tests.integration.approvals.test_approvals import approval_event, started

    return [
        started(FAILED_RUN, "2026-11-26T14:00:00Z"),
        sample("codepipeline/action-failed-build.json"),
        sample("codepipeline/stage-failed-build.json"),
        sample("codepipeline/pipeline-failed.json"),
        started(OK_RUN, "2026-11-27T09:00:02Z"),
        approval_event("STARTED"),
        approval_event("SUCCEEDED", at="2026-11-27T09:40:00Z"),
        _at(sample("codepipeline/pipeline-succeeded.json"), "2026-11-27T13:31:18Z"),
    ]


STORY = story()  # fixed ids: every run delivers the same events


def play(world, faults, *, arm=None, redrive=True) -> dict:
    """Deliver the story; `arm(step_index)` arms faults before a step. Dead letters are redriven after the
    faults are cleared. Returns what was observed."""
    from tests.integration.approvals.test_approvals import payments_world

    replayer = Replayer(world)
    replayer.run(Scenario("world", world=payments_world()))
    messages, pages, dead, calls = Counter(), Counter(), [], []
    for index, event in enumerate(copy.deepcopy(STORY)):
        if arm:
            arm(index)
        before = dict(faults.calls)
        step = Step(label=str(index), at=clock.parse_iso(event["time"]), event=event)
        result = replayer.step(step)
        calls.append({api for api, n in faults.calls.items() if n > before.get(api, 0)} - NOT_HANDLERS)
        faults.clear()
        world.pagerduty.failures.clear()
        effects = result["effects"]
        for dead_letter in [e for e in effects if e["kind"] == "dead_letter"]:
            dead.append(dead_letter)
            if redrive:
                world.invoke(dead_letter["function"], copy.deepcopy(event))
                effects += world.effects(world.begin())
        effects += world.effects(world.begin())
        messages.update((e["topic"], e["event"]) for e in effects if e["kind"] == "message")
        pages.update((e["action"], e["dedup_key"]) for e in effects if e["kind"] == "page")
    # The embedded CodePipeline names an approval's token afresh in every world: compared without it.
    tables = {lid: sorted(json.dumps({k: v for k, v in i.items() if k not in WORLD_MADE}, sort_keys=True, default=str)
                          for i in world.table_items(lid)) for lid in world.observed_tables()}
    return {"messages": messages, "pages": pages, "tables": tables, "dead": dead, "calls": calls}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The fault-free run, and the AWS calls the handlers made in it."""
    from tests.faults.inject import install
    from warden_local.world import World

    faults = install()
    faults.clear()
    with World() as world:
        observed = play(world, faults)
    # The first step of the story whose handlers call each API.
    first = {}
    for index, step_calls in enumerate(observed["calls"]):
        for api in step_calls:
            first.setdefault(api, index)
    return observed, first


APIS = ["codepipeline:GetPipelineExecution", "codepipeline:GetPipelineState", "codepipeline:GetPipeline",
        "codepipeline:ListActionExecutions", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
        "dynamodb:UpdateItem", "dynamodb:DeleteItem", "secrets-manager:GetSecretValue", "sns:Publish",
        "ssm:GetParameter"]


def test_the_suite_covers_every_call_the_handlers_make(reference):
    _, first = reference
    assert set(first) <= set(APIS), set(first) - set(APIS)


# Known divergences, still open: each is a follow-up (an XPASS in the report says it is fixed).
KNOWN = {
    # The first UpdateItem of the story is the effect marker written right after the pipeline.started
    # publish. Failing every attempt (past the marker's own second round of retries) leaves the publish
    # unrecorded, so the next attempt publishes it once more: at least once, never one less. Closing it
    # needs SNS-side deduplication (FIFO topics), which the audience topics do not use.
    ("dynamodb:UpdateItem", "every_attempt"): "an effect marker failing every attempt costs one duplicate "
                                              "pipeline.started message (at-least-once window)",
}


def _case(api, mode):
    reason = KNOWN.get((api, mode))
    return pytest.param(api, mode, marks=pytest.mark.xfail(reason=reason, strict=False) if reason else ())


@pytest.mark.parametrize(("api", "mode"), [_case(api, mode) for api in APIS for mode in ("once", "every_attempt")])
def test_a_failing_aws_call_changes_no_outcome(reference, world, faults, api, mode):
    expected, first = reference
    if api not in first:
        pytest.skip(f"{api} is not called in this story")
    times = BOTOCORE_ATTEMPTS * (1 if mode == "once" else LAMBDA_ATTEMPTS)
    rules = []

    def arm(index):
        if index == first[api]:
            rules.append(faults.fail(api, times))

    observed = play(world, faults, arm=arm)
    # At least one call failed past botocore's retries (a read the gateway answers as Unknown is not retried).
    assert rules and rules[0].failed >= BOTOCORE_ATTEMPTS, f"{api} failed {rules[0].failed} times"
    assert observed["messages"] == expected["messages"]
    assert observed["pages"] == expected["pages"]
    assert observed["tables"] == expected["tables"]


@pytest.mark.parametrize("mode", ["once", "every_attempt"])
def test_pagerduty_failing_changes_no_outcome(reference, world, faults, mode):
    expected, _ = reference
    failures = [500] * PD_ATTEMPTS * (1 if mode == "once" else LAMBDA_ATTEMPTS)

    def arm(index):
        if index == 1:  # the first failure event: the page
            world.pagerduty.failures[:] = failures

    observed = play(world, faults, arm=arm)
    assert observed["messages"] == expected["messages"]
    assert observed["pages"] == expected["pages"]
    assert observed["tables"] == expected["tables"]


def test_a_lost_publish_answer_adds_at_most_one_message(reference, world, faults):
    expected, _ = reference

    def arm(index):
        if index == 1:
            faults.fail("sns:Publish", 1, lost=True)

    observed = play(world, faults, arm=arm)
    extra = observed["messages"] - expected["messages"]
    assert not expected["messages"] - observed["messages"]  # nothing lost
    assert sum(extra.values()) <= 1
