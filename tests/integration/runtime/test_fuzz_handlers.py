"""Every handler, fed hostile inputs from a fixed seed (tests/fuzz.py: real samples with fields dropped,
wrong types, huge and invisible strings, nested garbage; other functions' inputs; random JSON; SNS batches
mixing good and bad records), in the embedded world where every AWS call succeeds: no input ever makes a
handler raise. Each one is handled, or dead-lettered at once with a one-line reason; Lambda's own retry and
dead-letter path (for errors retrying could fix) is never taken. The approval sweep runs between the
approval inputs, with the clock moving on, so that whatever they stored is swept too.

A failure names the seed and the index of the input: `Fuzzer(seed)` gives the same inputs again."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.fuzz import SOURCES, Fuzzer
from tests.helpers import pipeline_world
from warden_local.observe import drain
from warden_local.replay import Replayer
from warden_local.world import World

SEED = 20261205
PER_HANDLER = 300  # 2,100 inputs, and the sweeps between them
START = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
# RefusedAlarm: an alarm message CloudWatch does not confirm (forged) or from an account Warden does not trust.
REASONS = ("InvalidEvent", "PermanentError", "RefusedAlarm", "IdempotencyValidationError", "IdempotencyKeyError")


def dead_letters(world, function):
    sqs = world.client("sqs")
    url = next(u for u, f in world._dlqs.items() if f == function)
    return [m["MessageAttributes"] for m in drain(sqs, url)]


@pytest.mark.parametrize("function", list(SOURCES))
def test_no_hostile_input_makes_a_handler_raise(function):
    seed = SEED + list(SOURCES).index(function)
    fuzz = Fuzzer(seed)
    raised, told = [], 0
    with World() as world:
        replayer = Replayer(world)
        for call in pipeline_world():
            replayer._call(call, "world")
        for index, event in enumerate(fuzz.inputs(function, PER_HANDLER)):
            world.set_time(START + timedelta(minutes=10 * index))
            outcome = world.invoke(function, event)
            if outcome.error is not None:
                raised.append((index, outcome.error, json.dumps(event, default=str)[:300]))
            if function == "ApprovalTracker" and index % 25 == 24:  # what the approval inputs left behind
                sweep = world.invoke("ApprovalEscalator", fuzz.scheduled())
                if sweep.error is not None:
                    raised.append((index, f"ApprovalEscalator after it: {sweep.error}", ""))
            if index % 50 == 49 or index == PER_HANDLER - 1:
                for attributes in dead_letters(world, function) + dead_letters(world, "ApprovalEscalator"):
                    told += 1
                    code = attributes["ErrorCode"]["StringValue"]
                    reason = attributes["ErrorMessage"]["StringValue"]
                    assert code in REASONS, (seed, index, code, reason)
                    assert reason.startswith(code) and "\n" not in reason, (seed, index, reason)
    assert raised == [], f"seed {seed}: {len(raised)} inputs raised, first: {raised[:3]}"
    assert told > 0  # the hostile inputs did reach the dead-letter path, each with its reason
