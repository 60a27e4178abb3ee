"""The incident record's bench section: NotificationRouter's AWS calls for each kind of failure event, now that
every failure records where it failed on its incident (warden.notify.incidents). On payments-api of the freeze
story: an incident opened by a stage's FAILED, one opened by a pipeline's FAILED (its enrichment finds the
stage: one more UpdateItem), a fold (the refused opening and the record: as many writes as the refused
opening and the refused take-over before), a muted failure while the incident is open (one UpdateItem), and a
failure older than the latest success (the refused opening only).

Run alone: `.venv/bin/python -m tests.benchmarks.bench --only incidents`.
"""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any


def measure(world: Any, _warm: Any = None) -> dict[str, Any]:
    from tests.benchmarks.bench import CallMeter
    from tests.integration.freeze.test_incident_scope import (
        STORY,
        T0,
        D,
        E,
        _event,
        action_failed,
        pipeline_failed,
        stage_failed,
        started,
    )
    from warden.core import clock
    from warden_local import fakes
    from warden_local.replay import Replayer, load

    Replayer(world)._setup(load(STORY))
    world.client("ssm").put_parameter(Name="/pipeline-warden/routing", Type="String", Overwrite=True, Value=json.dumps(
        {"rules": [{"name": "prod stage noise", "match": {"events": ["stage.failed"], "stages": ["Deploy-Prod"]},
                    "mute": True}]}))
    found: dict[str, Any] = {}

    def deliver(event: dict[str, Any], name: str | None = None) -> None:
        world.set_time(clock.parse_iso(event["time"]))
        fakes.apply_event(copy.deepcopy(event))
        with CallMeter() as meter:
            outcome = world.invoke("NotificationRouter", copy.deepcopy(event))
        if outcome.error:
            raise RuntimeError(f"NotificationRouter failed during the bench: {outcome.error}")
        if name:
            calls = {k: v for k, v in meter.calls.items() if not k.startswith("sqs:")}
            found[name] = {"calls": sum(calls.values()), "update_items": calls.get("dynamodb:UpdateItem", 0)}

    g = "a7000000-0000-4000-8000-00000000000a"
    deliver(started(D, T0))
    deliver(stage_failed(D, "Build", T0 + timedelta(minutes=5)), "opens_on_stage_failed")
    deliver(action_failed(D, "Build", T0 + timedelta(minutes=5, seconds=1)), "folds")
    deliver(started(E, T0 + timedelta(minutes=20)))
    deliver(stage_failed(E, "Deploy-Prod", T0 + timedelta(minutes=25)), "muted_while_open")
    deliver(_event("Pipeline", E, "SUCCEEDED", T0 + timedelta(minutes=30)))
    deliver(pipeline_failed(D, T0 + timedelta(minutes=5, seconds=5)), "older_than_the_success")
    deliver(started(g, T0 + timedelta(hours=1)))
    fakes.apply_event(action_failed(g, "Build", T0 + timedelta(hours=1, minutes=5)))
    deliver(pipeline_failed(g, T0 + timedelta(hours=1, minutes=5, seconds=5)), "opens_on_pipeline_failed")
    return {"incidents": found}
