"""The human form of a replay document: a timeline, one block per step."""

from __future__ import annotations

import json
from typing import Any

MARKS = {"message": "✉", "page": "☎", "item": "▤", "call": "⚙", "dead_letter": "✗"}


def _effect(effect: dict[str, Any]) -> str:
    kind = effect["kind"]
    mark = MARKS.get(kind, "·")
    if kind == "message":
        line = f"{mark} {effect['topic']:<15} {effect['subject']}"
        if effect.get("event") == "artifact.noncompliant":  # what was found, and what was done about it
            found = [b.removeprefix("Finding: ") for b in str(effect.get("body", "")).splitlines()
                     if b.startswith("Finding: ")]
            line += "".join(f"\n        - {f}" for f in found)
        return line
    if kind == "page":
        summary = f"  {effect['summary']}" if effect.get("summary") else ""
        return f"{mark} PagerDuty       {effect['action']} {effect['dedup_key']}{summary}"
    if kind == "item":
        key = " ".join(f"{v}" for v in effect["key"].values())
        return f"{mark} {effect['table']:<15} {effect['op']} {key}"
    if kind == "call":
        return f"{mark} {effect['api']} {json.dumps(effect['params'], sort_keys=True)[:120]}"
    if kind == "dead_letter":
        return f"{mark} DLQ of {effect['function']}: {effect['error']}"
    return f"{mark} {effect}"


def render(doc: dict[str, Any]) -> str:
    lines = []
    for step in doc["steps"]:
        note = str(step.get("note") or "")
        routed = ", ".join(step["routed_to"]) or (
            "made outside Warden" if step["input"].startswith("call:") else
            "not heard by Warden now" if note.startswith(("delivered to Warden", "never delivered")) else "no route")
        lines.append(f"{step['at']}  {step['input']}  → {routed}")
        if step.get("note"):
            lines.append(f"    {step['note']}")
        lines += [f"    {_effect(e)}" for e in step["effects"]] or ["    (no effect)"]
    for table, items in doc.get("tables", {}).items():
        lines.append(f"{table}: {len(items)} item(s)")
    return "\n".join(lines)
