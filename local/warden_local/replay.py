"""`warden replay`: feed inputs, in order, through the routes template.yaml declares.

An input is an EventBridge event, an approval message body, a CodeDeploy lifecycle hook payload,
an SNS-to-Lambda event, or a scenario ({"world", "config", "steps"}); see DESIGN.md §4.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from moto.events.models import EventPattern

from warden.aws.config import ConfigError, parse_documents
from warden.core import clock
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


@dataclass
class Scenario:
    label: str
    world: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)


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


def load(path: str | Path) -> Scenario:
    path = Path(path)
    doc = read_json(path)
    if not (isinstance(doc, dict) and "steps" in doc):
        return Scenario(str(path), steps=[Step(str(path), _time_of(doc), event=doc)])
    if not isinstance(doc["steps"], list):
        raise InputError(f"{path}: 'steps' must be a list")
    try:
        parse_documents(doc.get("config") or {})
    except ConfigError as exc:
        raise InputError(f"{path}: config: {exc}") from None
    scenario = Scenario(str(path), world=doc.get("world") or [], config=doc.get("config") or {})
    for n, raw in enumerate(doc["steps"]):
        where = f"{path}: steps[{n}]"
        if not isinstance(raw, dict) or sum(k in raw for k in ("event", "schedule", "call")) != 1:
            raise InputError(f"{where}: a step has exactly one of 'event', 'schedule' or 'call'")
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
            scenario.steps.append(Step(f"call:{raw['call']}", at, call=call))
            continue
        event, label = raw["event"], f"{path}#steps[{n}]"
        if isinstance(event, str):
            label = os.path.normpath(path.parent / event)
            event = read_json(path.parent / event)
        scenario.steps.append(Step(label, at or _time_of(event), event=event))
    if not isinstance(scenario.world, list) or not all(isinstance(c, dict) and "call" in c for c in scenario.world):
        raise InputError(f"{path}: 'world' must be a list of {{\"call\": \"service:Operation\", \"params\": {{}}}}")
    return scenario


class Replayer:
    """One embedded world for a whole command: the same event fed twice is delivered twice."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._schedules = {fid: t for fid, fn in world.functions.items() for t in fn.triggers
                           if t.type in ("Schedule", "ScheduleV2")}

    def check(self, scenario: Scenario) -> None:
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
            self._call(call, f"{scenario.label}: world call")
        ssm = self.world.client("ssm")
        prefix = self.world.parameter("ConfigPrefix") if "ConfigPrefix" in self.world.template.parameters else ""
        for kind, doc in scenario.config.items():
            ssm.put_parameter(Name=f"{prefix}/{kind}", Value=json.dumps(doc), Type="String", Overwrite=True)

    def _call(self, call: dict[str, Any], where: str) -> None:
        from botocore import xform_name

        service, _, operation = call["call"].partition(":")
        try:
            client = self._as(call["as"]).client(service) if call.get("as") else self.world.client(service)
            getattr(client, xform_name(operation))(**call.get("params", {}))
        except Exception as exc:  # noqa: BLE001 (a scenario's call error is the user's input)
            raise InputError(f"{where} {call['call']} failed: {exc}") from None

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
                                     aws_session_token=c["SessionToken"], region_name=REGION)

    def step(self, step: Step) -> dict[str, Any]:
        at = step.at or clock.now()
        self.world.set_time(at)
        mark = self.world.begin()
        if step.call:
            self._call(step.call, f"{step.label}: call")
        routes = self.schedule(step) if step.schedule else self.routes(step.event) if step.event is not None else []
        if step.event is not None:
            fakes.apply_event(step.event)
        for function, payload in routes:
            self.world.invoke(function, payload)
        result = {"input": step.label, "at": clock.iso(at), "routed_to": [f for f, _ in routes],
                  "effects": self.world.effects(mark)}
        if not routes and step.event is not None:
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
            return [(fid, _sns_envelope(event, self.world, topic)) for fid, topic in self._sns_subscriptions()]
        if "DeploymentId" in event and "LifecycleEventHookExecutionId" in event:
            return [(fid, event) for fid, fn in self.world.functions.items()
                    if fn.metadata.get("InvokedBy") == "codedeploy-lifecycle-hook"]
        return []

    @staticmethod
    def _matches(trigger: Any, event: dict[str, Any]) -> bool:
        if trigger.type not in ("EventBridgeRule", "CloudWatchEvent"):
            return False
        return EventPattern.load(json.dumps(trigger.properties.get("Pattern", {}))).matches_event(event)

    def _sns_subscriptions(self) -> list[tuple[str, str]]:
        return [(fid, self.world.resolve(t.properties.get("Topic"))) for fid, fn in self.world.functions.items()
                for t in fn.triggers if t.type == "SNS"]

    def _sns_subscribers(self) -> list[str]:
        return [fid for fid, _ in self._sns_subscriptions()]

    def schedule(self, step: Step) -> list[tuple[str, Any]]:
        at = clock.iso(step.at or clock.now())
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": ACCOUNT, "time": at, "region": REGION,
                 "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{step.schedule}"], "detail": {}}
        return [(step.schedule, event)]


def _is_sns_lambda_event(event: dict[str, Any]) -> bool:
    records = event.get("Records")
    return isinstance(records, list) and bool(records) and all(
        isinstance(r, dict) and r.get("EventSource") == "aws:sns" for r in records)


def _sns_envelope(body: dict[str, Any], world: World, topic: str) -> dict[str, Any]:
    """What Lambda receives when CodePipeline publishes an approval message to the topic."""
    approval = body.get("approval") or {}
    return {"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic}:{uuid.uuid4()}",
        "Sns": {
            "Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": topic,
            "Subject": f"APPROVAL NEEDED: AWS CodePipeline {approval.get('pipelineName', '')} for action "
                       f"{approval.get('actionName', '')}"[:100],
            "Message": json.dumps(body), "Timestamp": clock.iso(clock.now()).replace("Z", ".000Z"),
            "SignatureVersion": "1", "Signature": "", "SigningCertUrl": "", "UnsubscribeUrl": "",
            "MessageAttributes": {},
        },
    }]}


def replay(paths: list[str], world: World | None = None) -> dict[str, Any]:
    scenarios = [load(p) for p in paths]  # all input errors before anything runs
    own = world is None
    world = world or World()
    if own:
        world.start()
    try:
        replayer = Replayer(world)
        for scenario in scenarios:
            replayer.check(scenario)
        steps = [s for scenario in scenarios for s in replayer.run(scenario)]
        tables = {lid: world.table_items(lid) for lid in world.observed_tables()}
        return {"steps": steps, "tables": tables}
    finally:
        if own:
            world.stop()
