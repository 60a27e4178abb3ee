"""The slow-execution sweep (warden.health.slow) on the ledger's running index (warden.ledger.running), in a
DynamoDB table of the ledger's shape (moto): told once per execution, whoever sweeps, never after it ends."""

from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from tests.unit.fakes import Configs, RecordingNotifier
from warden.core import clock
from warden.core.clock import iso, parse_iso
from warden.health.slow import SlowExecutions
from warden.ledger.running import RunningExecutions

NOW = parse_iso("2026-11-27T12:00:00Z")
TABLE = "ledger"


@pytest.fixture
def ddb():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi4pk", "gsi4sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": "gsi4", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
                {"AttributeName": "gsi4pk", "KeyType": "HASH"}, {"AttributeName": "gsi4sk", "KeyType": "RANGE"}]}])
        clock.set_source(lambda: NOW)
        yield client
        clock.set_source(None)


def running(ddb, execution_id, minutes_ago, **extra):
    started = iso(NOW - timedelta(minutes=minutes_ago))
    item = {"pk": f"EXEC#p#{execution_id}", "sk": "EXECUTION", "gsi4pk": "RUNNING",
            "gsi4sk": f"{started}#p#{execution_id}", "pipeline": "p", "execution_id": execution_id,
            "region": "us-east-1", "account": "111122223333", "started_at": started}
    ddb.put_item(TableName=TABLE, Item={k: {"S": v} for k, v in item.items()} | extra)


def sweep(ddb, sweep_id="sweep-1", waiting=frozenset(), skip=None):
    notifier = RecordingNotifier()
    slow = SlowExecutions(running=RunningExecutions(ddb, TABLE), notifier=notifier, config=Configs(), skip=skip)
    return slow.sweep(sweep_id, waiting), notifier


def in_index(ddb, execution_id):
    item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": f"EXEC#p#{execution_id}"}, "sk": {"S": "EXECUTION"}})
    return "gsi4pk" in item["Item"]


def test_an_execution_running_past_its_threshold_is_told_once_whoever_sweeps(ddb):
    # Given one execution running for 3 hours and one for 5 minutes
    running(ddb, "long", 180)
    running(ddb, "short", 5)
    # When two sweeps run, one after the other
    first, told = sweep(ddb, "sweep-1")
    second, told_again = sweep(ddb, "sweep-2")
    # Then the long one is told once, as pipeline.slow, and both sweeps count it as past its threshold
    assert first["slow"] == ["long"] and second["slow"] == []
    assert [n.event for n, _ in told.sent] == ["pipeline.slow"] and told_again.sent == []
    assert first["running_past_threshold"] == second["running_past_threshold"] == 1


def test_the_same_sweep_retried_after_its_claim_sends_what_it_had_claimed(ddb):
    # A sweep that claimed, then failed before sending, is retried by Lambda with the same id.
    running(ddb, "long", 180, slow_owner={"S": "sweep-1"}, slow_sent={"BOOL": False})
    assert sweep(ddb, "sweep-2")[0]["slow"] == []  # another sweep: not its claim
    assert sweep(ddb, "sweep-1")[0]["slow"] == ["long"]


def test_an_execution_waiting_for_an_approval_is_not_slow_and_its_clock_restarts_when_decided(ddb):
    running(ddb, "waiting", 180)
    running(ddb, "approved", 180, **{"approval:Approve:Gate": {"M": {"at": {"S": iso(NOW - timedelta(minutes=5))}}}})
    result, _ = sweep(ddb, waiting=frozenset({"waiting"}))
    assert result["slow"] == [] and result["running_past_threshold"] == 0


def test_an_execution_whose_end_was_never_seen_leaves_the_index_instead_of_being_slow_forever(ddb):
    running(ddb, "lost", 9 * 24 * 60)
    result, notifier = sweep(ddb)
    assert (result["forgotten"], result["slow"], notifier.sent) == (["lost"], [], [])
    assert not in_index(ddb, "lost")


def test_an_item_that_cannot_be_read_is_set_aside_and_the_others_go_on(ddb):
    # Given a running item whose start cannot be read, beside a slow one
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "EXEC#p#bad"}, "sk": {"S": "EXECUTION"}, "gsi4pk": {"S": "RUNNING"},
                                        "gsi4sk": {"S": "0000-not-a-time#p#bad"}, "execution_id": {"S": "bad"}})
    running(ddb, "long", 180)
    skipped = []
    result, _ = sweep(ddb, skip=lambda item, error: skipped.append((item["execution_id"], type(error).__name__)))
    # Then the bad one is handed to skip (dead-lettered) and leaves the index; the slow one is still told
    assert result["slow"] == ["long"] and result["skipped"] == 1
    assert skipped == [("bad", "ValueError")] and not in_index(ddb, "bad")
