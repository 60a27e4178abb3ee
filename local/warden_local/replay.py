"""`warden replay`: feed inputs, in order, through the routes template.yaml declares.

An input is an EventBridge event, an approval message body, a CodeDeploy lifecycle hook payload,
an SNS-to-Lambda event, or a scenario ({"account", "region", "world", "config", "steps"}; see the
README). A scenario's `account` and `region` are the tools account and region the embedded world is.
A world entry or call step with `"save": "NAME"` keeps its response; `${NAME.dotted.path}` in later
params and inline events is replaced by that value when the step runs. References are checked when the
scenario is loaded (a name saved by no earlier entry is bad input) and again when they are resolved
(a path the response does not have is bad input), so nothing half-runs on a typo it could have caught.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from moto.events.models import EventPattern

from warden.core import clock
from warden.runtime.documents import ConfigError, parse_documents
from warden_local import fakes
from warden_local.world import ACCOUNT, REGION, World


class InputError(Exception):
    """Bad input to the CLI: reported as one line, exit status 2."""


@dataclass
class Step:
    label: str
    at: datetime | None = None
    event: Any = None
    schedule: str | None = None
    call: dict[str, Any] | None = None  # an AWS call made at that moment, outside Warden (a console click)
    inline: bool = False  # an event written in the scenario: ${NAME.path} applies to it


@dataclass
class Scenario:
    label: str
    world: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    account: str | None = None  # None: the default world's (111122223333 / us-east-1)
    region: str | None = None


SCENARIO_KEYS = frozenset({"description", "account", "region", "world", "config", "steps"})
WORLD_KEYS = frozenset({"call", "params", "save"})
STEP_KEYS = frozenset({"at", "event", "schedule", "call", "params", "as", "save"})
# ${NAME.dotted.path}: NAME a saved response, the path keys or list indexes inside it.
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*)((?:\.[^.}]+)*)\}")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def references(value: Any) -> set[str]:
    """The saved names that `value` refers to."""
    if isinstance(value, str):
        return {m.group(1) for m in REFERENCE.finditer(value)}
    if isinstance(value, dict):
        return set().union(*(references(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(references(v) for v in value)) if value else set()
    return set()


def substitute(value: Any, saved: dict[str, Any], where: str) -> Any:
    """`value` with every ${NAME.path} replaced; a string that is one reference takes the value as is."""
    if isinstance(value, dict):
        return {k: substitute(v, saved, where) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, saved, where) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value
    whole = REFERENCE.fullmatch(value)
    if whole:
        return _lookup(whole, saved, where)
    return REFERENCE.sub(lambda m: str(_lookup(m, saved, where)), value)


def _lookup(match: re.Match[str], saved: dict[str, Any], where: str) -> Any:
    name, path = match.group(1), [p for p in match.group(2).split(".") if p]
    if name not in saved:
        raise InputError(f"{where}: {match.group(0)} names no saved response")
    value = saved[name]
    for n, part in enumerate(path):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            at = ".".join([name, *path[:n + 1]])
            raise InputError(f"{where}: {match.group(0)} cannot be resolved: the response has no {at}")
    return value.isoformat() if isinstance(value, datetime) else value


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: invalid JSON ({exc})") from None


def _time_of(event: Any) -> datetime | None:
    if isinstance(event, dict) and isinstance(event.get("time"), str):
        try:
            return clock.parse_iso(event["time"])
        except ValueError:
            return None
    return None


def _check_input(event: Any, where: str) -> None:
    """An input that says it is an approval message must have the message's shape (its `approval` an
    object): anything else is bad input, told in one line."""
    if (isinstance(event, dict) and "approval" in event and "detail-type" not in event
            and not isinstance(event["approval"], dict)):
        raise InputError(f"{where}: an approval message's 'approval' must be an object, "
                         f"got {type(event['approval']).__name__}")


def load(path: str | Path) -> Scenario:
    path = Path(path)
    doc = read_json(path)
    if not (isinstance(doc, dict) and "steps" in doc):
        _check_input(doc, str(path))
        return Scenario(str(path), steps=[Step(str(path), _time_of(doc), event=doc)])
    if not isinstance(doc["steps"], list):
        raise InputError(f"{path}: 'steps' must be a list")
    unknown = sorted(set(doc) - SCENARIO_KEYS)
    if unknown:
        raise InputError(f"{path}: unknown key {unknown[0]!r} (a scenario has: {', '.join(sorted(SCENARIO_KEYS))})")
    try:
        parse_documents(doc.get("config") or {})
    except ConfigError as exc:
        raise InputError(f"{path}: config: {exc}") from None
    account, region = doc.get("account"), doc.get("region")
    if account is not None and not re.fullmatch(r"\d{12}", str(account)):
        raise InputError(f"{path}: 'account' must be a 12-digit AWS account id, not {account!r}")
    if region is not None and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", str(region)):
        raise InputError(f"{path}: 'region' is not an AWS region name: {region!r}")
    scenario = Scenario(str(path), world=doc.get("world") or [], config=doc.get("config") or {},
                        account=None if account is None else str(account),
                        region=None if region is None else str(region))
    if not isinstance(scenario.world, list) or not all(isinstance(c, dict) and "call" in c for c in scenario.world):
        raise InputError(f"{path}: 'world' must be a list of {{\"call\": \"service:Operation\", \"params\": {{}}}}")
    saved: set[str] = set()
    for n, call in enumerate(scenario.world):
        _check_entry(call, WORLD_KEYS, saved, f"{path}: world[{n}]")
    for n, raw in enumerate(doc["steps"]):
        where = f"{path}: steps[{n}]"
        if not isinstance(raw, dict) or sum(k in raw for k in ("event", "schedule", "call")) != 1:
            raise InputError(f"{where}: a step has exactly one of 'event', 'schedule' or 'call'")
        _check_entry(raw, STEP_KEYS, saved, where)
        at = None
        if "at" in raw:
            try:
                at = clock.parse_iso(str(raw["at"]))
            except ValueError:
                raise InputError(f"{where}: 'at' is not an ISO 8601 time: {raw['at']!r}") from None
        if "schedule" in raw:
            scenario.steps.append(Step(f"schedule:{raw['schedule']}", at, schedule=str(raw["schedule"])))
            continue
        if "call" in raw:
            call = {"call": str(raw["call"]), "params": raw.get("params") or {}}
            if raw.get("as"):
                call["as"] = str(raw["as"])
            if raw.get("save"):
                call["save"] = str(raw["save"])
            scenario.steps.append(Step(f"call:{raw['call']}", at, call=call))
            continue
        event, label = raw["event"], f"{path}#steps[{n}]"
        inline = not isinstance(event, str)
        if not inline:
            label = os.path.normpath(path.parent / event)
            event = read_json(path.parent / event)
        _check_input(event, where)
        scenario.steps.append(Step(label, at or _time_of(event), event=event, inline=inline))
    return scenario


def _check_entry(entry: dict[str, Any], keys: frozenset[str], saved: set[str], where: str) -> None:
    """Known keys only; every reference names a response saved by an earlier entry; `save` names one."""
    unknown = sorted(set(entry) - keys)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r}")
    for name in sorted(references(entry.get("params")) | references(entry.get("event"))
                       | references(entry.get("as"))):
        if name not in saved:
            raise InputError(f"{where}: ${{{name}...}} names no response saved by an earlier entry")
    if "save" in entry:
        if "call" not in entry or not isinstance(entry["save"], str) or not _NAME.match(entry["save"]):
            raise InputError(f"{where}: 'save' names a call's response (letters, digits, _ and -)")
        saved.add(entry["save"])


def world_of(scenarios: list[Scenario]) -> tuple[str, str]:
    """The tools account and region the inputs name (they must agree), else the defaults."""
    for attr in ("account", "region"):
        named = {getattr(s, attr) for s in scenarios if getattr(s, attr)}
        if len(named) > 1:
            raise InputError(f"the inputs name different worlds: {attr} {', '.join(sorted(named))}")
    account = next((s.account for s in scenarios if s.account), ACCOUNT)
    region = next((s.region for s in scenarios if s.region), REGION)
    return account, region


class Replayer:
    """One embedded world for a whole command: the same event fed twice is delivered twice."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.saved: dict[str, Any] = {}  # responses kept by `save`, for ${NAME.path}
        self._schedules = {fid: t for fid, fn in world.functions.items() for t in fn.triggers
                           if t.type in ("Schedule", "ScheduleV2")}

    def check(self, scenario: Scenario) -> None:
        for attr in ("account", "region"):
            if getattr(scenario, attr) and getattr(scenario, attr) != getattr(self.world, attr):
                raise InputError(f"{scenario.label}: names {attr} {getattr(scenario, attr)}, but the world is "
                                 f"{getattr(self.world, attr)}")
        for step in scenario.steps:
            if step.schedule and step.schedule not in self._schedules:
                known = ", ".join(sorted(self._schedules)) or "none"
                raise InputError(f"{scenario.label}: unknown schedule {step.schedule!r} "
                                 f"(template.yaml declares: {known})")

    def run(self, scenario: Scenario) -> list[dict[str, Any]]:
        self._setup(scenario)
        return [self.step(step) for step in scenario.steps]

    def _setup(self, scenario: Scenario) -> None:
        for call in scenario.world:
            self._call(call, f"{scenario.label}: world call")  # "save": NAME keeps the response
        ssm = self.world.client("ssm")
        prefix = self.world.parameter("ConfigPrefix") if "ConfigPrefix" in self.world.template.parameters else ""
        for kind, doc in scenario.config.items():
            ssm.put_parameter(Name=f"{prefix}/{kind}", Value=json.dumps(doc), Type="String", Overwrite=True)

    def _call(self, call: dict[str, Any], where: str) -> None:
        from botocore import xform_name

        service, _, operation = call["call"].partition(":")
        params = substitute(call.get("params", {}), self.saved, f"{where} {call['call']}")
        principal = substitute(call.get("as"), self.saved, f"{where} {call['call']}")
        try:
            client = self._as(principal).client(service) if principal else self.world.client(service)
            response = getattr(client, xform_name(operation))(**params)
        except Exception as exc:  # noqa: BLE001 (a scenario's call error is the user's input)
            raise InputError(f"{where} {call['call']} failed: {exc}") from None
        if call.get("save"):
            response.pop("ResponseMetadata", None)
            self.saved[call["save"]] = response

    def _as(self, principal: str) -> Any:
        """A session of someone else: `"as": "arn:aws:iam::…:role/release-approver/alice"` assumes the role
        with session name `alice`, so CodePipeline records that person (PutApprovalResult's updatedBy)."""
        import boto3

        role, session = principal, "warden-replay"
        if principal.count("/") >= 2:
            role, session = principal.rsplit("/", 1)
        creds = self.world.client("sts").assume_role(RoleArn=role, RoleSessionName=session)
        c = creds["Credentials"]
        return boto3.session.Session(aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                                     aws_session_token=c["SessionToken"], region_name=self.world.region)

    def step(self, step: Step) -> dict[str, Any]:
        at = step.at or clock.now()
        self.world.set_time(at)
        mark = self.world.begin()
        if step.call:
            self._call(step.call, f"{step.label}: call")
        event = substitute(step.event, self.saved, step.label) if step.inline else step.event
        routes = self.schedule(step) if step.schedule else self.routes(event) if event is not None else []
        if event is not None:
            fakes.apply_event(event)
        for function, payload in routes:
            self.world.invoke(function, payload)
        result = {"input": step.label, "at": clock.iso(at), "routed_to": [f for f, _ in routes],
                  "effects": self.world.effects(mark)}
        if not routes and event is not None:
            result["note"] = "no route in template.yaml accepts this input"
        return result

    # -- routes -------------------------------------------------------------------------------------
    def routes(self, event: Any) -> list[tuple[str, Any]]:
        if not isinstance(event, dict):
            return []
        if "detail-type" in event and "source" in event:
            return [(fid, event) for fid, fn in self.world.functions.items()
                    if any(self._matches(t, event) for t in fn.triggers)]
        if _is_sns_lambda_event(event):
            return [(fid, event) for fid in self._sns_subscribers()]
        if "approval" in event and "consoleLink" in event:
            return [(fid, _sns_envelope(event, self.world, topic)) for fid, topic, t in self._sns_subscriptions(True)
                    if _body_filter_accepts(t, event)]
        if "AlarmName" in event and "NewStateValue" in event:
            # An alarm action's message reaches the topics that subscribe to alarm messages: those whose
            # subscription filters on the message body (and accepts this one), as SNS itself would filter.
            return [(fid, _sns_envelope(event, self.world, topic)) for fid, topic, t in self._sns_subscriptions(True)
                    if t.properties.get("FilterPolicyScope") == "MessageBody" and _body_filter_accepts(t, event)]
        if "DeploymentId" in event and "LifecycleEventHookExecutionId" in event:
            return [(fid, event) for fid, fn in self.world.functions.items()
                    if fn.metadata.get("InvokedBy") == "codedeploy-lifecycle-hook"]
        return []

    def _matches(self, trigger: Any, event: dict[str, Any]) -> bool:
        if trigger.type not in ("EventBridgeRule", "CloudWatchEvent"):
            return False
        # Resolved as deployed: a rule's `account` list depends on the stack's parameters.
        pattern = self.world.resolve(trigger.properties.get("Pattern", {}))
        return EventPattern.load(json.dumps(pattern)).matches_event(event)

    def _sns_subscriptions(self, with_trigger: bool = False) -> list[Any]:
        found = [(fid, self.world.resolve(t.properties.get("Topic")), t) for fid, fn in self.world.functions.items()
                 for t in fn.triggers if t.type == "SNS"]
        return found if with_trigger else [(fid, topic) for fid, topic, _ in found]

    def _sns_subscribers(self) -> list[str]:
        return [fid for fid, _ in self._sns_subscriptions()]

    def schedule(self, step: Step) -> list[tuple[str, Any]]:
        at = clock.iso(step.at or clock.now())
        account, region = self.world.account, self.world.region
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": account, "time": at, "region": region,
                 "resources": [f"arn:aws:events:{region}:{account}:rule/{step.schedule}"], "detail": {}}
        return [(step.schedule, event)]


def _is_sns_lambda_event(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return isinstance(records, list) and bool(records) and all(
        isinstance(r, dict) and r.get("EventSource") == "aws:sns" for r in records)


def _body_filter_accepts(trigger: Any, body: dict[str, Any]) -> bool:
    """An SNS subscription's filter policy with MessageBody scope, for the exact-value form it is written in
    here ({"Key": ["value", ...]}); attribute-scoped policies do not look at the body."""
    if trigger.properties.get("FilterPolicyScope") != "MessageBody":
        return True
    policy = trigger.properties.get("FilterPolicy") or {}
    return all(body.get(key) in allowed for key, allowed in policy.items() if isinstance(allowed, list))


def _sns_envelope(body: dict[str, Any], world: World, topic: str) -> dict[str, Any]:
    """What Lambda receives when CodePipeline publishes an approval message (or CloudWatch an alarm's) to the topic."""
    approval = body.get("approval") if isinstance(body.get("approval"), dict) else {}
    subject = (f"APPROVAL NEEDED: AWS CodePipeline {approval.get('pipelineName', '')} for action "
               f"{approval.get('actionName', '')}" if approval else
               f"{body.get('NewStateValue', '')}: \"{body.get('AlarmName', '')}\" in {body.get('Region', '')}")
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic}:{uuid.uuid4()}",
        "Sns": {
            "Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": topic,
            "Subject": subject[:100],
            "Message": json.dumps(body), "Timestamp": clock.iso(clock.now()).replace("Z", ".000Z"),
            "SignatureVersion": "1", "Signature": "", "SigningCertUrl": "", "UnsubscribeUrl": "",
            "MessageAttributes": {},
        },
    }]}


def replay(paths: list[str], world: World | None = None) -> dict[str, Any]:
    scenarios = [load(p) for p in paths]  # all input errors before anything runs
    own = world is None
    if world is None:
        account, region = world_of(scenarios)
        world = World(account=account, region=region)
    if own:
        world.start()
    try:
        replayer = Replayer(world)
        for scenario in scenarios:
            replayer.check(scenario)
        steps = [s for scenario in scenarios for s in replayer.run(scenario)]
        tables = {lid: world.table_items(lid) for lid in world.observed_tables()}
        return {"steps": steps, "tables": tables, "buckets": world.buckets()}
    finally:
        if own:
            world.stop()
