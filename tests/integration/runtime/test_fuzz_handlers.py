"""Every handler, fed hostile inputs from a fixed seed (tests/fuzz.py: real samples with fields dropped,
wrong types, huge and invisible strings, lone surrogates, times in year 1 and 9999, nested garbage; other
functions' inputs; random JSON; SNS batches mixing good and bad records), in the embedded world where every
AWS call succeeds: no input ever makes a handler raise. Each one is handled, ignored with its reason
logged, or dead-lettered at once with a one-line reason; Lambda's own retry and dead-letter path (for
errors retrying could fix) is never taken. The approval sweep runs between the approval inputs, with the
clock moving on, so that whatever they stored is swept too.

This is the smaller run of `make fuzz` (13,650 inputs, the same seeds): a failure names the seed and the
index of the input, and `Fuzzer(seed)` gives the same inputs again.
"""

from __future__ import annotations

import pytest

from tests.fuzz import SEED, SOURCES, run_function

PER_HANDLER = 300  # 2,100 inputs, and the sweeps between them


@pytest.mark.parametrize("function", list(SOURCES))
def test_no_hostile_input_makes_a_handler_raise_or_vanish(function):
    seed = SEED + list(SOURCES).index(function)
    tally = run_function(function, PER_HANDLER, seed)
    report = tally.report()
    assert tally.unhandled == [], report
    assert tally.untold == [], report  # every dead letter names a known reason, on one line
    assert tally.silent == [], report  # every input accepted and left alone says why (it is logged)
    assert sum(tally.dead_lettered.values()) > 0  # the hostile inputs did reach the dead-letter path
    assert sum(tally.inputs.values()) == PER_HANDLER
