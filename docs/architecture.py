"""Draws Warden's two pictures from its templates (hand-written SVG, no dependencies):

    make architecture     # or: .venv/bin/python docs/architecture.py

docs/architecture.svg (from template.yaml): what feeds each function (every EventBridge rule with the
service it listens to, every SNS subscription, schedule, function URL, queue mapping and the CodeDeploy
lifecycle hook), the functions, and what each function sends and changes, read from its policies and
environment: the topics it may publish to, the tables it writes, PagerDuty (it may read the routing key),
the AWS resources outside Warden it may change (mutating actions other than Warden's own tables, topics,
queues, keys and logs), the roles it may assume in workload accounts, and its dead-letter queue (with the
alarm on its depth and whom that alarm tells).

docs/accounts.svg (from template.yaml and workload-account.yaml): the tools account and one workload
account: the forwarding rules, the event bus policy that admits them, and the roles Warden assumes there.

Nothing is listed by hand: a rule, subscription or function added to a template is drawn the next time this
runs, and tests/integration/template/test_architecture_picture.py fails until the committed pictures are
redrawn.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "architecture.svg"
ACCOUNTS_OUT = ROOT / "docs" / "accounts.svg"

# Verbs that change nothing: a function allowed only these on a service reads it.
READS = ("Get", "List", "Describe", "BatchGet", "Query", "Scan", "Head", "Lookup", "Search", "Select", "Test",
         "Check", "Validate", "Receive", "Decrypt", "GenerateDataKey", "Encrypt")
# Services whose writes are Warden's own plumbing (drawn as topics, tables, queues), or telemetry.
OWN = {"dynamodb", "sns", "sqs", "kms", "logs", "xray", "ssm", "secretsmanager", "sts", "tag"}
SERVICES = {"aws.codepipeline": "CodePipeline", "aws.codedeploy": "CodeDeploy", "aws.cloudwatch": "CloudWatch alarms",
            "aws.s3": "S3", "aws.events": "EventBridge"}


# -- reading the template ----------------------------------------------------------------------------------
def _load(path: Path) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "local"))
    from warden_local.template import Template

    return Template(path).doc


def _ref(value: Any) -> str | None:
    """The logical id a `!Ref X`, `!GetAtt X.Attr` or `!Sub "${X.Arn}..."` names."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            return str(target[0] if isinstance(target, list) else str(target).split(".")[0])
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            if text.startswith("${") and "AWS::" not in text.split("}")[0]:
                return text[2:].split("}")[0].split(".")[0]
    return None


def _statements(policies: Any) -> list[dict[str, Any]]:
    """Every IAM statement of a function's Policies, inside `Fn::If` branches too."""
    found: list[dict[str, Any]] = []
    if isinstance(policies, list):
        for p in policies:
            found += _statements(p)
    elif isinstance(policies, dict):
        if "Action" in policies and policies.get("Effect", "Allow") == "Allow":
            found.append(policies)
        for key, value in policies.items():
            if key == "Fn::If" and isinstance(value, list):
                for branch in value[1:]:
                    found += _statements(branch)
            elif key in ("Statement",) or isinstance(value, list | dict) and key not in ("Condition", "Resource"):
                found += _statements(value)
    return found


def _policy_templates(policies: Any) -> list[tuple[str, dict[str, Any]]]:
    """SAM policy templates ({"SNSPublishMessagePolicy": {...}}) anywhere in Policies, `Fn::If` branches too."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(policies, list):
        for p in policies:
            found += _policy_templates(p)
    elif isinstance(policies, dict):
        for key, value in policies.items():
            if key.endswith("Policy") and isinstance(value, dict):
                found.append((key, value))
            elif key == "Fn::If" and isinstance(value, list):
                found += _policy_templates(value[1:])
    return found


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _resources(statement: dict[str, Any]) -> list[str]:
    res = statement.get("Resource")
    items = res if isinstance(res, list) else [res]
    return [r for r in (_ref(i) for i in items) if r]


def _actions(statement: dict[str, Any]) -> list[str]:
    act = statement.get("Action")
    return [str(a) for a in (act if isinstance(act, list) else [act]) if isinstance(a, str)]


def _default(doc: dict[str, Any], value: Any) -> str:
    """A `!Ref Parameter` as its default, for schedules and the like."""
    if isinstance(value, dict) and "Ref" in value:
        return str(doc.get("Parameters", {}).get(value["Ref"], {}).get("Default", value["Ref"]))
    return str(value)


@dataclass
class Trigger:
    name: str  # the rule, subscription or schedule as template.yaml names it
    kind: str  # EventBridge rule, SNS subscription, schedule, ...
    source: str  # what sends it (a service, a topic)
    line: str  # what it takes


@dataclass
class Function:
    name: str
    triggers: list[Trigger] = field(default_factory=list)
    effects: dict[str, str] = field(default_factory=dict)  # effect node id -> what it does there


@dataclass
class Effect:
    key: str
    title: str
    line: str
    changes: bool = False  # changes resources outside Warden
    queue: bool = False


def _pattern_line(pattern: dict[str, Any]) -> tuple[str, str]:
    sources = pattern.get("source") or []
    source = SERVICES.get(sources[0], sources[0]) if sources else "EventBridge"
    types = [str(t) for t in pattern.get("detail-type") or []]
    if types == ["AWS API Call via CloudTrail"]:
        names = (pattern.get("detail") or {}).get("eventName") or []
        return f"CloudTrail: {source} API calls", _clip(", ".join(map(str, names)), 44) or "API calls"
    words = {"CodeDeploy Deployment State-change Notification": "deployment",
             "CloudWatch Alarm State Change": "alarm state"}
    short = [words.get(t, t.replace("CodePipeline ", "").replace(" Execution State Change", "")) for t in types]
    state = (pattern.get("detail") or {}).get("state")
    states = ""
    if isinstance(state, list) and all(isinstance(s, str) for s in state):
        states = " " + "/".join(state)
    elif isinstance(state, dict) and isinstance(state.get("value"), list):
        states = " " + "/".join(map(str, state["value"]))
    return source, _clip(", ".join(short) + states, 44)


def read(template: Path) -> tuple[list[Function], dict[str, Effect]]:
    doc = _load(template)
    resources = doc.get("Resources", {})
    functions: dict[str, Function] = {lid: Function(lid) for lid, r in resources.items()
                                      if r.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")}
    effects: dict[str, Effect] = {}

    def effect(key: str, title: str, line: str, **kw: Any) -> str:
        effects.setdefault(key, Effect(key, title, line, **kw))
        return key

    for lid, fn in functions.items():
        res = resources[lid]
        props = res.get("Properties", {})
        for name, ev in (props.get("Events") or {}).items():
            p, kind = ev.get("Properties") or {}, ev.get("Type")
            if kind in ("EventBridgeRule", "CloudWatchEvent"):
                source, line = _pattern_line(p.get("Pattern") or {})
                fn.triggers.append(Trigger(name, "EventBridge rule", source, line))
            elif kind == "SNS":
                topic = _ref(p.get("Topic")) or "SNS topic"
                policy = p.get("FilterPolicy")
                line = f"filter on {', '.join(policy)}" if isinstance(policy, dict) else "every message"
                fn.triggers.append(Trigger(name, "SNS subscription", f"SNS: {topic}", line))
            elif kind in ("Schedule", "ScheduleV2"):
                expr = _default(doc, p.get("Schedule") or p.get("ScheduleExpression"))
                fn.triggers.append(Trigger(name, "schedule", "EventBridge schedules", expr))
            elif kind == "SQS":
                fn.triggers.append(Trigger(name, "queue", f"SQS: {_ref(p.get('Queue'))}", "event source mapping"))
            else:
                fn.triggers.append(Trigger(name, str(kind), str(kind), "event"))
        if props.get("FunctionUrlConfig"):
            auth = props["FunctionUrlConfig"].get("AuthType", "")
            fn.triggers.append(Trigger("FunctionUrl", "function URL", "HTTPS callers", f"auth {auth}"))
        if res.get("Metadata", {}).get("InvokedBy") == "codedeploy-lifecycle-hook":
            fn.triggers.append(Trigger("LifecycleHook", "lifecycle hook", "CodeDeploy lifecycle hooks",
                                       "appspec Hooks invoke it"))
        env = (props.get("Environment") or {}).get("Variables") or {}
        policies = props.get("Policies") or []
        for template_name, args in _policy_templates(policies):
            if template_name == "SNSPublishMessagePolicy" and (topic := _ref(args.get("TopicName"))):
                fn.effects[effect(topic, topic, "SNS topic")] = "publishes"
            if template_name == "AWSSecretsManagerGetSecretValuePolicy" and any("PAGERDUTY" in k for k in env):
                fn.effects[effect("PagerDuty", "PagerDuty", "Events API v2: trigger, resolve")] = "pages"
            if template_name in ("DynamoDBCrudPolicy", "DynamoDBWritePolicy") and (t := _ref(args.get("TableName"))):
                fn.effects[effect(t, t, "DynamoDB table")] = "writes"
        changes: dict[str, list[str]] = {}
        for statement in _statements(policies):
            for action in _actions(statement):
                service, _, verb = action.partition(":")
                if verb.startswith(READS) or "*" in verb:
                    continue
                if service == "dynamodb":
                    for table in _resources(statement):
                        if resources.get(table, {}).get("Type") == "AWS::DynamoDB::Table":
                            fn.effects[effect(table, table, "DynamoDB table")] = "writes"
                elif service == "sts" and verb == "AssumeRole":
                    fn.effects[effect("workload-roles", "Workload accounts' roles",
                                      "sts:AssumeRole (WorkloadRead/DeployRole)")] = "assumes"
                elif service not in OWN and not (service == "cloudwatch" and verb == "PutMetricData"):
                    changes.setdefault(service, [])
                    if verb not in changes[service]:
                        changes[service].append(verb)
        for service, verbs in changes.items():
            key = f"changes:{service}"
            current = effects.get(key)
            merged = sorted(set(verbs) | set(current.line.split(", ") if current else []))
            effects[key] = Effect(key, f"{service} (outside Warden)", ", ".join(merged), changes=True)
            fn.effects[key] = "changes"
        dlq = _ref((props.get("DeadLetterQueue") or {}).get("TargetArn"))
        if dlq:
            fn.effects[effect(dlq, dlq, _alarm_of(resources, dlq), queue=True)] = "dead letters"
    for lid, res in resources.items():  # triggers declared as resources of their own
        for fn_id, trigger in _standalone(doc, lid, res):
            if fn_id in functions:
                functions[fn_id].triggers.append(trigger)
    return list(functions.values()), effects


def _standalone(doc: dict[str, Any], lid: str, res: dict[str, Any]) -> list[tuple[str | None, Trigger]]:
    """An EventBridge rule, SNS subscription, EventBridge Scheduler schedule or queue mapping written as its
    own resource, with the function it invokes."""
    kind, props = res.get("Type"), res.get("Properties") or {}
    if kind == "AWS::Events::Rule" and props.get("EventPattern"):
        source, line = _pattern_line(props["EventPattern"])
        return [(_ref(t.get("Arn")), Trigger(lid, "EventBridge rule", source, line))
                for t in props.get("Targets") or [] if isinstance(t, dict)]
    if kind == "AWS::Events::Rule" and props.get("ScheduleExpression"):
        return [(_ref(t.get("Arn")), Trigger(lid, "schedule", "EventBridge schedules",
                                             _default(doc, props["ScheduleExpression"])))
                for t in props.get("Targets") or [] if isinstance(t, dict)]
    if kind == "AWS::Scheduler::Schedule":
        target = props.get("Target") or {}
        return [(_ref(target.get("Arn")), Trigger(lid, "schedule", "EventBridge schedules",
                                                  _default(doc, props.get("ScheduleExpression"))))]
    if kind == "AWS::SNS::Subscription" and props.get("Protocol") == "lambda":
        topic = _ref(props.get("TopicArn")) or "SNS topic"
        return [(_ref(props.get("Endpoint")), Trigger(lid, "SNS subscription", f"SNS: {topic}", "every message"))]
    if kind == "AWS::Lambda::EventSourceMapping":
        return [(_ref(props.get("FunctionName")), Trigger(lid, "queue", f"SQS: {_ref(props.get('EventSourceArn'))}",
                                                          "event source mapping"))]
    return []


def _alarm_of(resources: dict[str, Any], queue: str) -> str:
    """`depth alarm → OnCallTopic`: the alarm on a queue's depth, and the topic it notifies."""
    for lid, res in resources.items():
        if res.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        props = res.get("Properties", {})
        dims = props.get("Dimensions") or []
        if any(_ref(d.get("Value")) == queue for d in dims if isinstance(d, dict)):
            topics = [t for t in (_ref(a) for a in props.get("AlarmActions") or []) if t]
            return f"SQS dead-letter queue; depth alarm → {', '.join(topics) or lid}"
    return "SQS dead-letter queue (no depth alarm)"


# -- drawing -------------------------------------------------------------------------------------------
BOX_H, ROW, TOP = 40, 48, 110
COLS = {"source": (20, 230), "trigger": (300, 300), "function": (660, 250), "effect": (970, 330)}
WIDTH = 1320
STYLE = ("<style>"
         "text{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;fill:#1f2328}"
         ".title{font-size:13px;font-weight:600}.line{font-size:11px;fill:#57606a}"
         ".head{font-size:13px;font-weight:600;fill:#57606a;letter-spacing:.04em}"
         ".source rect{fill:#f6f8fa;stroke:#afb8c1}.trigger rect{fill:#fff;stroke:#afb8c1}"
         ".function rect{fill:#ddf4ff;stroke:#54aeff}.effect rect{fill:#f6f8fa;stroke:#afb8c1}"
         ".change rect{fill:#fff1e5;stroke:#fb8f44}.queue rect{fill:#ffebe9;stroke:#ff8182}"
         ".account>rect{fill:none;stroke:#8c959f;stroke-dasharray:6 4}"
         ".edge{fill:none;stroke-width:1.2}.edge.in{stroke:#8c959f}.edge.out{stroke:#0969da;opacity:.5}"
         ".edge.changes{stroke:#e16f24;stroke-width:2}.edge.queue{stroke:#cf222e;opacity:.5;stroke-dasharray:4 3}"
         ".legend{font-size:12px;fill:#57606a}</style>")
ARROWS = (("in", "#8c959f"), ("out", "#0969da"), ("changes", "#e16f24"), ("queue", "#cf222e"))


def _box(x: float, y: float, w: float, title: str, line: str, kind: str) -> str:
    chars = int((w - 16) / 6)  # 11px text: about 6px a character
    return (f'<g class="{kind}"><rect x="{x}" y="{y:.0f}" width="{w}" height="{BOX_H}" rx="6"/>'
            f'<text x="{x + 10}" y="{y + 17:.0f}" class="title">{escape(_clip(title, chars))}</text>'
            f'<text x="{x + 10}" y="{y + 32:.0f}" class="line">{escape(_clip(line, chars))}</text></g>')


def _edge(x1: float, y1: float, x2: float, y2: float, kind: str) -> str:
    middle = (x1 + x2) / 2
    return (f'<path d="M{x1:.0f},{y1:.0f} C{middle:.0f},{y1:.0f} {middle:.0f},{y2:.0f} {x2 - 4:.0f},{y2:.0f}" '
            f'class="edge {kind}" marker-end="url(#arrow-{kind})"/>')


def _edge_left(x1: float, y1: float, x2: float, y2: float, kind: str) -> str:
    """An edge drawn right to left (a function in the tools account to a role in a workload account)."""
    middle = (x1 + x2) / 2
    return (f'<path d="M{x1:.0f},{y1:.0f} C{middle:.0f},{y1:.0f} {middle:.0f},{y2:.0f} {x2 + 4:.0f},{y2:.0f}" '
            f'class="edge {kind}" marker-end="url(#arrow-{kind})"/>')


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    head = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" role="img" aria-label="{escape(label)}">', f"<title>{escape(label)}</title>", STYLE,
            "<defs>" + "".join(
                f'<marker id="arrow-{k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
                f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
                for k, c in ARROWS) + "</defs>"]
    return "\n".join([*head, *body, "</svg>"]) + "\n"


def draw(template: Path = ROOT / "template.yaml") -> str:
    functions, effects = read(template)
    triggers = [(fn.name, t) for fn in functions for t in fn.triggers]
    sources = list(dict.fromkeys(t.source for _, t in triggers))
    order = sorted(effects.values(), key=lambda e: (e.queue, e.changes, e.key == "PagerDuty",
                                                    e.line != "SNS topic", e.key))
    rows = max(len(triggers), len(order), len(functions) * 2)
    height = TOP + rows * ROW + 90

    def ys(count: int) -> list[float]:
        offset = (rows - count) * ROW / 2
        return [TOP + offset + i * ROW for i in range(count)]

    src_y = dict(zip(sources, ys(len(sources)), strict=True))
    trig_y = ys(len(triggers))
    fn_y = dict(zip([f.name for f in functions], ys(len(functions)), strict=True))
    eff_y = dict(zip([e.key for e in order], ys(len(order)), strict=True))
    (sx, sw), (tx, tw), (fx, fw), (ex, ew) = (COLS[c] for c in ("source", "trigger", "function", "effect"))
    mid = BOX_H / 2
    body = [
        f'<text x="{sx}" y="{TOP - 50}" class="head">SOURCES</text>',
        f'<text x="{sx}" y="{TOP - 32}" class="line">this account\'s, and what workload accounts forward</text>',
        f'<text x="{tx}" y="{TOP - 50}" class="head">RULES, SUBSCRIPTIONS, SCHEDULES</text>',
        f'<text x="{tx}" y="{TOP - 32}" class="line">each function\'s Events in template.yaml</text>',
        f'<text x="{fx}" y="{TOP - 50}" class="head">WARDEN FUNCTIONS</text>',
        f'<text x="{fx}" y="{TOP - 32}" class="line">Lambda, python3.13, arm64</text>',
        f'<text x="{ex}" y="{TOP - 50}" class="head">SENDS, WRITES AND CHANGES</text>',
        f'<text x="{ex}" y="{TOP - 32}" class="line">read from each function\'s policies and environment</text>',
    ]
    for (fn, t), y in zip(triggers, trig_y, strict=True):
        body.append(_edge(sx + sw, src_y[t.source] + mid, tx, y + mid, "in"))
        body.append(_edge(tx + tw, y + mid, fx, fn_y[fn] + mid, "in"))
    for fn in functions:
        for key in fn.effects:
            e = effects[key]
            kind = "queue" if e.queue else "changes" if e.changes else "out"
            body.append(_edge(fx + fw, fn_y[fn.name] + mid, ex, eff_y[key] + mid, kind))
    body += [_box(sx, src_y[s], sw, s, "", "source") for s in sources]
    body += [_box(tx, y, tw, t.name, f"{t.kind}: {t.line}", "trigger")
             for (_, t), y in zip(triggers, trig_y, strict=True)]
    body += [_box(fx, fn_y[f.name], fw, f.name, f"{len(f.triggers)} trigger(s), {len(f.effects)} effect(s)",
                  "function") for f in functions]
    body += [_box(ex, eff_y[e.key], ew, e.title, e.line, "queue" if e.queue else "change" if e.changes else "effect")
             for e in order]
    legend = height - 56
    body += [
        f'<path d="M{sx},{legend} h36" class="edge changes"/>',
        f'<text x="{sx + 44}" y="{legend + 4}" class="legend">changes resources outside Warden (none with '
        'artifacts mode "audit" and rollback mode "dry_run")</text>',
        f'<path d="M{sx},{legend + 20} h36" class="edge out"/>',
        f'<text x="{sx + 44}" y="{legend + 24}" class="legend">messages, pages, Warden\'s own tables</text>',
        f'<path d="M{sx},{legend + 40} h36" class="edge queue"/>',
        f'<text x="{sx + 44}" y="{legend + 44}" class="legend">an event that fails its retries ends in the '
        'dead-letter queue; its depth alarm tells on-call</text>',
    ]
    label = "Pipeline Warden, drawn from template.yaml: sources, rules, functions, and what they send and change"
    return _svg(WIDTH, int(height), label, body)


# -- the accounts picture -----------------------------------------------------------------------------------
def _assumed(template: Path) -> dict[str, set[str]]:
    """Function -> the workload roles it may assume ("read", "deploy"), from its sts:AssumeRole statements'
    resources (the role name parameters WorkloadReadRoleName / WorkloadDeployRoleName)."""
    doc = _load(template)
    found: dict[str, set[str]] = {}
    for lid, res in doc.get("Resources", {}).items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for statement in _statements(res.get("Properties", {}).get("Policies") or []):
            if "sts:AssumeRole" in _actions(statement):
                text = str(statement.get("Resource"))
                found.setdefault(lid, set()).update(k for k in ("read", "deploy") if k in text.lower())
    return found


def draw_accounts(template: Path = ROOT / "template.yaml",
                  workload: Path = ROOT / "workload-account.yaml") -> str:
    tools, work = _load(template).get("Resources", {}), _load(workload).get("Resources", {})
    rules = [(lid, r) for lid, r in work.items() if r.get("Type") == "AWS::Events::Rule"]
    roles = [(lid, r) for lid, r in work.items() if r.get("Type") == "AWS::IAM::Role"]
    queues = [lid for lid, r in work.items() if r.get("Type") == "AWS::SQS::Queue"]
    bus = [lid for lid, r in tools.items() if r.get("Type") == "AWS::Events::EventBusPolicy"]
    assumers = _assumed(template)
    forwarding = [lid for lid, _ in roles if "forward" in lid.lower()]
    assumed_roles = [(lid, r) for lid, r in roles if lid not in forwarding]
    rows = max(len(rules) + len(queues), 3 + len(assumers), len(forwarding) + len(assumed_roles) + 1)
    height = TOP + rows * ROW + 70
    ax, aw, bx, bw, tx, tw, rx = 20, 290, 340, 220, 690, 280, 1010
    mid = BOX_H / 2
    body = [
        f'<g class="account"><rect x="{ax - 10}" y="{TOP - 70}" width="{bx + bw - ax + 30}" '
        f'height="{rows * ROW + 80}" rx="10"/><text x="{ax}" y="{TOP - 48}" class="head">A WORKLOAD ACCOUNT'
        f'</text><text x="{ax}" y="{TOP - 30}" class="line">workload-account.yaml, deployed by a StackSet'
        '</text></g>',
        f'<g class="account"><rect x="{tx - 10}" y="{TOP - 70}" width="{WIDTH - tx}" height="{rows * ROW + 80}" '
        f'rx="10"/><text x="{tx}" y="{TOP - 48}" class="head">THE TOOLS ACCOUNT</text>'
        f'<text x="{tx}" y="{TOP - 30}" class="line">template.yaml: Pipeline Warden</text></g>',
    ]
    bus_y = TOP
    fwd_y = {lid: TOP + n * ROW for n, lid in enumerate(forwarding)}
    for n, (lid, rule) in enumerate(rules):
        y = TOP + n * ROW
        props = rule.get("Properties", {})
        source, line = _pattern_line(props.get("EventPattern") or {})
        role = next((_ref(t.get("RoleArn")) for t in props.get("Targets") or [] if isinstance(t, dict)), None)
        if role in fwd_y:
            body.append(_edge(ax + aw, y + mid, bx, fwd_y[role] + mid, "in"))
        else:
            body.append(_edge(ax + aw, y + mid, tx, bus_y + mid, "in"))
        body.append(_box(ax, y, aw, lid, f"{source}: {line}", "trigger"))
    for n, lid in enumerate(queues):
        body.append(_box(ax, TOP + (len(rules) + n) * ROW, aw, lid, "events that fail to forward", "queue"))
    for lid, y in fwd_y.items():
        body.append(_edge(bx + bw, y + mid, tx, bus_y + mid, "in"))
        body.append(_box(bx, y, bw, lid, "events:PutEvents to the tools bus", "trigger"))
    role_y: dict[str, float] = {}
    for n, (lid, role) in enumerate(assumed_roles):
        y = TOP + (rows - len(assumed_roles) + n) * ROW
        role_y[lid] = y
        actions = sorted({a for st in _statements(role.get("Properties", {}).get("Policies") or [])
                          for a in _actions(st)})
        changes = [a.partition(":")[2] for a in actions if not a.partition(":")[2].startswith(READS)]
        reads = sorted({a.partition(":")[0] for a in actions})
        line = ", ".join(changes) if changes else "reads " + ", ".join(reads)
        body.append(_box(bx, y, bw, lid, line or "role", "change" if changes else "effect"))
    body.append(_box(tx, bus_y, tw, "default event bus", "admits them: " + (" or ".join(bus) or "no policy"),
                     "source"))
    body.append(_edge(tx + tw, bus_y + mid, rx, bus_y + mid, "in"))
    body.append(_box(rx, bus_y, WIDTH - rx - 20, "Warden's rules and functions", "docs/architecture.svg",
                     "function"))
    for n, (fn, kinds) in enumerate(sorted(assumers.items())):
        y = TOP + (n + 2) * ROW
        body.append(_box(tx, y, tw, fn, "assumes the " + " and ".join(sorted(kinds)) + " role", "function"))
        for lid in role_y:
            if any(k in lid.lower() for k in kinds):
                kind = "changes" if "deploy" in lid.lower() else "out"
                body.append(_edge_left(tx, y + mid, bx + bw, role_y[lid] + mid, kind))
    label = "Pipeline Warden across accounts: forwarding rules, the event bus policy, and the roles Warden assumes"
    return _svg(WIDTH, int(height), label, body)


if __name__ == "__main__":
    OUT.write_text(draw())
    ACCOUNTS_OUT.write_text(draw_accounts())
    print(f"wrote {OUT.relative_to(ROOT)} and {ACCOUNTS_OUT.relative_to(ROOT)}")
