"""The bundled story that `warden demo` replays (events/scenarios/demo.json).

Parts, in order: a failed build pages on-call; the fix waits for approval and is escalated; the release.
Artifacts (ArtifactGuard): the artifact bucket is fixed by merging at a scheduled pass, a person's removal of
its TLS statement is undone from the CloudTrail event, and the next pass writes nothing.
"""

from typing import Any

from warden_local.template import default_template

STORY = default_template().root / "events" / "scenarios" / "demo.json"


def failures(doc: dict[str, Any]) -> list[str]:
    """What went wrong in a replayed story, one line per dead letter: the bundled story is meant to run clean,
    so a handler that crashed or rejected its input there is a failure. (Inputs no route accepts are part of
    the story: an alarm returning to OK, say.)"""
    return [f"{step['at']} {step['input']}: DLQ of {e['function']}: {e['error']}"
            for step in doc["steps"] for e in step["effects"] if e.get("kind") == "dead_letter"]
