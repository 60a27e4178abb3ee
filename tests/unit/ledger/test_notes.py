"""LedgerNotes.earliest: one fact several events claim converges on the earliest, whatever the order."""

from __future__ import annotations

import itertools

import pytest
from moto import mock_aws

from tests.unit.fakes import keyed_table
from warden.aws.dynamodb import from_item
from warden.ledger.keys import execution_key
from warden.ledger.notes import LedgerNotes

FIRST = {"alarm": "checkout-5xx", "at": "2026-11-27T19:32:00Z", "not_rolled_back": "dry run"}
SAME_TIME = {"alarm": "checkout-latency", "at": "2026-11-27T19:32:00Z", "not_rolled_back": "dry run"}
LATER = {"alarm": "checkout-5xx", "at": "2026-11-27T19:37:00Z", "not_rolled_back": "cooldown"}


@pytest.mark.parametrize("order", list(itertools.permutations([FIRST, SAME_TIME, LATER, FIRST])))
def test_given_transitions_in_any_order_and_redelivered_then_the_earliest_is_the_fact(order):
    with mock_aws():
        ddb = keyed_table("ledger")
        notes = LedgerNotes(ddb, "ledger")
        notes.add("checkout-api", "a02", {"pipeline": "checkout-api"})
        kept = [notes.earliest("checkout-api", "a02", "alarm_in_bake", fact, order=("at", "alarm")) for fact in order]
        item = from_item(ddb.get_item(TableName="ledger", Key={k: {"S": v} for k, v in execution_key(
            "checkout-api", "a02").items()})["Item"])
    # the earliest time, then the first alarm name at that time; the other attributes untouched
    assert item["alarm_in_bake"] == FIRST and item["pipeline"] == "checkout-api"
    assert kept[0] is True and kept.count(True) <= 3
