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
from warden_local.world import ACCOUNT, REGION, SLACK_APP, World


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
    # A late or lost delivery (`delivered`): the event happens in the world at `at` (happens) and Warden
    # hears it at a later step (heard); `delivery` says which, in the step's note.
    happens: bool = True
    heard: bool = True
    delivery: str | None = None
    # A person's click in Slack: {"as": user id, "click": "approve"|"reject", "reason", "pipeline", "stage"}: the
    # button of the approval's message, then the confirmation, over HTTP to the gateway's function URL.
    slack: dict[str, Any] | None = None


@dataclass
class Scenario:
    label: str
    world: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    account: str | None = None  # None: the default world's (111122223333 / us-east-1)
    region: str | None = None
    # A bare input (an event, not a scenario): the account and region it names, if any (`world_of`).
    bare: bool = False
    named: tuple[str | None, str | None] = (None, None)
    # Trusted workload accounts that `world` entries and `call` steps act in (`"account"`).
    workloads: set[str] = field(default_factory=set)
    slack: dict[str, Any] | None = None  # the Slack workspace: the stack then has a Slack app


SCENARIO_KEYS = frozenset({"description", "account", "region", "world", "config", "steps", "slack"})
# A scenario's "slack": the Slack workspace of the stack's Slack app (its presence gives the stack one).
SLACK_KEYS = frozenset({"users", "groups", "channels"})
SLACK_STEP_KEYS = frozenset({"as", "click", "reason", "pipeline", "stage"})
WORLD_KEYS = frozenset({"call", "params", "save", "region", "account"})
STEP_KEYS = frozenset({"at", "event", "schedule", "call", "params", "as", "save", "region", "account", "delivered",
                       "slack"})
ACCOUNT_ID = re.compile(r"\d{12}")
REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
NEVER = "never"  # `"delivered": "never"`: the event happens, and Warden never hears of it
# The role that the world's workload accounts give Warden to read their pipelines (WorkloadReadRoleName), and
# the one a scenario's own calls in a workload account are made with (its owners' administrator role).
READ_ROLE = "pipeline-warden-read"
ADMIN_ROLE = "OrganizationAccountAccessRole"
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
        return Scenario(str(path), steps=[Step(str(path), _time_of(doc), event=doc)], bare=True,
                        named=named_world(doc))
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
    _check_where(doc, str(path))
    scenario = Scenario(str(path), world=doc.get("world") or [], config=doc.get("config") or {},
                        account=None if account is None else str(account),
                        region=None if region is None else str(region), slack=_slack_workspace(doc, path))
    if not isinstance(scenario.world, list) or not all(isinstance(c, dict) and "call" in c for c in scenario.world):
        raise InputError(f"{path}: 'world' must be a list of {{\"call\": \"service:Operation\", \"params\": {{}}}}")
    saved: set[str] = set()
    for n, call in enumerate(scenario.world):
        _check_entry(call, WORLD_KEYS, saved, f"{path}: world[{n}]")
        _check_where(call, f"{path}: world[{n}]")
        if call.get("account") is not None:
            scenario.workloads.add(str(call["account"]))
    for n, raw in enumerate(doc["steps"]):
        where = f"{path}: steps[{n}]"
        if not isinstance(raw, dict) or sum(k in raw for k in ("event", "schedule", "call", "slack")) != 1:
            raise InputError(f"{where}: a step has exactly one of 'event', 'schedule', 'call' or 'slack'")
        _check_entry(raw, STEP_KEYS, saved, where)
        _check_where(raw, where)
        if ("region" in raw or "account" in raw) and "call" not in raw:
            raise InputError(f"{where}: 'region' and 'account' say where a call step's call is made")
        if "delivered" in raw and "event" not in raw:
            raise InputError(f"{where}: 'delivered' says when Warden hears of an event step's event")
        at = None
        if "at" in raw:
            try:
                at = clock.parse_iso(str(raw["at"]))
            except ValueError:
                raise InputError(f"{where}: 'at' is not an ISO 8601 time: {raw['at']!r}") from None
        if "schedule" in raw:
            scenario.steps.append(Step(f"schedule:{raw['schedule']}", at, schedule=str(raw["schedule"])))
            continue
        if "slack" in raw:
            click = _slack_click(raw["slack"], scenario, where)
            scenario.steps.append(Step(f"slack:{click['as']}:{click['click']}", at, slack=click))
            continue
        if "call" in raw:
            call = {"call": str(raw["call"]), "params": raw.get("params") or {}}
            if raw.get("as"):
                call["as"] = str(raw["as"])
            if raw.get("save"):
                call["save"] = str(raw["save"])
            for key in ("region", "account"):
                if raw.get(key) is not None:
                    call[key] = str(raw[key])
            if call.get("account"):
                scenario.workloads.add(call["account"])
            scenario.steps.append(Step(f"call:{raw['call']}", at, call=call))
            continue
        event, label = raw["event"], f"{path}#steps[{n}]"
        inline = not isinstance(event, str)
        if not inline:
            label = os.path.normpath(path.parent / event)
            event = read_json(path.parent / event)
        _check_input(event, where)
        step = Step(label, at or _time_of(event), event=event, inline=inline)
        if "delivered" not in raw:
            scenario.steps.append(step)
            continue
        _late(scenario.steps, step, _delivered(raw["delivered"], step.at, where))
    scenario.steps = _settle(scenario.steps)
    return scenario


def _slack_workspace(doc: dict[str, Any], path: Path) -> dict[str, Any] | None:
    workspace = doc.get("slack")
    if workspace is None:
        return None
    if not isinstance(workspace, dict) or set(workspace) - SLACK_KEYS:
        raise InputError(f"{path}: 'slack' is {{\"users\": [...], \"groups\": {{}}, \"channels\": {{}}}}")
    users = workspace.get("users") or []
    if not all(isinstance(u, dict) and {"id", "name", "email"} <= set(u) for u in users):
        raise InputError(f"{path}: slack.users: each person has an id, a name and an email")
    return workspace


def _slack_click(value: Any, scenario: Scenario, where: str) -> dict[str, Any]:
    if scenario.slack is None:
        raise InputError(f"{where}: a 'slack' step needs the scenario's 'slack' workspace (the stack's Slack app)")
    if not isinstance(value, dict) or set(value) - SLACK_STEP_KEYS or not value.get("as") \
            or value.get("click") not in ("approve", "reject"):
        raise InputError(f"{where}: 'slack' is {{\"as\": USER_ID, \"click\": \"approve\"|\"reject\", "
                         "\"reason\", \"pipeline\", \"stage\"}")
    return {k: str(v) for k, v in value.items() if v is not None}


def _delivered(value: Any, at: datetime | None, where: str) -> datetime | None:
    """`"delivered"`: when Warden hears of the event (not before it happened), or None for "never"."""
    if value == NEVER:
        return None
    try:
        heard = clock.parse_iso(str(value))
    except ValueError:
        raise InputError(f"{where}: 'delivered' is an ISO 8601 time or \"never\", not {value!r}") from None
    if at is None:
        raise InputError(f"{where}: a step delivered later says when it happened ('at')")
    if heard < at:
        raise InputError(f"{where}: 'delivered' ({value}) is before the event happened ({clock.iso(at)})")
    return heard


def _late(steps: list[Step], step: Step, heard: datetime | None) -> None:
    """The event happens now (a step that changes the world only) and is heard at `heard` (None: never), in
    a step of its own that `_settle` puts in its place in time once every step is read."""
    step.happens, step.heard = True, False
    step.delivery = f"delivered to Warden at {clock.iso(heard)}" if heard else "never delivered to Warden"
    steps.append(step)
    if heard is None:
        return
    steps.append(Step(step.label, heard, event=step.event, inline=step.inline, happens=False,
                      delivery=f"happened at {clock.iso(step.at) if step.at else '?'}, delivered late"))


def _settle(steps: list[Step]) -> list[Step]:
    """Late deliveries in time order among the other steps: each goes before the first step after it (in
    the file) that happens later than it is heard; the other steps keep their order."""
    fixed = [s for s in steps if s.happens]
    for late in (s for s in steps if not s.happens):
        origin = next(n for n, s in enumerate(fixed) if s.event is late.event)
        where = next((n for n in range(origin + 1, len(fixed)) if fixed[n].at and fixed[n].at > late.at),
                     len(fixed))
        fixed.insert(where, late)
    return fixed


def named_world(event: Any) -> tuple[str | None, str | None]:
    """The account and region a bare input names: an EventBridge event's own, an SNS message's topic's, an
    alarm message's AlarmArn's, an approval message's region."""
    if not isinstance(event, dict):
        return None, None
    if "detail-type" in event:
        account, region = event.get("account"), event.get("region")
    elif _is_sns_lambda_event(event):
        arns = {str(r.get("Sns", {}).get("TopicArn", "")) for r in event["Records"] if isinstance(r, dict)}
        parts = [a.split(":") for a in arns]
        account = parts[0][4] if len(arns) == 1 and len(parts[0]) > 5 else None
        region = parts[0][3] if len(arns) == 1 and len(parts[0]) > 5 else None
    elif "AlarmArn" in event:
        parts = str(event["AlarmArn"]).split(":")
        account, region = (parts[4], parts[3]) if len(parts) > 5 else (None, None)
    else:
        account, region = None, event.get("region")
    account = account if isinstance(account, str) and ACCOUNT_ID.fullmatch(account) else None
    region = region if isinstance(region, str) and REGION_NAME.fullmatch(region) else None
    return account, region


def _check_where(entry: dict[str, Any], where: str) -> None:
    account, region = entry.get("account"), entry.get("region")
    if account is not None and not ACCOUNT_ID.fullmatch(str(account)):
        raise InputError(f"{where}: 'account' must be a 12-digit AWS account id, not {account!r}")
    if region is not None and not REGION_NAME.fullmatch(str(region)):
        raise InputError(f"{where}: 'region' is not an AWS region name: {region!r}")


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
    """The tools account and region the inputs name (they must agree), else the defaults. Bare events (no
    scenario among the inputs) that all name one account make the world that account, and likewise one
    region: an event captured in your own account replays in a world that is your account, not as an
    event of an untrusted one. Bare events naming several accounts are replayed in the default world."""
    for attr in ("account", "region"):
        named = {getattr(s, attr) for s in scenarios if getattr(s, attr)}
        if len(named) > 1:
            raise InputError(f"the inputs name different worlds: {attr} {', '.join(sorted(named))}")
    account = next((s.account for s in scenarios if s.account), None)
    region = next((s.region for s in scenarios if s.region), None)
    if scenarios and all(s.bare for s in scenarios):
        accounts = {s.named[0] for s in scenarios if s.named[0]}
        regions = {s.named[1] for s in scenarios if s.named[1]}
        account = account or (accounts.pop() if len(accounts) == 1 else None)
        region = region or (regions.pop() if len(regions) == 1 else None)
    return account or ACCOUNT, region or REGION


class Replayer:
    """One embedded world for a whole command: the same event fed twice is delivered twice."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.saved: dict[str, Any] = {}  # responses kept by `save`, for ${NAME.path}
        self._url: Any = None  # the gateway's function URL on 127.0.0.1, served on the first Slack click
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

    def _setup(self, scenario: Scenario, *, outside: bool = True) -> None:
        """The world's calls (`outside`: once per account, by the first stack's replayer) and the stack's
        configuration documents (each stack's own prefix)."""
        for account in sorted(scenario.workloads) if outside else []:
            self._trusted(account, f"{scenario.label}: world")
            self.provide_read_role(account)
        for call in scenario.world if outside else []:
            self._call(call, f"{scenario.label}: world call")  # "save": NAME keeps the response
        if scenario.slack is not None and self.world.slack is not None:
            from warden_local.slack import person

            for user in scenario.slack.get("users") or []:
                self.world.slack.users[str(user["id"])] = person(str(user["id"]), str(user["name"]),
                                                                 str(user["email"]), deleted=bool(user.get("deleted")))
            self.world.slack.groups.update(scenario.slack.get("groups") or {})
            self.world.slack.channels.update(scenario.slack.get("channels") or {})
        ssm = self.world.client("ssm")
        prefix = self.world.parameter("ConfigPrefix") if "ConfigPrefix" in self.world.template.parameters else ""
        for kind, doc in scenario.config.items():
            ssm.put_parameter(Name=f"{prefix}/{kind}", Value=json.dumps(doc), Type="String", Overwrite=True)
        if scenario.config:
            self.world.redeploy()

    def _call(self, call: dict[str, Any], where: str) -> None:
        from botocore import xform_name

        service, _, operation = call["call"].partition(":")
        params = substitute(call.get("params", {}), self.saved, f"{where} {call['call']}")
        principal = substitute(call.get("as"), self.saved, f"{where} {call['call']}")
        account, region = call.get("account") or self.world.account, call.get("region") or self.world.region
        if account != self.world.account and not principal:
            self._trusted(account, where)
            principal = f"arn:aws:iam::{account}:role/{ADMIN_ROLE}/warden-replay"  # its owners, setting it up
        try:
            client = (self._as(principal) if principal else self.world.session).client(service, region_name=region)
            response = getattr(client, xform_name(operation))(**params)
        except Exception as exc:  # noqa: BLE001 (a scenario's call error is the user's input)
            raise InputError(f"{where} {call['call']} failed: {exc}") from None
        if call.get("save"):
            response.pop("ResponseMetadata", None)
            self.saved[call["save"]] = response

    def _trusted(self, account: str, where: str) -> None:
        """A workload account a scenario acts in must be one the stack trusts (TrustedAccountIds)."""
        trusted = [a for a in self.world.parameter("TrustedAccountIds") if a] \
            if "TrustedAccountIds" in self.world.template.parameters else []
        if account not in trusted:
            raise InputError(f"{where}: account {account} is not a trusted workload account of the world "
                             f"(TrustedAccountIds: {', '.join(trusted) or 'none'})")

    def provide_read_role(self, account: str) -> None:
        """The read role a workload account gives Warden (WorkloadReadRoleName), as workload-account.yaml
        creates it: assumable by this account's Warden roles, reading CodePipeline only."""
        params = self.world.template.parameters
        name = self.world.parameter("WorkloadReadRoleName") if "WorkloadReadRoleName" in params else ""
        if not name:
            return
        iam = self._as(f"arn:aws:iam::{account}:role/{ADMIN_ROLE}/warden-replay").client("iam")
        own = self.world.account
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{own}:root"},
            "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{own}:role/pipeline-warden-*"}}}]}
        try:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        except iam.exceptions.EntityAlreadyExistsException:
            return
        iam.put_role_policy(RoleName=name, PolicyName="read-pipelines", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
                "codepipeline:GetPipelineState", "codepipeline:GetPipelineExecution",
                "codepipeline:ListActionExecutions", "codepipeline:GetPipeline"]}]}))

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

    def step(self, step: Step, *, outside: bool = True) -> dict[str, Any]:
        """`outside`: this replayer also makes the step's changes to the world (its call, the event having
        happened); another stack of the same account only hears of them."""
        at = step.at or clock.now()
        self.world.set_time(at)
        mark = self.world.begin()
        if step.call and outside:
            self._call(step.call, f"{step.label}: call")
        event = substitute(step.event, self.saved, step.label) if step.inline else step.event
        heard = event is not None and step.heard
        if step.slack is not None and not outside:  # a person clicks in the first stack's Slack app, not this one's
            return {"input": step.label, "at": clock.iso(at), "what": self._what(step, event), "routed_to": [],
                    "effects": self.world.effects(mark), "note": "the click is for another stack's Slack app"}
        if step.slack is not None:
            answers = self._slack_click(step.slack)
            return {"input": step.label, "at": clock.iso(at), "what": self._what(step, event),
                    "routed_to": ["ApprovalGateway"],
                    "effects": self.world.effects(mark), "note": answers}
        asked, held = self._entry_condition(event) if event is not None and outside and step.happens else ([], None)
        if held:  # the stage's entry condition failed: its STARTED did not happen, its FAILED events were delivered
            heard = False
        routes = self.schedule(step) if step.schedule else self.routes(event) if heard else []
        if event is not None and outside and step.happens and not held:
            fakes.apply_event(event)
        for function, payload in routes:
            self.world.invoke(function, payload)
        result = {"input": step.label, "at": clock.iso(at), "what": self._what(step, event),
                  "routed_to": asked + [f for f, _ in routes], "effects": self.world.effects(mark)}
        if step.call and step.call.get("as"):
            result["by"] = _session_arn(str(substitute(step.call["as"], self.saved, step.label)))
        if held:
            result["note"] = held
        elif step.delivery:
            result["note"] = step.delivery
        elif not routes and heard:
            result["note"] = f"no route in template.yaml accepts this input: {self.why_not(event)}"
        return result

    def close(self) -> None:
        """Stop what this replayer serves (the gateway's function URL)."""
        if self._url is not None:
            self._url.stop()
            self._url = None

    # -- Slack ----------------------------------------------------------------------------------------
    def _slack_click(self, click: dict[str, Any]) -> str:
        """A person clicks the button of the approval's message, then confirms: two requests signed as Slack
        signs them, over HTTP to the gateway's function URL on 127.0.0.1. Returns what the gateway answered."""
        import urllib.error
        import urllib.request

        from warden_local.function_url import FunctionUrlServer

        slack = self.world.slack
        if slack is None or not self.world.functions.get("ApprovalGateway") or \
                not self.world.exists(self.world.functions["ApprovalGateway"]):
            raise InputError("a 'slack' step needs a stack with a Slack app (SlackSecretArn)")
        ts = self._slack_message(click)
        if self._url is None:
            self._url = FunctionUrlServer(self.world, "ApprovalGateway").start()
        answers = []
        channel = ts[0]
        for payload in (lambda: slack.click(click["as"], click["click"], channel, ts[1]),
                        lambda: slack.submit(click["as"], click.get("reason"))):
            headers, body = slack.signed(payload(), timestamp=int(clock.now().timestamp()))
            request = urllib.request.Request(self._url.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    answers.append(_said(response.status, response.read().decode()))
            except urllib.error.HTTPError as exc:
                answers.append(str(exc.code))
            if not slack.called("views.open") or answers[-1] != "200":
                break
            opened = slack.called("views.open")[-1]["view"]
            if opened.get("callback_id") != "warden-approval":  # refused at the click: told, nothing to confirm
                answers.append(f"told: {opened['blocks'][0]['text']['text']}")
                break
        return "the gateway answered: " + " | ".join(answers)

    def _slack_message(self, click: dict[str, Any]) -> tuple[str, str]:
        """(channel, ts) of the newest approval request in Slack for the click's pipeline (and stage)."""
        for (channel, ts), message in reversed(list(self.world.slack.messages.items())):
            values = [e.get("value", "") for b in message["blocks"] if b.get("type") == "actions"
                      for e in b.get("elements", [])]
            names = json.dumps(values)
            if values and click.get("pipeline", "") in names and click.get("stage", "") in names:
                return channel, ts
        raise InputError(f"slack:{click['as']}: no approval request with buttons in Slack to click")

    def _what(self, step: Step, event: Any) -> str:
        """The step in words (warden_local.story): the input's kind and what it is about."""
        from warden_local.story import describe

        if step.schedule:
            return f"schedule: {step.schedule}"
        if step.slack is not None:
            click = step.slack
            where = "/".join(str(click[k]) for k in ("pipeline", "stage") if click.get(k))
            user = (self.world.slack.users.get(click["as"]) if self.world.slack else None) or {}
            who = f"{user['real_name']} ({click['as']})" if user.get("real_name") else click["as"]
            return f"Slack: {who} clicks {click['click'].title()}" + (f" on {where}" if where else "")
        if step.call:
            return f"call: {step.call['call']}"
        return describe(event, self.world.account)

    def _entry_condition(self, event: Any) -> tuple[list[str], str | None]:
        """A stage's STARTED in the embedded CodePipeline is preceded by its beforeEntry `LambdaInvoke` rule:
        the rule's job goes to the function that answers such jobs (DeploymentGate), and a failed job holds the
        stage (its STARTED does not happen: a later step with the same event asks again, as a retried stage
        would). A failed entry fails the stage and the execution, as in AWS: their FAILED events (the embedded
        CodePipeline emits them, fakes/codepipeline.py `settle_entry`) are delivered in the same step. Returns (the
        functions asked, why the stage is held or None)."""
        if not (isinstance(event, dict) and event.get("source") == "aws.codepipeline"
                and event.get("detail-type") == "CodePipeline Stage Execution State Change"
                and (event.get("detail") or {}).get("state") == "STARTED"):
            return [], None
        from warden_local.fakes.codepipeline import codepipeline_state

        detail = event["detail"]
        state = codepipeline_state(event.get("account"), event.get("region"))
        pipeline = state.definition(detail.get("pipeline"))
        stage = next((s for s in (pipeline or {}).get("stages", []) if s.get("name") == detail.get("stage")), None)
        rules = [r for c in ((stage or {}).get("beforeEntry") or {}).get("conditions", []) for r in c.get("rules", [])
                 if (r.get("ruleTypeId") or {}).get("provider") == "LambdaInvoke"]
        gates = [fid for fid, fn in self.world.functions.items()
                 if fn.metadata.get("InvokedBy") == "codepipeline-lambdainvoke-rule"]
        if not rules or not gates:
            return [], None
        job = state.issue_rule_job(detail["pipeline"], detail["stage"], detail["execution-id"])
        self.world.invoke(gates[0], job)
        job_id = job["CodePipeline.job"]["id"]
        answered = state.jobs[job_id]
        failed = state.settle_entry(job_id, event.get("time"))
        if not failed:
            return gates[:1], None
        # The condition (result FAIL) failed the stage and the execution: CodePipeline emits their FAILED events,
        # delivered in this step to the functions template.yaml routes them to.
        asked = gates[:1]
        for emitted in failed:
            for function, payload in self.routes(emitted):
                self.world.invoke(function, payload)
                asked.append(function)
        why = (answered.get("failure") or {}).get("message") or f"the rule's job is {answered['status']}"
        return asked, (f"entry to {detail['pipeline']}/{detail['stage']} held by its beforeEntry condition, which "
                       f"failed the stage and the execution (no action ran): {why}")

    # -- routes -------------------------------------------------------------------------------------
    def routes(self, event: Any) -> list[tuple[str, Any]]:
        if not isinstance(event, dict):
            return []
        if "detail-type" in event and "source" in event:
            return [(fid, event) for fid, fn in self.world.functions.items()
                    if any(self._matches(t, event) for t in fn.triggers)]
        if _is_sns_lambda_event(event):
            # SNS delivers a topic's messages to that topic's subscribers only.
            topics = {r.get("Sns", {}).get("TopicArn") for r in event["Records"]}
            return [(fid, event) for fid, topic in self._sns_subscriptions() if topics == {topic}]
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
        if "CodePipeline.job" in event:
            # A stage condition's LambdaInvoke rule job: the function the rule names (DeploymentGate).
            return [(fid, event) for fid, fn in self.world.functions.items()
                    if fn.metadata.get("InvokedBy") == "codepipeline-lambdainvoke-rule"]
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

    # -- why an input reaches nothing ----------------------------------------------------------------
    def why_not(self, event: Any) -> str:
        """Why no route accepts `event`, in the terms of template.yaml: an untrusted account, a pipeline outside
        PipelineScope, no rule for its detail-type (or none whose detail fits), an SNS topic nobody here
        subscribes to, or a shape Warden does not take."""
        if not isinstance(event, dict):
            return f"a JSON {type(event).__name__} is none of the inputs Warden takes"
        if "detail-type" in event and "source" in event:
            return self._why_not_rule(event)
        if _is_sns_lambda_event(event):
            topics = sorted({str(r.get("Sns", {}).get("TopicArn")) for r in event["Records"]})
            subscribed = sorted({str(t) for _, t in self._sns_subscriptions()})
            return (f"no function of this stack subscribes to {', '.join(topics)} (its subscriptions: "
                    f"{', '.join(subscribed) or 'none'})")
        if "AlarmName" in event and "NewStateValue" in event:
            return "no subscription of this stack takes alarm messages whose body fits it"
        if "approval" in event:
            return "an approval message needs 'approval' and 'consoleLink', as CodePipeline publishes it"
        return ("not an EventBridge event (source, detail-type), an SNS message, an approval message or a "
                "CodeDeploy lifecycle hook payload")

    def _why_not_rule(self, event: dict[str, Any]) -> str:
        rules = [self.world.resolve(t.properties.get("Pattern", {})) for fn in self.world.functions.values()
                 for t in fn.triggers if t.type in ("EventBridgeRule", "CloudWatchEvent")]
        kind = f"{event.get('source')} / {event.get('detail-type')}"
        same = [p for p in rules if _fits(p, event, keys=("source", "detail-type"))]
        if not same:
            return f"no rule takes {kind} events"
        if not any(_fits(p, event, keys=("account",)) for p in same):
            trusted = sorted({a for p in same for a in p.get("account") or []})
            return (f"account {event.get('account')} is not trusted: the rules take {kind} events of "
                    f"{', '.join(trusted)} only (TrustedAccountIds / OrganizationId)")
        pipeline = _pipeline_of(event)
        if pipeline is not None and any(_fits(_unscoped(p), event) for p in same):
            scope = ",".join(self.world.parameter("PipelineScope")) \
                if "PipelineScope" in self.world.template.parameters else "*"
            return f"pipeline {pipeline} is outside this stack's PipelineScope ({scope})"
        return f"the rules that take {kind} events filter its detail (states, categories), and it fits none"

    def schedule(self, step: Step) -> list[tuple[str, Any]]:
        at = clock.iso(step.at or clock.now())
        account, region = self.world.account, self.world.region
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": account, "time": at, "region": region,
                 "resources": [f"arn:aws:events:{region}:{account}:rule/{step.schedule}"], "detail": {}}
        return [(step.schedule, event)]


def _session_arn(principal: str) -> str:
    """`"as": "arn:aws:iam::…:role/release-approver/alice"` is the session CloudTrail and CodePipeline
    record: arn:aws:sts::…:assumed-role/release-approver/alice (as `Replayer._as` assumes it)."""
    role, _, session = principal.rpartition("/") if principal.count("/") >= 2 else (principal, "", "")
    head, _, name = role.partition(":role/")
    if not session or not name or ":iam::" not in head:
        return principal
    return f"{head.replace(':iam::', ':sts::')}:assumed-role/{name.rpartition('/')[2]}/{session}"


def _fits(pattern: dict[str, Any], event: dict[str, Any], keys: tuple[str, ...] | None = None) -> bool:
    """Whether EventBridge would match `event` with `pattern` (only its top-level `keys`, when given)."""
    if keys is not None:
        pattern = {k: v for k, v in pattern.items() if k in keys}
    return EventPattern.load(json.dumps(pattern)).matches_event(event)


def _unscoped(pattern: dict[str, Any]) -> dict[str, Any]:
    """`pattern` without its PipelineScope filter (detail.pipeline, or a CloudTrail call's pipeline name)."""
    pattern = json.loads(json.dumps(pattern))
    detail = pattern.get("detail") if isinstance(pattern.get("detail"), dict) else {}
    detail.pop("pipeline", None)
    (detail.get("requestParameters") or {}).pop("pipeline", None)
    if detail.get("requestParameters") == {}:
        detail.pop("requestParameters")
    return pattern


def _pipeline_of(event: dict[str, Any]) -> str | None:
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    if isinstance(detail.get("pipeline"), str):
        return detail["pipeline"]
    name = ((detail.get("requestParameters") or {}).get("pipeline") or {}).get("name") \
        if isinstance(detail.get("requestParameters"), dict) else None
    return name if isinstance(name, str) else None


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


def replay_stacks(paths: list[str], stacks: dict[str, dict[str, str]]) -> dict[str, dict[str, Any]]:
    """The inputs replayed once in one embedded account that holds several stacks of Warden (name ->
    parameters, as samconfig.toml's environments deploy them): the world changes once, every stack hears
    every event through its own rules, and each stack's document (the schema of `replay`) shows its effects."""
    scenarios = [load(p) for p in paths]
    account, region = world_of(scenarios)
    worlds: dict[str, World] = {}
    # A scenario with a Slack workspace: each stack has a Slack app (as `replay` gives its stack one).
    slack = {"SlackSecretArn": SLACK_APP} if any(s.slack is not None for s in scenarios) else {}
    try:
        for name, parameters in stacks.items():
            first = next(iter(worlds.values()), None)
            worlds[name] = World(parameters=slack | parameters, account=account, region=region, beside=first,
                                 stack=f"pipeline-warden-{name}")
            worlds[name].start()
        replayers = {name: Replayer(world) for name, world in worlds.items()}
        primary = next(iter(replayers.values()))
        for replayer in replayers.values():
            replayer.saved = primary.saved  # one account: one set of saved responses
        steps: dict[str, list[dict[str, Any]]] = {name: [] for name in replayers}
        for scenario in scenarios:
            for replayer in replayers.values():
                replayer.check(scenario)
                replayer._setup(scenario, outside=replayer is primary)
            for step in scenario.steps:
                # A click in Slack is made in the Slack app of the stack that posted the approval's message.
                clicker = _clicker(replayers, step) if step.slack is not None else None
                for name, replayer in replayers.items():
                    outside = name == clicker if clicker else replayer is primary
                    steps[name].append(replayer.step(step, outside=outside))
        return {name: {"steps": steps[name],
                       "tables": {lid: world.table_items(lid) for lid in world.observed_tables()},
                       "buckets": world.buckets()} for name, world in worlds.items()}
    finally:
        for world in reversed(list(worlds.values())):
            world.stop()


def _clicker(replayers: dict[str, Replayer], step: Step) -> str:
    """The stack whose Slack app posted the message a `slack` step clicks (else the first: it says why not)."""
    for name, replayer in replayers.items():
        try:
            if replayer.world.slack is not None and replayer._slack_message(step.slack or {}):
                return name
        except InputError:
            continue
    return next(iter(replayers))


def world_for(scenarios: list[Scenario]) -> World:
    """A world (not started) for the scenarios: their account and region, and a stack with what they need."""
    account, region = world_of(scenarios)
    # A scenario that acts in a trusted workload account gets a stack that reads it through the read role.
    reads = {"WorkloadReadRoleName": READ_ROLE} if any(s.workloads for s in scenarios) else {}
    # A scenario with a Slack workspace gets a stack with a Slack app (the world's fake Slack Web API).
    reads |= {"SlackSecretArn": SLACK_APP} if any(s.slack is not None for s in scenarios) else {}
    return World(parameters=reads, account=account, region=region)


def replay(paths: list[str], world: World | None = None) -> dict[str, Any]:
    scenarios = [load(p) for p in paths]  # all input errors before anything runs
    own = world is None
    if world is None:
        world = world_for(scenarios)
    if own:
        world.start()
    replayer = Replayer(world)
    try:
        for scenario in scenarios:
            replayer.check(scenario)
        steps = [s for scenario in scenarios for s in replayer.run(scenario)]
        tables = {lid: world.table_items(lid) for lid in world.observed_tables()}
        # The world's set-up calls (each scenario's `world`), by name: what was there before the first step.
        setup = [str(call["call"]) for scenario in scenarios for call in scenario.world]
        return {"steps": steps, "tables": tables, "buckets": world.buckets(), "world": setup}
    finally:
        replayer.close()
        if own:
            world.stop()


def _said(status: int, answer: str) -> str:
    """The gateway's HTTP answer as a person reads it: the status, and a dialog it answered with in words."""
    try:
        view = json.loads(answer).get("view") or {} if answer else {}
    except (ValueError, AttributeError):
        return f"{status} {answer}"
    if not view:
        return f"{status} {answer}".rstrip()
    text = " ".join((b.get("text") or {}).get("text", "") for b in view.get("blocks") or [] if b.get("text"))
    return f"{status}, the dialog \u201c{(view.get('title') or {}).get('text', '')}\u201d: {text}"
