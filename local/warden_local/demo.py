"""The bundled story that `warden demo` replays (events/scenarios/demo.json).

Parts, in order: a failed build pages on-call; the fix waits for approval and is escalated; the release.
Artifacts (ArtifactGuard): the artifact bucket is fixed by merging at a scheduled pass, a person's removal of
its TLS statement is undone from the CloudTrail event, and the next pass writes nothing.
"""

from warden_local.template import default_template

STORY = default_template().root / "events" / "scenarios" / "demo.json"
