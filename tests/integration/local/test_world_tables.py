"""The embedded world reads its tables from moto's own model, not through a Scan (World.table_items), and
re-reads a table only after a call that may have written it (World.snapshot): both must see exactly what a
Scan through the API returns, or every `item` effect of every replay would be wrong."""

from __future__ import annotations

from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer

from tests.helpers import EVENTS
from warden_local.observe import plain
from warden_local.replay import replay


@pytest.fixture
def world():
    from warden_local.world import SLACK_APP, World

    with World(parameters={"SlackSecretArn": SLACK_APP}) as w:  # the demo's approval is decided in Slack
        replay([str(EVENTS / "scenarios" / "demo.json")], world=w)
        yield w


def scanned(world, lid: str) -> list[dict]:
    ddb, deserialize = world.client("dynamodb"), TypeDeserializer().deserialize
    items, kwargs = [], {"TableName": world.physical[lid]["TableName"]}
    while True:
        page = ddb.scan(**kwargs)
        items += [plain({k: deserialize(v) for k, v in item.items()}) for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_every_table_read_equals_a_scan_in_order_and_in_types(world):
    # Given the demo replayed (the fixture), and an item of every DynamoDB type (binary nested in a map and a list too)
    table = world.physical["LedgerTable"]["TableName"]
    world.client("dynamodb").put_item(TableName=table, Item={
        "pk": {"S": "TYPES"}, "sk": {"S": "ALL"}, "n": {"N": "12.50"}, "i": {"N": "3"}, "b": {"B": b"\x00\xffraw"},
        "ss": {"SS": ["b", "a"]}, "ns": {"NS": ["2", "1.5"]}, "bs": {"BS": [b"\x01", b"\x02"]},
        "yes": {"BOOL": True}, "none": {"NULL": True},
        "m": {"M": {"inner": {"B": b"\x03"}, "deep": {"L": [{"N": "1"}, {"B": b"\x04"}, {"S": "x"}]}}}})
    # Then each observed table reads as its Scan does: same items, same order, same values
    assert world.observed_tables()
    for lid in world.observed_tables():
        assert world.table_items(lid) == scanned(world, lid), lid
    typed = next(i for i in world.table_items("LedgerTable") if i["pk"] == "TYPES")
    assert (typed["n"], typed["i"], typed["ns"], typed["m"]["deep"][0]) == (12.5, 3, [1.5, 2], 1)
    assert isinstance(Decimal(str(typed["n"])), Decimal) and typed["ss"] == ["a", "b"]


def test_a_write_to_one_table_is_seen_and_the_others_are_not_read_again(world):
    # Given a snapshot of every observed table after the demo
    before = world.snapshot()
    ledger = world.physical["LedgerTable"]["TableName"]
    # When one table is written (here by an ARN, as a handler may name it), and nothing else
    arn = f"arn:aws:dynamodb:{world.region}:{world.account}:table/{ledger}"
    world.client("dynamodb").put_item(TableName=arn, Item={"pk": {"S": "NEW"}, "sk": {"S": "ONE"}})
    after = world.snapshot()
    # Then that table's new item is in the next snapshot, and every other table is the same read as before
    assert '["NEW", "ONE"]' in after["LedgerTable"] and '["NEW", "ONE"]' not in before["LedgerTable"]
    assert all(after[lid] is before[lid] for lid in before if lid != "LedgerTable")
    # and a write the recorder cannot place (PartiQL names its table in the statement) re-reads them all
    world.client("dynamodb").execute_statement(Statement=f"INSERT INTO \"{ledger}\" VALUE {{'pk': 'Q', 'sk': 'L'}}")
    again = world.snapshot()
    assert '["Q", "L"]' in again["LedgerTable"]
    assert all(again[lid] is not after[lid] for lid in after)
    for lid in world.observed_tables():
        assert list(again[lid].values()) == scanned(world, lid), lid


def test_a_message_on_any_observed_queue_is_an_effect_and_an_empty_queue_is_not_asked(world):
    # Given a step's mark, with every observer queue drained by the demo
    mark = world.begin()
    asked = []
    sqs = world.client("sqs")
    sqs.meta.events.register("provide-client-params.sqs.ReceiveMessage",
                             lambda params, **_: asked.append(params["QueueUrl"]))
    world.client = lambda service: sqs if service == "sqs" else type(world).client(world, service)
    # When someone publishes to the team topic, outside any handler
    world.client("sns").publish(TopicArn=world.physical["TeamTopic"]["TopicArn"], Subject="[INFO] by hand",
                                Message="hello", MessageAttributes={"event": {"DataType": "String",
                                                                              "StringValue": "manual"}})
    found = world.effects(mark)
    # Then it is one message effect, and only the queue that holds it was asked (until empty)
    assert [(e["topic"], e["subject"]) for e in found if e["kind"] == "message"] == [("TeamTopic", "[INFO] by hand")]
    assert asked and set(asked) == {url for url, topic in world._observers.items() if topic == "TeamTopic"}
