"""Reads template.yaml: functions, their triggers and the resources they are wired to.

What runs locally is what is deployed: the replay runner takes every route (EventBridge patterns,
SNS subscriptions, schedules) and every environment variable from here.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

TAGS = ("Ref", "Condition")
FN_TAGS = ("GetAtt", "Sub", "If", "Join", "Split", "Select", "Equals", "Not", "And", "Or", "FindInMap",
           "GetAZs", "ImportValue", "Base64", "Cidr")


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics turned into their long form."""


def _constructor(name: str):
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}

    return construct


for _tag in TAGS:
    _Loader.add_constructor(f"!{_tag}", _constructor(_tag))
for _tag in FN_TAGS:
    _Loader.add_constructor(f"!{_tag}", _constructor(f"Fn::{_tag}"))


@dataclass(frozen=True)
class Trigger:
    name: str
    type: str  # EventBridgeRule, SNS, Schedule, ScheduleV2
    properties: dict[str, Any]


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, Any]
    triggers: list[Trigger]
    dead_letter_queue: Any = None  # unresolved TargetArn
    max_retries: int = 2
    metadata: dict[str, Any] = field(default_factory=dict)
    condition: str | None = None  # the template condition the function exists under (ApprovalGateway: HasSlack)

    @property
    def module_path(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_uri / (module.replace(".", "/") + ".py")

    @property
    def entry_point(self) -> str:
        return self.handler.rpartition(".")[2]


_PARSED: dict[tuple[Path, int, int], dict[str, Any]] = {}


def _parsed(path: Path) -> dict[str, Any]:
    """The template's document, parsed once per version of the file (every world reads it; parsing takes
    a quarter of a second). Each caller gets its own copy: worlds resolve and change it."""
    stat = path.stat()
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _PARSED:
        _PARSED[key] = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 (safe loader)
    return copy.deepcopy(_PARSED[key])


class Template:
    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.root = self.path.parent
        self.doc: dict[str, Any] = _parsed(self.path)
        self.resources: dict[str, dict[str, Any]] = self.doc.get("Resources", {})
        self.parameters: dict[str, dict[str, Any]] = self.doc.get("Parameters", {})
        self.conditions: dict[str, Any] = self.doc.get("Conditions", {})
        self.globals: dict[str, Any] = self.doc.get("Globals", {}).get("Function", {})

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {lid: res for lid, res in self.resources.items() if res.get("Type") == cfn_type}

    @property
    def functions(self) -> dict[str, Function]:
        found = {}
        for lid, res in self.of_type("AWS::Serverless::Function").items():
            props = res.get("Properties", {})
            env = dict(self.globals.get("Environment", {}).get("Variables", {}))
            env.update(props.get("Environment", {}).get("Variables", {}))
            triggers = [Trigger(name, ev["Type"], ev.get("Properties", {}))
                        for name, ev in props.get("Events", {}).items()]
            found[lid] = Function(
                logical_id=lid,
                code_uri=self.root / props["CodeUri"],
                handler=props.get("Handler", self.globals.get("Handler", "app.handler")),
                environment=env,
                triggers=triggers,
                dead_letter_queue=props.get("DeadLetterQueue", {}).get("TargetArn"),
                max_retries=props.get("EventInvokeConfig", {}).get("MaximumRetryAttempts", 2),
                metadata=res.get("Metadata", {}),
                condition=res.get("Condition"),
            )
        return found

    def tables(self) -> dict[str, dict[str, Any]]:
        return self.of_type("AWS::DynamoDB::Table")


def default_template() -> Template:
    """template.yaml at the repository root (the CLI runs from a checkout)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "template.yaml").exists():
            return Template(parent / "template.yaml")
    raise FileNotFoundError("template.yaml not found above " + str(here))
