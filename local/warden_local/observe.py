"""Effects as the embedded world shows them, never as the handlers report them (README: the embedded world).

Messages come from an SQS queue subscribed to each topic, pages from the local PagerDuty server,
items from comparing tables before and after a step, calls from botocore's own event hooks, and
dead letters from the DLQs.
"""

from __future__ import annotations

import base64
import copy
import json
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import botocore.handlers

# Calls that change nothing; everything else a handler makes is a `call` effect, except the SNS
# publishes and DynamoDB writes that show up as messages and items.
READ_PREFIXES = ("Get", "List", "Describe", "BatchGet", "Query", "Scan", "Head", "Lookup", "Search",
                 "Select", "Test", "Check", "Validate", "Receive", "Decrypt", "GenerateDataKey", "Assume")
SHOWN_ELSEWHERE = {("sns", "Publish"), ("dynamodb", "PutItem"), ("dynamodb", "UpdateItem"),
                   ("dynamodb", "DeleteItem"), ("dynamodb", "BatchWriteItem"),
                   ("dynamodb", "TransactWriteItems")}
PD_SEVERITY = {"error": "high"}  # PagerDuty's four levels, in Warden's words


def plain(value: Any) -> Any:
    """JSON-safe copy of API params and DynamoDB items."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        # A DynamoDB set has no order: sorted, so the output does not depend on PYTHONHASHSEED.
        items = [plain(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


# Where botocore's signing name is not the IAM service prefix.
IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses"}


class CallRecorder:
    """Registered once per process on every botocore session, active only while a handler runs.

    `access` collects every call (reads too) as (function logical id, "iam-prefix:Operation"): what
    each function's role must allow (tests/integration/template/test_iam_coverage.py)."""

    def __init__(self) -> None:
        self.active = False
        self.function: str | None = None
        self.calls: list[dict[str, Any]] = []
        self.access: set[tuple[str, str]] = set()
        # Calls that may change something, per service, whoever makes them (handlers, the world, tests): the
        # world re-reads tables and queues only when a call can have changed them.
        self.changes: Counter[str] = Counter()
        # The same for DynamoDB, per table written (ANY_TABLE: a call that does not name its tables): a step
        # re-scans only the tables a call can have changed (the idempotency store's writes change no other).
        self.table_changes: Counter[str] = Counter()

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        service = model.service_model.signing_name or model.service_model.endpoint_prefix
        name = model.name
        if not name.startswith(READ_PREFIXES) and not name.startswith("DeleteMessage"):  # a drain adds nothing
            self.changes[service] += 1
            if service == "dynamodb":
                self.table_changes.update(tables_written(name, params))
        if not self.active:
            return
        if self.function:
            self.access.add((self.function, f"{IAM_PREFIX.get(service, service)}:{name}"))
        if name.startswith(READ_PREFIXES) or (service, name) in SHOWN_ELSEWHERE:
            return
        self.calls.append({"kind": "call", "api": f"{service}:{name}", "params": plain(params)})


ANY_TABLE = "*"


def tables_written(operation: str, params: dict[str, Any]) -> list[str]:
    """The tables a DynamoDB call that may change something names (by name, an ARN cut to its name);
    [ANY_TABLE] when it names none the recorder knows how to read (PartiQL, a call of a new shape)."""
    names: list[Any] = []
    if "TableName" in params:
        names = [params["TableName"]]
    elif operation == "BatchWriteItem":
        names = list(params.get("RequestItems") or {})
    elif operation == "TransactWriteItems":
        names = [one.get("TableName") for item in params.get("TransactItems") or [] for one in item.values()
                 if isinstance(one, dict)]
    if not names or not all(isinstance(n, str) and n for n in names):
        return [ANY_TABLE]
    return [n.split(":table/", 1)[1].split("/", 1)[0] if n.startswith("arn:") else n for n in names]


RECORDER = CallRecorder()
botocore.handlers.BUILTIN_HANDLERS.append(("provide-client-params", RECORDER))


class Bodies:
    """What each protocol of a topic receives, by SNS message id: a handler's Publish with
    `MessageStructure=json` carries one body per protocol (email, sms, default), and the observing SQS
    subscription sees only `default`. The Publish's own parameters (before the call) and its response's
    MessageId (after it) pair them, so `warden demo --show email` prints what an email subscriber gets."""

    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, str]] = {}

    def before(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if RECORDER.active and params.get("MessageStructure") == "json":
            context["warden_bodies"] = params.get("Message")

    def after(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        message = context.pop("warden_bodies", None)
        if message is None or not isinstance(parsed, dict) or not parsed.get("MessageId"):
            return
        try:
            bodies = json.loads(message)
        except ValueError:
            return
        if isinstance(bodies, dict):
            self.by_id[parsed["MessageId"]] = {str(k): str(v) for k, v in bodies.items()}

    def take(self, message_id: str) -> dict[str, str] | None:
        return self.by_id.pop(message_id, None)


BODIES = Bodies()
botocore.handlers.BUILTIN_HANDLERS.append(("provide-client-params.sns.Publish", BODIES.before))
botocore.handlers.BUILTIN_HANDLERS.append(("after-call.sns.Publish", BODIES.after))


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    if not _holds_messages(queue_url):  # nothing to receive: the call would answer nothing
        return []
    messages = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                  MessageAttributeNames=["All"], AttributeNames=["All"]).get("Messages", [])
        if not got:
            return messages
        for message in got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(got)


def _holds_messages(queue_url: str) -> bool:
    """Whether the embedded queue holds any message, read from moto's own model (fakes/moto_model.py): most
    steps leave most observer queues and dead-letter queues empty, and asking each costs a call."""
    from warden_local.fakes.moto_model import queue_holds_messages

    host, account, name = queue_url.rsplit("/", 2)
    region = host.split("//", 1)[-1].split(".")[1] if host.count(".") >= 2 else "us-east-1"
    held = queue_holds_messages(account, region, name)
    return True if held is None else held  # a queue moto does not know by this address: ask the API, as before


def message_effect(topic: str, sqs_message: dict[str, Any]) -> dict[str, Any]:
    envelope = json.loads(sqs_message["Body"])
    attrs = {k: v.get("Value") for k, v in envelope.get("MessageAttributes", {}).items()}
    return {
        "kind": "message", "topic": topic, "severity": attrs.get("severity", "info"),
        "event": attrs.get("event"), "pipeline": attrs.get("pipeline"),
        "subject": envelope.get("Subject") or "", "attributes": attrs, "body": envelope.get("Message", ""),
        "_ts": envelope.get("Timestamp", ""),
    } | ({"bodies": bodies} if (bodies := BODIES.take(str(envelope.get("MessageId", "")))) else {})


def page_effect(event: dict[str, Any]) -> dict[str, Any]:
    payload = event.get("payload") or {}
    effect = {"kind": "page", "action": event["event_action"], "dedup_key": event.get("dedup_key", "")}
    if payload:
        effect["severity"] = PD_SEVERITY.get(payload.get("severity"), payload.get("severity"))
        effect["summary"] = payload.get("summary", "")
        # What the responder's phone shows, exactly as PagerDuty received it.
        for name in ("component", "group", "class"):
            if payload.get(name):
                effect[name] = payload[name]
        effect["custom_details"] = payload.get("custom_details") or {}
        effect["links"] = event.get("links") or []
    return effect


def item_effects(table: str, keys: list[str], before: dict, after: dict) -> list[dict[str, Any]]:
    effects = []
    for key, item in after.items():
        if key not in before:
            effects.append({"kind": "item", "table": table, "op": "put", "key": _key(item, keys),
                            "item": copy.deepcopy(item)})  # snapshots are kept: effects get their own copy
        elif before[key] != item:
            effects.append({"kind": "item", "table": table, "op": "update", "key": _key(item, keys),
                            "item": copy.deepcopy(item)})
    for key, item in before.items():
        if key not in after:
            effects.append({"kind": "item", "table": table, "op": "delete", "key": _key(item, keys)})
    return effects


def _key(item: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {k: item[k] for k in keys if k in item}
