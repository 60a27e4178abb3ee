"""The human form of a replay document: the story, one line per thing a person would notice.

Who was told what (messages, folded across audiences when they say the same thing), who was paged or
un-paged (and the runbook the page names), what Warden changed in AWS and why (its calls, grouped by the
resource they change, beside the message that explains them), what the ledger now says, and which inputs
reached nothing and why. Warden's own bookkeeping (its state and idempotency tables, mid-run ledger
updates) is shown only with `verbose`. The world's set-up calls fold into one "world:" line. Every line is
wrapped at `width` columns. A summary closes it.

The renderer is generic over effect kinds: each kind has a describer in `DESCRIBERS`, and a kind it does
not know is still printed (its fields, clipped) and counted in the summary, so a new step or effect in a
story never disappears from the timeline.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections import Counter
from collections.abc import Callable
from typing import Any

from warden.ledger.approvers import PERSON_PREFIX
from warden.ledger.view import person_text
from warden_local.observe import READ_PREFIXES as READS
from warden_local.story import short_principal

WIDTH = 100
INDENT = "    "
MARKS = {"message": "✉", "page": "☎", "item": "▤", "call": "⚙", "dead_letter": "✗", "chat": "💬"}
# Tables whose writes are Warden's own bookkeeping (shown with --verbose only); every other table is shown.
BOOKKEEPING_TABLES = frozenset({"StateTable", "IdempotencyTable"})
LEDGER_TABLE = "LedgerTable"
PAGE_ACTIONS = {"trigger": "triggered", "resolve": "resolved", "acknowledge": "acknowledged"}
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED", "CANCELLED", "ROLLED_BACK"})
SEVERITY_ORDER = {"critical": 0, "high": 1, "warning": 2, "info": 3}
# The identifying parameter of a changed resource, in order of preference; else the first string parameter.
TARGET_KEYS = ("Bucket", "pipelineName", "name", "deploymentId", "applicationName", "FunctionName", "QueueUrl",
               "AlarmName", "TopicArn")


def audience(topic: str) -> str:
    """OnCallTopic -> on-call, ApproversTopic -> approvers; any other topic by its own name."""
    known = {"OnCallTopic": "on-call", "ApproversTopic": "approvers", "TeamTopic": "team", "ChatTopic": "chat"}
    return known.get(topic, topic.removesuffix("Topic").lower() or topic)


def incident(dedup_key: str) -> str:
    """A page's dedup key as a name: pipeline-warden/111122223333/us-east-1/pipeline/payments-api ->
    pipeline/payments-api (the account and region are the world's; the full key is in --json)."""
    parts = re.split(r"[/#]", dedup_key.removeprefix("pipeline-warden/"))
    kept = [p for p in parts if p and not re.fullmatch(r"\d{12}|[a-z]{2}(-[a-z]+)+-\d", p)]
    return "/".join(kept) or dedup_key


def _wrap(text: str, indent: str = INDENT, width: int = WIDTH) -> list[str]:
    lines: list[str] = []
    for n, paragraph in enumerate(text.split("\n")):
        first = indent if n == 0 else indent + "    "
        lines += textwrap.wrap(paragraph, width=width, initial_indent=first, subsequent_indent=indent + "    ",
                               break_on_hyphens=False, break_long_words=True) or [first.rstrip()]
    return lines


# -- effects ------------------------------------------------------------------------------------------
def _messages(effects: list[dict[str, Any]], verbose: bool) -> list[str]:
    """One line per distinct message (subject), naming every audience that received it."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for effect in effects:
        groups.setdefault(str(effect.get("subject") or effect.get("event") or "?"), []).append(effect)
    lines = []
    for subject, same in groups.items():
        who = ", ".join(dict.fromkeys(audience(str(e.get("topic", "?"))) for e in same))
        line = f"{MARKS['message']} {who}: {subject}"
        for effect in same[:1]:
            body = str(effect.get("body", ""))
            found = [b.removeprefix("Finding: ") for b in body.splitlines() if b.startswith("Finding: ")]
            line += "".join(f"\n- {f}" for f in found)
            reason = next((b.removeprefix("Skipped because: ") for b in body.splitlines()
                           if b.startswith("Skipped because: ")), None)
            if reason:
                line += f"\nwhy: {reason}"
        lines.append(line)
    return lines


def _page(effect: dict[str, Any], _: bool) -> str | None:
    action, key = effect.get("action"), incident(str(effect.get("dedup_key", "")))
    if action == "trigger":
        runbook = str((effect.get("custom_details") or {}).get("runbook") or "").split(" (")[0]
        severity = effect.get("severity") or "?"
        return (f"{MARKS['page']} pages on-call ({severity}): {effect.get('summary', key)}"
                + (f"\nrunbook: {runbook}" if runbook else ""))
    if action == "resolve":
        return f"{MARKS['page']} page resolved: {key}"
    return f"{MARKS['page']} page {action}: {key}"


def _ledger(effects: list[dict[str, Any]], verbose: bool) -> list[str]:
    """What the ledger now says: a run recorded or finished, what runs where. Mid-run updates: verbose only."""
    said = []
    for effect in effects:
        item = effect.get("item") or {}
        if item.get("kind") == "execution" or str(effect.get("key", {}).get("sk", "")) == "EXECUTION":
            status = str(item.get("status") or "recorded")
            if effect.get("op") == "put" or status in TERMINAL or verbose:
                said.append(_run(item, status))
        elif str(effect.get("key", {}).get("pk", "")).startswith("CURRENT#") and item:
            said.append(f"{item.get('pipeline', '?')}/{item.get('stage', '?')} runs "
                        f"{str(item.get('commit_id') or item.get('execution_id') or '?')[:7]}")
        elif verbose:
            said.append(" ".join(str(v) for v in (effect.get("key") or {}).values()) + f" {effect.get('op')}")
    if not said:
        return []
    return [f"{MARKS['item']} ledger: " + "; ".join(_fold_current(said))]


# Execution ids whose first 8 characters another id of the same story shares: shown whole (set by `render`).
_AMBIGUOUS: set[str] = set()


def short_id(value: Any) -> str:
    text = str(value or "?")
    return text if text[:8] in _AMBIGUOUS else text[:8]


def _remember_ids(doc: dict[str, Any]) -> None:
    ids: set[str] = set()
    for step in doc.get("steps", []):
        for effect in step.get("effects") or []:
            item = effect.get("item") or {}
            ids.update(str(item[k]) for k in ("execution_id", "rollback_target") if isinstance(item.get(k), str))
    prefixes = Counter(i[:8] for i in ids)
    _AMBIGUOUS.clear()
    _AMBIGUOUS.update(p for p, n in prefixes.items() if n > 1)


def _run(item: dict[str, Any], status: str) -> str:
    """One ledger execution as a sentence: its run, status, approver, and a rollback's relation to it."""
    run = short_id(item.get("execution_id"))
    kind = "rollback run" if item.get("execution_type") == "ROLLBACK" else "run"
    text = f"{item.get('pipeline', '?')} {kind} {run} {status}"
    # Decided from chat: the person (warden.ledger.approvers), not the gateway's role CodePipeline recorded.
    approver = next((person_text(v) for k, v in sorted(item.items())
                     if k.startswith(PERSON_PREFIX) and isinstance(v, dict) and v.get("decision") == "approve"), None) \
        or next((short_principal(v.get("by")) for k, v in sorted(item.items())
                 if k.startswith("approval:") and isinstance(v, dict) and v.get("by")), None)
    if approver and status in TERMINAL:
        text += f" (approved by {approver})"
    undone = item.get("rolled_back")
    if isinstance(undone, dict):
        text += (f", rolled back to {short_id(undone.get('target_execution_id'))} "
                 f"(alarm {undone.get('alarm', '?')})")
    cause = item.get("rollback_cause")
    if isinstance(cause, dict):
        text += f" to {short_id(item.get('rollback_target'))} (alarm {cause.get('alarm', '?')})"
    return text


def _fold_current(said: list[str]) -> list[str]:
    """`a/Build runs c7d8e9f; a/Deploy runs c7d8e9f` -> `a runs c7d8e9f in Build, Deploy`."""
    out: list[str] = []
    runs: dict[tuple[str, str], list[str]] = {}
    for line in said:
        head, sep, commit = line.partition(" runs ")
        if sep and "/" in head and " " not in head:
            pipeline, _, stage = head.partition("/")
            runs.setdefault((pipeline, commit), []).append(stage)
        else:
            out.append(line)
    out += [f"{p} runs {c} in {', '.join(sorted(stages))}" for (p, c), stages in runs.items()]
    return out


def _item(effect: dict[str, Any], verbose: bool) -> str | None:
    if not verbose and effect.get("table") in BOOKKEEPING_TABLES:
        return None
    key = " ".join(str(v) for v in (effect.get("key") or {}).values())
    return f"{MARKS['item']} {effect.get('table')} {effect.get('op')} {key}"


def _target(params: dict[str, Any]) -> str:
    for key in TARGET_KEYS:
        if isinstance(params.get(key), str):
            value = params[key]
            if key == "pipelineName" and isinstance(params.get("stageName"), str):
                value += f"/{params['stageName']}"
            return value
    return next((v for v in params.values() if isinstance(v, str)), "")


# What Warden did in Slack (world.slack_effects), said as a person in the channel sees it: buttons as
# `[Approve] [Reject]`, an updated message that lost its buttons as such, a channel by its name when known.
SLACK_SAID = {"ChatPostMessage": "posted in {channel}", "ChatUpdate": "updated its message in {channel} for everyone",
              "ViewsOpen": "showed the person a dialog \u201c{title}\u201d"}


def _slack(effect: dict[str, Any]) -> str:
    params = effect.get("params") or {}
    operation = str(effect.get("api", "")).partition(":")[2]
    where = {"channel": f"#{params['channel_name']}"} if params.get("channel_name") else {}
    said = SLACK_SAID.get(operation, operation).format_map({"channel": "?", "title": "?", **params, **where})
    thread = " (in the thread)" if params.get("thread_ts") else ""
    buttons = params.get("buttons")
    if operation == "ChatUpdate" and buttons == []:
        thread += " (no buttons now)"
    text = str(params.get("text") or "").replace("*", "")  # mrkdwn bold, as the reader sees it: plain
    shown = " ".join(f"[{label}]" for label in buttons or [])
    return f"{MARKS['chat']} Slack: Warden {said}{thread}: {text}{' ' + shown if shown else ''}".rstrip(": ")


def _calls(effects: list[dict[str, Any]], why: str | None, verbose: bool) -> list[str]:
    """Warden's changes in AWS, one line per resource changed (its calls listed), and why (the step's message).
    What it did in Slack is said apart, one line per call, as the channel sees it."""
    groups: dict[tuple[str, str], list[str]] = {}
    chat = [_slack(e) for e in effects if str(e.get("api", "")).startswith("slack:")]
    for effect in effects:
        service, _, operation = str(effect.get("api", "?:?")).partition(":")
        if service == "slack":
            continue
        params = effect.get("params") or {}
        extra = ""
        if verbose:
            extra = " " + json.dumps(params, sort_keys=True, default=str)[:200]
        elif isinstance(params.get("targetPipelineExecutionId"), str):
            extra = f" to {short_id(params['targetPipelineExecutionId'])}"
        groups.setdefault((service, _target(params)), []).append(operation + extra)
    lines = []
    for (service, target), operations in groups.items():
        line = f"{MARKS['call']} Warden changed {service} {target}: {', '.join(operations)}"
        lines.append(line + (f"\nwhy: {why}" if why else ""))
    return chat + lines


def _dead_letter(effect: dict[str, Any], _: bool) -> str:
    return f"{MARKS['dead_letter']} dead letter in {effect.get('function')}'s queue: {effect.get('error')}"


def _other(effect: dict[str, Any], _: bool) -> str:
    fields = {k: v for k, v in effect.items() if k != "kind"}
    text = json.dumps(fields, sort_keys=True, default=str)
    return f"· {effect.get('kind', '?')}: {text[:300]}{'…' if len(text) > 300 else ''}"


# One describer per effect kind that is described one effect at a time; messages, ledger items and calls
# are described per step (they fold). A kind missing here is printed by `_other`.
DESCRIBERS: dict[str, Callable[[dict[str, Any], bool], str | None]] = {
    "page": _page, "item": _item, "dead_letter": _dead_letter,
}


def _why(effects: list[dict[str, Any]]) -> str | None:
    """The step's most severe message: what a change Warden made in the same step was for."""
    messages = [e for e in effects if e.get("kind") == "message"]
    if not messages:
        return None
    top = min(messages, key=lambda e: SEVERITY_ORDER.get(str(e.get("severity")), 9))
    return str(top.get("subject") or top.get("event"))


def effect_lines(effects: list[dict[str, Any]], verbose: bool = False) -> list[str]:
    """The step's effects as lines (each may hold `\\n` continuations), in the order a person reads them:
    messages, pages, changes in AWS, the ledger, dead letters, anything else; bookkeeping last."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for effect in effects:
        by_kind.setdefault(str(effect.get("kind")), []).append(effect)
    lines = _messages(by_kind.pop("message", []), verbose)
    lines += [x for e in by_kind.pop("page", []) if (x := _page(e, verbose))]
    lines += _calls(by_kind.pop("call", []), _why(effects), verbose)
    items = by_kind.pop("item", [])
    lines += _ledger([e for e in items if e.get("table") == LEDGER_TABLE], verbose)
    lines += [x for e in items if e.get("table") != LEDGER_TABLE if (x := _item(e, verbose))]
    for kind, rest in by_kind.items():
        describe = DESCRIBERS.get(kind, _other)
        lines += [x for e in rest if (x := describe(e, verbose))]
    return lines


# -- steps ----------------------------------------------------------------------------------------------
def _is_setup(step: dict[str, Any]) -> bool:
    """A call made outside Warden by nobody in particular, that changed nothing Warden shows: set-up."""
    return str(step.get("input", "")).startswith("call:") and not step.get("by") and not step.get("effects")


def _counted(calls: list[str]) -> str:
    counts = Counter(calls)
    return ", ".join(f"{c} ×{n}" if n > 1 else c for c, n in counts.items())


def _what(step: dict[str, Any]) -> str:
    return str(step.get("what") or step.get("input", "?"))


def render(doc: dict[str, Any], verbose: bool = False, width: int = WIDTH) -> str:
    _remember_ids(doc)
    lines: list[str] = []
    if doc.get("world"):
        lines += _wrap(f"world: {_counted([str(c) for c in doc['world']])} (set up before the story)", "")
    steps = doc["steps"]
    n = 0
    day = None
    while n < len(steps):
        step = steps[n]
        at = str(step.get("at", ""))
        if at[:10] != day:
            day = at[:10]
            lines.append(f"── {day} ──")
        clock = at[11:19] or at
        run = [step] if _is_setup(step) and not verbose else []
        while (run and n + len(run) < len(steps) and _is_setup(steps[n + len(run)])
               and steps[n + len(run)].get("at") == step.get("at")):
            run.append(steps[n + len(run)])
        # Calls made together, or reads, set the world up; one change on its own is someone doing something.
        if run and (len(run) > 1 or str(step["input"]).partition(":")[2].partition(":")[2].startswith(READS)):
            first, last = n + 1, n + len(run)
            numbers = f"{first}" if first == last else f"{first}-{last}"
            calls = _counted([str(s["input"]).removeprefix("call:") for s in run])
            lines += _wrap(f"{numbers:>3}  {clock}  world: {calls} (outside Warden)", "", width)
            n += len(run)
            continue
        n += 1
        if str(step.get("input", "")).startswith("call:"):
            who = short_principal(step.get("by")) if step.get("by") else "someone"
            head = f"{n:>3}  {clock}  {who} calls {str(step['input']).removeprefix('call:')} (outside Warden)"
        else:
            routed = ", ".join(step.get("routed_to") or [])
            head = f"{n:>3}  {clock}  {_what(step)}" + (f" → {routed}" if routed else "")
        lines += _wrap(head, "", width)
        note = str(step.get("note") or "")
        if note:
            not_routed = not step.get("routed_to") and not str(step.get("input", "")).startswith("call:")
            lines += _wrap(("not routed: " if not_routed and note.startswith("no route") else "") + note,
                           INDENT, width)
        shown = effect_lines(step.get("effects") or [], verbose)
        for line in shown:
            lines += _wrap(line, INDENT, width)
        if not shown and step.get("routed_to"):
            hidden = len(step.get("effects") or [])
            lines += _wrap("· no message, page or change" + (f" ({hidden} bookkeeping write(s): --verbose)"
                                                              if hidden else ""), INDENT, width)
    lines += summary(doc, width)
    if verbose:
        lines += [f"{table}: {len(items)} item(s)" for table, items in doc.get("tables", {}).items()]
    return "\n".join(lines)


# -- summary --------------------------------------------------------------------------------------------
def totals(doc: dict[str, Any]) -> dict[str, Any]:
    """What happened over the whole story, counted from the effects (the summary's numbers)."""
    opened: dict[str, None] = {}
    resolved: dict[str, None] = {}
    pages: Counter[str] = Counter()
    audiences: Counter[str] = Counter()
    events: Counter[str] = Counter()
    changes: Counter[str] = Counter()
    changed: dict[str, set[str]] = {}
    dead: list[str] = []
    other: Counter[str] = Counter()
    chat = 0
    for step in doc["steps"]:
        notices = set()
        for effect in step.get("effects") or []:
            kind = effect.get("kind")
            if kind == "message":
                audiences[audience(str(effect.get("topic", "?")))] += 1
                notices.add((effect.get("event"), effect.get("subject")))
            elif kind == "page":
                pages[str(effect.get("action"))] += 1
                key = str(effect.get("dedup_key"))
                (opened if effect.get("action") == "trigger" else resolved if effect.get("action") == "resolve"
                 else {})[key] = None
            elif kind == "call" and str(effect.get("api", "")).startswith("slack:"):
                chat += 1
            elif kind == "call":
                service, _, operation = str(effect.get("api", "?:?")).partition(":")
                changes[service] += 1
                changed.setdefault(service, set()).add(_target(effect.get("params") or {}))
            elif kind == "dead_letter":
                dead.append(str(effect.get("function")))
            elif kind != "item":
                other[str(kind)] += 1
        events.update(event for event, _ in notices)
    return {"opened": list(opened), "resolved": [k for k in resolved if k in opened] + [
                k for k in resolved if k not in opened], "pages": pages, "audiences": audiences,
            "events": events, "changes": changes, "changed": changed, "dead_letters": dead, "other": other,
            "chat": chat}


def summary(doc: dict[str, Any], width: int = WIDTH) -> list[str]:
    t = totals(doc)
    ev, pages = t["events"], t["pages"]
    still_open = [k for k in t["opened"] if k not in t["resolved"]]
    lines = ["── summary ──"]
    said = [
        f"incidents: {len(t['opened'])} opened, {len([k for k in t['opened'] if k in t['resolved']])} resolved"
        + (f"; still open: {', '.join(incident(k) for k in still_open)}" if still_open else ""),
        "pages: " + (", ".join(f"{n} {PAGE_ACTIONS.get(a, a)}" for a, n in pages.items()) or "none"),
        "messages: " + (", ".join(f"{a} {n}" for a, n in sorted(t["audiences"].items())) or "none"),
        f"approvals: {ev['approval.needed']} requested, {ev['approval.escalated']} reminded or escalated, "
        f"{ev['approval.approved']} approved, {ev['approval.rejected']} rejected",
        f"rollbacks: {ev['rollback.started']} started, {ev['rollback.skipped']} skipped",
        "changes in AWS: " + ("; ".join(
            f"{service} {n} call(s) on {', '.join(sorted(t['changed'][service]))}"
            for service, n in sorted(t["changes"].items())) or "none"),
        f"artifact findings: {ev['artifact.noncompliant']} report(s)",
        *([f"Slack: {t['chat']} post(s), update(s) or dialog(s) by Warden"] if t["chat"] else []),
        "dead letters: " + (f"{len(t['dead_letters'])} ({', '.join(sorted(set(t['dead_letters'])))})"
                            if t["dead_letters"] else "none"),
    ]
    if t["other"]:
        said.append("other effects: " + ", ".join(f"{k} {n}" for k, n in sorted(t["other"].items())))
    for line in said:
        lines += _wrap(line, "  ", width)
    return lines
