"""The embedded AWS: moto in process, the stack of template.yaml deployed into it, handlers invoked
as Lambda would (environment, retries, dead-letter queue), and every effect observed.

A world *is* one tools account and region (default 111122223333 / us-east-1): the stack is deployed
there, the world's own clients call there, and Warden's region is that one. Events of other accounts
are workload-account events, as in production. A second stack can be deployed `beside` a started world:
the same embedded account and region (one moto, one CodePipeline), its own parameters, resources,
PagerDuty server and observers, as `sam deploy --config-env staging` next to `--config-env prod` would be.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import itertools
import json
import logging
import os
import re
import sys
import time
import traceback
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from moto import mock_aws

from warden.core import clock
from warden.core.text import wire_safe
from warden_local import fakes
from warden_local.fakes import moto_model
from warden_local.observe import ANY_TABLE, RECORDER, drain, item_effects, message_effect, page_effect, plain
from warden_local.pagerduty import PagerDutyServer
from warden_local.slack import BOT_TOKEN, SIGNING_SECRET, SlackServer
from warden_local.template import Function, Template, default_template

ACCOUNT = "111122223333"  # the default tools account and region of a world
REGION = "us-east-1"
STACK = "pipeline-warden"
NO_VALUE = object()
# `parameters={"SlackSecretArn": SLACK_APP}`: the stack gets a Slack app (a secret in the world's Secrets Manager
# holding the local bot token and signing secret) and talks to the world's fake Slack Web API.
SLACK_APP = "local"


@contextlib.contextmanager
def environment(values: dict[str, str], *, keep_set: bool = False) -> Iterator[None]:
    """`values` in os.environ while the block runs, and what was there before afterwards; `keep_set`: a
    variable the caller has set already keeps its value."""
    saved = {k: os.environ.get(k) for k in values}
    for k, v in values.items():
        if not (keep_set and k in os.environ):
            os.environ[k] = v
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def local_env(account: str, region: str) -> dict[str, str]:
    return {
        "AWS_DEFAULT_REGION": region, "AWS_REGION": region, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing", "MOTO_ACCOUNT_ID": account,
        "AWS_EC2_METADATA_DISABLED": "true", "POWERTOOLS_METRICS_NAMESPACE": "PipelineWarden",
        # Lambda gives no X-Ray daemon here; the functions do not patch clients anyway.
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


LOCAL_ENV = local_env(ACCOUNT, REGION)
# The stack as the embedded world deploys it, unless a test says otherwise: the workload accounts of
# the bundled samples and scenarios are trusted (their events pass the rules' `account` filter).
LOCAL_PARAMETERS = {"TrustedAccountIds": "222233334444,444455556666"}
_worlds = itertools.count()


@dataclass
class Invocation:
    function: str
    result: Any = None
    error: str | None = None
    seconds: float = 0.0  # inside the handler, all attempts
    site: str | None = None  # where the error was raised: the innermost frame of the project's own code


class _Context:
    """The Lambda context object, as much of it as handlers and powertools read."""

    def __init__(self, fn: Function, name: str, account: str, region: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


class _CurrentStdout(io.TextIOBase):
    """Log handlers write wherever sys.stdout points now, so a replay can keep them off its JSON."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


class World:
    def __init__(self, template: Template | None = None, parameters: dict[str, str] | None = None, *,
                 account: str = ACCOUNT, region: str = REGION, beside: World | None = None,
                 stack: str = STACK) -> None:
        """`beside`: a started world whose embedded account this stack is deployed into as well (its account
        and region are that world's); `stack`: the stack's name (distinct for each stack of one account)."""
        if beside is not None:
            account, region = beside.account, beside.region
        self.beside, self.stack = beside, stack
        self.template = template or default_template()
        self.account, self.region = account, region
        self.overrides = {k: v for k, v in LOCAL_PARAMETERS.items() if k in self.template.parameters} | (
            parameters or {})
        self.logs = io.StringIO()
        self.physical: dict[str, dict[str, Any]] = {}
        self.functions = self.template.functions
        self._modules: dict[str, Any] = {}
        self._environments: dict[str, dict[str, str]] = {}
        self._id = next(_worlds)
        self._saved_env: dict[str, str | None] = {}
        self._mock: Any = None
        self.pagerduty: PagerDutyServer | None = None
        self.slack: SlackServer | None = None
        self._pages_seen = 0
        self._observers: dict[str, str] = {}  # observer queue url -> topic logical id
        self._dlqs: dict[str, str] = {}  # DLQ url -> function logical id
        # each observed table's last scan: {logical id: ((its RECORDER.table_changes, ANY_TABLE's), items by key)}
        self._tables_seen: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
        self._queues_seen = -1  # queue inputs counted at the last drain

    # -- lifecycle ----------------------------------------------------------------------------------
    def __enter__(self) -> World:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self) -> None:
        # powertools warns about an empty metrics flush on every event that published none.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        if self.beside is None:  # a stack beside another uses its account: environment and moto are there
            for name, value in local_env(self.account, self.region).items():
                self._saved_env[name] = os.environ.get(name)
                os.environ[name] = value
            self._mock = mock_aws()
            self._mock.start()
            fakes.install()
        self.session = boto3.session.Session(region_name=self.region)
        self.pagerduty = PagerDutyServer().start()
        self.slack = SlackServer().start()
        self._deploy()

    def stop(self) -> None:
        if self.pagerduty:
            self.pagerduty.stop()
        if self.slack:
            self.slack.stop()
        if self.beside is not None:
            return  # the account is the other world's: it stops it
        clock.set_source(None)
        fakes.s3.set_clock(None)
        if self._mock:
            self._mock.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def client(self, service: str) -> Any:
        return self.session.client(service)

    # -- the stack ----------------------------------------------------------------------------------
    def parameter(self, name: str) -> Any:
        spec = self.template.parameters[name]
        if name in self.overrides:
            value = self.overrides[name]
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                return value.split(",") if value else [""]
            return value
        default = spec.get("Default", "")
        if spec.get("Type") == "CommaDelimitedList":
            return [v for v in str(default).split(",")] if default != "" else [""]
        return default

    def _deploy(self) -> None:
        if "PagerDutySecretArn" in self.template.parameters and "PagerDutySecretArn" not in self.overrides:
            secret = self.client("secretsmanager").create_secret(
                Name=f"{self.stack}/pagerduty", SecretString=json.dumps({"routing_key": "R0UT1NGKEY0LOCAL0000000"}))
            self.overrides["PagerDutySecretArn"] = secret["ARN"]
        if self.overrides.get("SlackSecretArn") == SLACK_APP:
            secret = self.client("secretsmanager").create_secret(
                Name=f"{self.stack}/slack", SecretString=json.dumps({"bot_token": BOT_TOKEN,
                                                                     "signing_secret": SIGNING_SECRET}))
            self.overrides["SlackSecretArn"] = secret["ARN"]
        deployers = {"AWS::KMS::Key": self._deploy_key, "AWS::SNS::Topic": self._deploy_topic,
                     "AWS::SQS::Queue": self._deploy_queue, "AWS::DynamoDB::Table": self._deploy_table,
                     "AWS::SSM::Parameter": self._deploy_parameter}
        for cfn_type, deploy in deployers.items():  # in dependency order: keys first
            for lid, res in self.template.of_type(cfn_type).items():
                if self.condition_of(res):
                    self.physical[lid] = deploy(lid, self.resolve(res.get("Properties", {})))
        sqs, sns = self.client("sqs"), self.client("sns")
        for lid, attrs in self.physical.items():
            if "TopicArn" in attrs:
                url = sqs.create_queue(QueueName=f"observe-{self.stack}-{lid}")["QueueUrl"]
                arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
                sns.subscribe(TopicArn=attrs["TopicArn"], Protocol="sqs", Endpoint=arn)
                self._observers[url] = lid
        for fn in self.functions.values():
            if fn.dead_letter_queue and self.exists(fn):
                arn = self.resolve(fn.dead_letter_queue)
                self._dlqs[self._queue_url(arn)] = fn.logical_id

    def exists(self, fn: Function) -> bool:
        """Whether the stack as deployed has the function (its template condition, if any, holds)."""
        return fn.condition is None or self.condition(fn.condition)

    def condition_of(self, res: dict[str, Any]) -> bool:
        return "Condition" not in res or self.condition(res["Condition"])

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.conditions[name]))

    def _deploy_key(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        meta = self.client("kms").create_key(Description=props.get("Description", lid))["KeyMetadata"]
        return {"Ref": meta["KeyId"], "Arn": meta["Arn"], "KeyId": meta["KeyId"]}

    def _deploy_topic(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        name = props.get("TopicName") or f"{self.stack}-{lid}"
        attributes = {"KmsMasterKeyId": props["KmsMasterKeyId"]} if props.get("KmsMasterKeyId") else {}
        arn = self.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return {"Ref": arn, "TopicArn": arn, "TopicName": name}

    def _deploy_queue(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        name = props.get("QueueName") or f"{self.stack}-{lid}"
        url = self.client("sqs").create_queue(QueueName=name)["QueueUrl"]
        arn = f"arn:aws:sqs:{self.region}:{self.account}:{name}"
        return {"Ref": url, "QueueUrl": url, "QueueName": name, "Arn": arn}

    def _deploy_table(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        name = props.get("TableName") or f"{self.stack}-{lid}"
        keep = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes",
                "BillingMode", "StreamSpecification")
        ddb = self.client("dynamodb")
        ddb.create_table(TableName=name, **{k: props[k] for k in keep if k in props})
        if props.get("TimeToLiveSpecification"):
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=props["TimeToLiveSpecification"])
        arn = f"arn:aws:dynamodb:{self.region}:{self.account}:table/{name}"
        return {"Ref": name, "Arn": arn, "TableName": name,
                "Keys": [k["AttributeName"] for k in props["KeySchema"]]}

    def _deploy_parameter(self, lid: str, props: dict[str, Any]) -> dict[str, Any]:
        name = props.get("Name") or f"/{self.stack}/{lid}"
        self.client("ssm").put_parameter(Name=name, Value=props["Value"], Type=props.get("Type", "String"),
                                         Overwrite=True)
        return {"Ref": name, "Value": props["Value"]}

    def _queue_url(self, arn: str) -> str:
        return self.client("sqs").get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]

    # -- intrinsic functions ------------------------------------------------------------------------
    def ref(self, name: str) -> Any:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": self.account, "AWS::Partition": "aws",
                  "AWS::StackName": self.stack, "AWS::URLSuffix": "amazonaws.com", "AWS::NoValue": NO_VALUE}
        if name in pseudo:
            return pseudo[name]
        if name in self.template.parameters:
            return self.parameter(name)
        if name in self.physical:
            return self.physical[name]["Ref"]
        return name  # a resource the embedded world does not deploy (IAM, alarms, log groups)

    def get_att(self, lid: str, attr: str) -> Any:
        return self.physical.get(lid, {}).get(attr, f"{lid}.{attr}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (fn, arg), = value.items()
            handler = getattr(self, "_fn_" + fn.replace("Fn::", "").lower(), None)
            if handler and (fn.startswith("Fn::") or fn in ("Ref", "Condition")):
                return handler(arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _fn_ref(self, arg: str) -> Any:
        return self.ref(arg)

    def _fn_condition(self, arg: str) -> bool:
        return self.condition(arg)

    def _fn_getatt(self, arg: Any) -> Any:
        lid, attr = arg if isinstance(arg, list) else arg.split(".", 1)
        return self.get_att(lid, attr)

    def _fn_sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self.get_att(*name.split(".", 1)))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def _fn_if(self, arg: list[Any]) -> Any:
        return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])

    def _fn_join(self, arg: list[Any]) -> str:
        sep, items = self.resolve(arg[0]), self.resolve(arg[1])
        return sep.join(str(i) for i in (items if isinstance(items, list) else [items]))

    def _fn_split(self, arg: list[Any]) -> list[str]:
        return str(self.resolve(arg[1])).split(arg[0])

    def _fn_select(self, arg: list[Any]) -> Any:
        return self.resolve(arg[1])[int(self.resolve(arg[0]))]

    def _fn_equals(self, arg: list[Any]) -> bool:
        return self.resolve(arg[0]) == self.resolve(arg[1])

    def _fn_not(self, arg: list[Any]) -> bool:
        return not self.resolve(arg[0])

    def _fn_and(self, arg: list[Any]) -> bool:
        return all(self.resolve(a) for a in arg)

    def _fn_or(self, arg: list[Any]) -> bool:
        return any(self.resolve(a) for a in arg)

    # -- functions ----------------------------------------------------------------------------------
    def environment(self, fn: Function) -> dict[str, str]:
        if fn.logical_id not in self._environments:
            self._environments[fn.logical_id] = self._resolve_environment(fn)
        return self._environments[fn.logical_id]

    def _resolve_environment(self, fn: Function) -> dict[str, str]:
        env = {k: v for k, v in self.resolve(fn.environment).items()}
        env = {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in env.items()}
        env["PAGERDUTY_EVENTS_URL"] = self.pagerduty.url if self.pagerduty else ""
        if self.slack and env.get("SLACK_SECRET_ARN"):
            env["SLACK_API_URL"] = self.slack.url
        env["AWS_LAMBDA_FUNCTION_NAME"] = fn.logical_id
        return env

    @contextlib.contextmanager
    def _function_env(self, fn: Function) -> Iterator[None]:
        with environment(self.environment(fn)), contextlib.redirect_stdout(self.logs):
            yield

    def _module(self, fn: Function) -> Any:
        if fn.logical_id not in self._modules:
            name = f"warden_fn_{fn.logical_id}_{self._id}"
            spec = importlib.util.spec_from_file_location(name, fn.module_path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            self._modules[fn.logical_id] = module
            _route_logs()
        return self._modules[fn.logical_id]

    def redeploy(self) -> None:
        """Every function starts afresh on its next event (new containers): what a scenario's `config` says is
        in force from its first step, not after the previous containers' five-minute document cache."""
        self._modules.clear()

    def invoke(self, function_id: str, event: Any) -> Invocation:
        """Asynchronous invocation: retried as EventInvokeConfig says, then dead-lettered."""
        fn = self.functions[function_id]
        outcome = Invocation(function_id)
        with self._function_env(fn):
            handler = getattr(self._module(fn), fn.entry_point)
            # Lambda's retries of one asynchronous event keep its request id.
            context = _Context(fn, function_id, self.account, self.region)
            for _ in range(1 + fn.max_retries):
                RECORDER.active, RECORDER.function = True, function_id
                start = time.perf_counter()
                try:
                    outcome.result, outcome.error = handler(event, context), None
                    break
                except Exception as exc:  # noqa: BLE001 (Lambda catches everything too)
                    outcome.error = f"{type(exc).__name__}: {exc}"
                    outcome.site = _site(exc)
                finally:
                    outcome.seconds += time.perf_counter() - start
                    RECORDER.active, RECORDER.function = False, None
        if outcome.error is not None:
            self._dead_letter(fn, event, outcome.error)
        return outcome

    def request(self, function_id: str, event: Any) -> Invocation:
        """Synchronous invocation (a function URL's request): once, no retries, nothing dead-lettered by
        Lambda; the caller gets the answer or the error, as the URL's client would."""
        fn = self.functions[function_id]
        if not self.exists(fn):
            raise RuntimeError(f"{function_id} does not exist in this stack (condition {fn.condition} is false)")
        outcome = Invocation(function_id)
        with self._function_env(fn):
            handler = getattr(self._module(fn), fn.entry_point)
            context = _Context(fn, function_id, self.account, self.region)
            RECORDER.active, RECORDER.function = True, function_id
            start = time.perf_counter()
            try:
                outcome.result = handler(event, context)
            except Exception as exc:  # noqa: BLE001 (a function URL answers 502 for it)
                outcome.error = f"{type(exc).__name__}: {exc}"
                outcome.site = _site(exc)
            finally:
                outcome.seconds += time.perf_counter() - start
                RECORDER.active, RECORDER.function = False, None
        return outcome

    def _dead_letter(self, fn: Function, event: Any, error: str) -> None:
        url = next((u for u, f in self._dlqs.items() if f == fn.logical_id), None)
        if url is None:
            raise RuntimeError(f"{fn.logical_id} failed and has no dead-letter queue: {error}")
        # The attributes Lambda sets on the messages it dead-letters.
        self.client("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(event, default=str), MessageAttributes={
            "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": wire_safe(error)[:1024]},
        })

    # -- observation --------------------------------------------------------------------------------
    def set_time(self, moment: datetime) -> None:
        clock.set_source(lambda: moment)
        # S3 objects are stamped with the world's time, and lifecycle runs as time passes (fakes/s3.py).
        fakes.s3.set_clock(lambda: moment)
        fakes.s3.expire(moment)

    def buckets(self) -> dict[str, dict[str, Any]]:
        """Every bucket's final configuration, as the S3 Get* calls return it (replay's `buckets`)."""
        s3 = self.client("s3")
        return {b["Name"]: fakes.s3.bucket_configuration(s3, b["Name"])
                for b in sorted(s3.list_buckets().get("Buckets", []), key=lambda b: b["Name"])}

    def observed_tables(self) -> dict[str, dict[str, Any]]:
        """Every table the stack declares, the idempotency store aside."""
        return {lid: attrs for lid, attrs in self.physical.items()
                if "TableName" in attrs and "idempotency" not in lid.lower()}

    def table_items(self, lid: str) -> list[dict[str, Any]]:
        """The table's items as a Scan returns them, in its order, read from the embedded DynamoDB's own model
        (fakes/moto_model.py): a Scan through the API serializes and parses every item again, at every step
        that changed it. (tests/integration/local/test_world_tables.py holds the two equal.)"""
        deserialize = TypeDeserializer().deserialize
        return [plain({k: deserialize(v) for k, v in item.items()})
                for item in moto_model.table_items(self.account, self.region, self.physical[lid]["TableName"])]

    def snapshot(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every observed table's items by key. A table is scanned again only after a DynamoDB call that may
        have changed it (RECORDER.table_changes); until then its last scan stands (treat it as read-only)."""
        snap = {}
        for lid, attrs in self.observed_tables().items():
            generation = (RECORDER.table_changes[attrs["TableName"]], RECORDER.table_changes[ANY_TABLE])
            seen = self._tables_seen.get(lid)
            if seen is None or seen[0] != generation:
                keys = attrs["Keys"]
                seen = self._tables_seen[lid] = (generation, {json.dumps([i.get(k) for k in keys]): i
                                                              for i in self.table_items(lid)})
            snap[lid] = seen[1]
        return snap

    def _queue_inputs(self) -> int:
        """Calls that can have put a message in an observer queue or a dead-letter queue."""
        return sum(RECORDER.changes[service] for service in ("sns", "sqs", "events"))

    def begin(self) -> dict[str, Any]:
        return {"tables": self.snapshot(), "calls": len(RECORDER.calls),
                "slack": len(self.slack.calls) if self.slack else 0}

    def effects(self, mark: dict[str, Any]) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        drained = self._queue_inputs() == self._queues_seen  # nothing can have arrived since the last drain
        messages = [] if drained else [message_effect(topic, m) for url, topic in self._observers.items()
                                       for m in drain(sqs, url)]
        messages.sort(key=lambda m: m.pop("_ts"))
        found: list[dict[str, Any]] = messages
        events = self.pagerduty.events if self.pagerduty else []
        found += [page_effect(e) for e in events[self._pages_seen:]]
        self._pages_seen = len(events)
        after = self.snapshot()
        for lid, before in mark["tables"].items():
            found += item_effects(lid, self.physical[lid]["Keys"], before, after[lid])
        found += RECORDER.calls[mark["calls"]:]
        found += slack_effects(self.slack.calls[mark.get("slack", 0):], self.slack.channels) if self.slack else []
        for url, fn in {} if drained else self._dlqs.items():
            for m in drain(sqs, url):
                error = m.get("MessageAttributes", {}).get("ErrorMessage", {}).get("StringValue", "")
                found.append({"kind": "dead_letter", "function": fn, "error": error})
        self._queues_seen = self._queue_inputs()
        return found


SLACK_WRITES = {"chat.postMessage": "ChatPostMessage", "chat.update": "ChatUpdate", "views.open": "ViewsOpen"}


def slack_effects(calls: list[dict[str, Any]], channels: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """What Warden changed in Slack (its messages and the modals it opened), as `call` effects `slack:<Method>`
    with what a person sees (channel, its name, thread, text, and the labels of the buttons shown: none left
    on an updated message), not the block markup."""
    found = []
    for call in calls:
        api = SLACK_WRITES.get(call["method"])
        if api and not call.get("refused"):  # a call an outage refused changed nothing
            params = call["params"]
            shown = {k: params[k] for k in ("channel", "ts", "thread_ts", "text") if params.get(k)}
            if (channels or {}).get(str(params.get("channel"))):
                shown["channel_name"] = (channels or {})[str(params["channel"])]
            if api != "ViewsOpen" and not params.get("thread_ts"):
                shown["buttons"] = _buttons(params.get("blocks"))
            if api == "ViewsOpen":
                view = params.get("view") or {}
                shown = {"title": (view.get("title") or {}).get("text"), "text": " ".join(
                    (b.get("text") or {}).get("text", "") for b in view.get("blocks") or [] if b.get("text")),
                    "buttons": [str((view.get(k) or {}).get("text")) for k in ("submit", "close") if view.get(k)]}
            found.append({"kind": "call", "api": f"slack:{api}", "params": shown})
    return found


def _buttons(blocks: Any) -> list[str]:
    """The labels of a message's buttons, in order."""
    return [str((element.get("text") or {}).get("text")) for block in blocks or [] if isinstance(block, dict)
            and block.get("type") == "actions" for element in block.get("elements") or []
            if isinstance(element, dict) and element.get("type") == "button"]


def _site(exc: BaseException) -> str | None:
    """`warden/approvals/store.py:156`: the innermost frame of the layer or a handler that `exc` passed."""
    site = None
    for frame, line in traceback.walk_tb(exc.__traceback__):
        path = frame.f_code.co_filename.replace(os.sep, "/")
        for root in ("/layers/warden/", "/functions/"):
            if root in path:
                site = f"{path.split(root, 1)[1]}:{line}"
    return site


def _route_logs() -> None:
    """Point the handlers' log streams (plain StreamHandlers, as powertools installs) at `_CurrentStdout`."""
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in getattr(logger, "handlers", []):
            if type(handler) is logging.StreamHandler and handler.stream not in (sys.stderr, sys.__stderr__):
                handler.setStream(_CurrentStdout())
