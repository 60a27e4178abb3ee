"""The bundled story that `warden demo` replays (events/scenarios/demo.json)."""

from warden_local.template import default_template

STORY = default_template().root / "events" / "scenarios" / "demo.json"
