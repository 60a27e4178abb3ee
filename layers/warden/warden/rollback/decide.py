"""What an alarm about a pipeline stage calls for, decided from the ledger and CodePipeline (pure functions).

The ledger says which execution each stage ran, since when, and which release ran before it (the rollback
target); GetPipelineState says what runs in the stage right now. Everything is compared on CloudWatch's own
transition time, never the delivery time, so a late or redelivered event reaches the same decision as a
timely one, and an alarm older than the deployment it would roll back never acts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from warden.core import clock

ROLLBACK = "ROLLBACK"
RUNNING = {"InProgress", "Stopping"}


@dataclass
class Plan:
    """`action`: "rollback_stage", "stop_and_rollback" or "none"; `skip` says why not, when Warden holds back."""

    action: str
    release: dict[str, Any] = field(default_factory=dict)  # the execution rolled back (ledger view)
    target: dict[str, Any] = field(default_factory=dict)  # the execution rolled back to (ledger view)
    skip: str | None = None
    would: str | None = None  # what Warden would have done (for a skip)
    deployed_at: str | None = None

    @property
    def release_id(self) -> str | None:
        return self.release.get("execution_id")

    @property
    def target_id(self) -> str | None:
        return self.target.get("execution_id")


def _stage(view: dict[str, Any], stage: str) -> dict[str, Any]:
    return (view.get("stages") or {}).get(stage) or {}


def succeeded_in(view: dict[str, Any], stage: str) -> bool:
    status = _stage(view, stage).get("status")
    if status:
        return status == "SUCCEEDED"
    # A standard execution that succeeded ran every stage, even when its stage events were not recorded.
    return view.get("execution_type") != ROLLBACK and view.get("status") == "SUCCEEDED"


def running_in(view: dict[str, Any], stage: str) -> bool:
    return _stage(view, stage).get("status") in ("STARTED", "RESUMED", "STOPPING")


def stage_times(view: dict[str, Any], stage: str) -> tuple[datetime | None, datetime | None]:
    """When the execution entered and left the stage (the execution's own times when stage events are missing)."""
    times = _stage(view, stage)
    start = times.get("started_at") or view.get("started_at")
    end = times.get("ended_at") or (view.get("ended_at") if succeeded_in(view, stage) else None)
    return (clock.parse_iso(start) if start else None, clock.parse_iso(end) if end else None)


def _finished(view: dict[str, Any], stage: str) -> str:
    end = stage_times(view, stage)[1]
    return clock.iso(end) if end else ""


def successes(history: list[dict[str, Any]], stage: str) -> list[dict[str, Any]]:
    """Executions that succeeded in the stage, latest finish first."""
    found = [v for v in history if succeeded_in(v, stage)]
    return sorted(found, key=lambda v: _finished(v, stage), reverse=True)


def target_before(history: list[dict[str, Any]], stage: str, release_id: str | None) -> tuple[dict | None, str | None]:
    """The release that ran in the stage before `release_id` (or the latest, for None): its own execution, or,
    when that was a rollback, the standard execution it redeployed. (target, why there is none)."""
    done = successes(history, stage)
    if release_id is not None:
        ids = [v["execution_id"] for v in done]
        done = done[ids.index(release_id) + 1:] if release_id in ids else done
    if not done:
        return None, "no earlier successful execution of the stage is known"
    previous = done[0]
    if previous.get("execution_type") != ROLLBACK:
        return previous, None
    redeployed = previous.get("rollback_target")
    by_id = {v["execution_id"]: v for v in history}
    if redeployed and redeployed in by_id and by_id[redeployed].get("execution_type") != ROLLBACK:
        return by_id[redeployed], None
    return None, (f"the previous execution of the stage, {previous['execution_id']}, is itself a rollback and "
                  "the release it redeployed is not known")


def plan_stage(*, history: list[dict[str, Any]], stage: str, at: datetime, bake: timedelta,
               live: dict[str, Any] | None) -> Plan:
    """`live`: the stage's latestExecution from GetPipelineState ({pipelineExecutionId, status, type}), if read."""
    live = live or {}
    by_id = {v["execution_id"]: v for v in history}
    if live.get("type") == ROLLBACK or by_id.get(live.get("pipelineExecutionId"), {}).get("execution_type") == ROLLBACK:
        execution = live.get("pipelineExecutionId")
        return Plan("none", release=by_id.get(execution, {"execution_id": execution}),
                    skip=f"the stage already runs a rollback ({execution}): Warden never rolls back a rollback",
                    would="nothing")
    running = None
    if live.get("status") in RUNNING:
        running = by_id.get(live["pipelineExecutionId"]) or {"execution_id": live["pipelineExecutionId"]}
    elif not live:
        running = next((v for v in history if running_in(v, stage)), None)
    if running is not None:
        return _plan_running(history, stage, at, running)
    done = successes(history, stage)
    if not done:
        return Plan("none", skip="no deployment of the stage is known to the ledger",
                    would="roll the stage back to the previous successful execution")
    current = done[0]
    if live.get("pipelineExecutionId") and live["pipelineExecutionId"] != current["execution_id"] \
            and live.get("status") == "Succeeded":
        current = by_id.get(live["pipelineExecutionId"], current)
    if current.get("execution_type") == ROLLBACK:
        return Plan("none", release=current,
                    skip=f"the stage's current execution {current['execution_id']} is a rollback: "
                         "Warden never rolls back a rollback", would="nothing")
    started, ended = stage_times(current, stage)
    target, why = target_before(history, stage, current["execution_id"])
    would = (f"RollbackStage of {stage} from {current['execution_id']} to "
             f"{target['execution_id'] if target else 'an earlier execution'}")
    plan = Plan("rollback_stage", release=current, target=target or {}, would=would,
                deployed_at=clock.iso(ended) if ended else None)
    if started and at < started:
        plan.skip = (f"the alarm changed state at {clock.iso(at)}, before the deployment of {current['execution_id']} "
                     f"started ({clock.iso(started)}): it is about an older release")
    elif ended is None:
        plan.skip = "the ledger does not know when the stage finished"
    elif at > ended + bake:
        plan.skip = (f"outside the bake window: the stage finished at {clock.iso(ended)}, more than "
                     f"{int(bake.total_seconds() // 60)} minutes before the alarm")
    elif target is None:
        plan.skip = f"no valid rollback target: {why}"
    return plan


def _plan_running(history: list[dict[str, Any]], stage: str, at: datetime, running: dict[str, Any]) -> Plan:
    """The release is still deploying: stop it, then roll the stage back to what it ran before."""
    started, _ = stage_times(running, stage)
    target, why = target_before(history, stage, None)
    if target and target["execution_id"] == running["execution_id"]:
        target, why = target_before(history, stage, running["execution_id"])
    would = (f"StopPipelineExecution of {running['execution_id']}, then RollbackStage of {stage} to "
             f"{target['execution_id'] if target else 'an earlier execution'}")
    plan = Plan("stop_and_rollback", release=running, target=target or {}, would=would)
    if started and at < started:
        plan.skip = (f"the alarm changed state at {clock.iso(at)}, before the deployment of {running['execution_id']} "
                     f"started ({clock.iso(started)}): it is about an older release")
    elif target is None:
        plan.skip = f"no valid rollback target: {why}"
    return plan
