"""Building blocks for tests: sample events, scenarios on disk, and effect filters."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
# The contract lives in shared/ beside the checkout; the copy in tests/contract is for a lone clone.
_SHARED = ROOT.parent / "shared" / "contract" / "replay.schema.json"
_OURS = json.loads((ROOT / "tests" / "contract" / "replay.schema.json").read_text())
SCHEMA = json.loads(_SHARED.read_text()) if _SHARED.exists() else _OURS
# Warden's own notices (config.invalid, freeze.*) extend the shared vocabulary of `event`; the copy in
# tests/contract lists them. Everything else is checked against the shared contract as it is.
_EVENTS = SCHEMA["$defs"]["event"]["enum"]
_EVENTS += [e for e in _OURS["$defs"]["event"]["enum"] if e not in _EVENTS]
DEMO = json.loads((EVENTS / "scenarios" / "demo.json").read_text())


def sample(relative: str, **detail: Any) -> dict[str, Any]:
    """A sample event with a fresh id (a distinct delivery) and detail fields overridden."""
    event = json.loads((EVENTS / relative).read_text())
    event["id"] = str(uuid.uuid4())
    event["detail"].update(detail)
    return event


def pipeline_world() -> list[dict[str, Any]]:
    """The demo's real API calls: an IAM role and the payments-api pipeline (the alarm-rollback part of the
    demo, checkout-api, aside: tests/rollback_story.py has it)."""
    return [copy.deepcopy(c) for c in DEMO["world"] if "checkout" not in json.dumps(c)]


def write_scenario(tmp_path: Path, steps: list[dict[str, Any]], *, config: dict | None = None,
                   world: list | None = None, name: str = "scenario.json") -> str:
    doc = {"world": pipeline_world() if world is None else world, "config": config or {}, "steps": steps}
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def effects(doc: dict[str, Any], kind: str, **match: Any) -> list[dict[str, Any]]:
    return [e for step in doc["steps"] for e in step["effects"]
            if e["kind"] == kind and all(e.get(k) == v for k, v in match.items())]


def without_quiet_digest_mark(step_effects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A step's effects less the health watch's mark of a week with no flaky stage to tell.

    The first sweep of each ISO week records that week's digest as done, even when there was nothing to tell,
    so later sweeps do not query the ledger again. That mark is Warden's own bookkeeping; asserting it is a
    quiet mark (told, nothing sent) keeps the tests that count a sweep's effects exact about everything else."""
    marks = [e for e in step_effects if e["kind"] == "item" and e["key"].get("pk") == "pipeline-warden/health"
             and str(e["key"].get("sk", "")).startswith("digest#")]
    assert all(m["op"] == "put" and m["item"].get("opened_sent") is True for m in marks), marks
    return [e for e in step_effects if e not in marks]
