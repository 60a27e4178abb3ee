"""Rollback benchmark: AWS calls per alarm event (goal: at most 6 for a decision) and warm time.

A decision is everything RollbackTrigger reads and claims to decide about one mapped alarm transition:
alarm tags (cached), the pipeline's ledger history, GetPipelineState, the target's GetPipelineExecution and the
cooldown claim. Idempotency (2 writes), messages and pages come on top and are listed separately.
"""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

from tests import rollback_story as story
from tests.benchmarks.bench import CallMeter
from warden_local.replay import Replayer, Scenario, Step

EVENTS = 100
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)
E1, E2 = "bench-rb-e1", "bench-rb-e2"


def _steps(raw: list[dict[str, Any]]) -> list[Step]:
    return [Step("bench", story.clock.parse_iso(s["at"]), event=s["event"]) for s in raw]


def _decisions(world: Any) -> dict[str, Any]:
    """Dry run with no cooldown: every transition goes the whole way to a decision (and says it)."""
    ssm = world.client("ssm")
    ssm.put_parameter(Name="/pipeline-warden/rollback", Type="String", Overwrite=True,
                      Value=json.dumps({"mode": "dry_run", "cooldown_minutes": 0, "tag_grants": story.GRANTS}))
    world._modules.pop("RollbackTrigger", None)  # a fresh container reads the document
    start = story.deploy_end(T1) + timedelta(minutes=10)
    events = [story.alarm_event(start + timedelta(seconds=n)) for n in range(EVENTS + 5)]
    for event in events[:5]:  # warm-up: imports, clients, tags and configuration caches
        world.invoke("RollbackTrigger", event)
    samples: list[float] = []
    with CallMeter() as meter:
        for event in events[5:]:
            before = meter.seconds
            outcome = world.invoke("RollbackTrigger", event)
            if outcome.error:
                raise RuntimeError(f"RollbackTrigger failed during the benchmark: {outcome.error}")
            samples.append(outcome.seconds - (meter.seconds - before))
    per = {k: round(v / EVENTS, 2) for k, v in sorted(meter.calls.items())}
    idempotency = 2.0  # powertools: PutItem (in progress) + UpdateItem (completed)
    notify = per.get("sns:Publish", 0) + per.get("pagerduty:enqueue", 0)
    total = sum(per.values())
    return {"warm_ms": round(statistics.median(samples) * 1000, 3), "calls_per_event": round(total, 2),
            "calls": per, "decision_calls_per_alarm": round(total - idempotency - notify, 2),
            "decision_goal": 6}


def _one_rollback(world: Any) -> dict[str, Any]:
    """Enforce mode: one alarm that rolls a stage back, every call it costs."""
    world.client("ssm").put_parameter(Name="/pipeline-warden/rollback", Type="String", Overwrite=True,
                                      Value=json.dumps({"cooldown_minutes": 0, "tag_grants": story.GRANTS}))
    world._modules.pop("RollbackTrigger", None)
    event = story.alarm_event(story.deploy_end(T1) + timedelta(minutes=20), alarm=story.ALARM)
    with CallMeter() as meter:
        outcome = world.invoke("RollbackTrigger", event)
    status = outcome.result["results"][0]["outcomes"][0]["status"]
    return {"status": status, "reason": outcome.result["results"][0]["outcomes"][0].get("reason"),
            "calls": sum(meter.calls.values()), "by_api": dict(sorted(meter.calls.items()))}


def _hook(world: Any, warm: Any) -> dict[str, Any]:
    cd = world.client("codedeploy")
    cd.create_application(applicationName="bench-hook", computePlatform="Lambda")
    cd.create_deployment_group(applicationName="bench-hook", deploymentGroupName="prod",
                               serviceRoleArn="arn:aws:iam::111122223333:role/codedeploy",
                               alarmConfiguration={"enabled": True, "alarms": [{"name": story.ALARM}]})
    deployment = cd.create_deployment(applicationName="bench-hook", deploymentGroupName="prod", revision={
        "revisionType": "AppSpecContent", "appSpecContent": {"content": "{}"}})["deploymentId"]
    return warm(world, "DeploymentValidationHook", [{"DeploymentId": deployment,
                                                     "LifecycleEventHookExecutionId": "bench-hook-execution"}])


def measure(world: Any, warm: Any) -> dict[str, Any]:
    releases = (story.release(E1, T0, commit="a1" * 20, author="Ana Lima")
                + story.release(E2, T1, commit="b2" * 20, author="Bo Chen"))
    Replayer(world).run(Scenario("rollback-bench", world=story.world(), steps=_steps(releases),
                                 config={"rollback": {"tag_grants": story.GRANTS}}))
    decisions = _decisions(world)
    rollback = _one_rollback(world)
    hook = _hook(world, warm)
    return {
        "handlers": {"RollbackTrigger": {k: decisions[k] for k in ("warm_ms", "calls_per_event", "calls")},
                     "DeploymentValidationHook": hook},
        "rollback": {"decision_calls_per_alarm": decisions["decision_calls_per_alarm"], "decision_goal": 6,
                     "calls_per_alarm_event": decisions["calls_per_event"], "warm_ms": decisions["warm_ms"],
                     "decision_calls": decisions["calls"], "one_rollback": rollback},
    }
