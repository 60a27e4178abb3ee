"""What an alarm about a pipeline stage calls for, decided from the ledger and CodePipeline (pure functions).

The ledger says which execution each stage ran, since when, and which release ran before it (the rollback
target); GetPipelineState says what runs in the stage right now. Everything is compared on CloudWatch's own
transition time, never the delivery time, so a late or redelivered event reaches the same decision as a
timely one, and an alarm older than the deployment it would roll back never acts.

The ledger can lag: DeploymentTracker may not have recorded the release's stage end (or the release at all)
when the alarm arrives. CodePipeline's live state then decides (`Known`): which execution the stage ran last
(GetPipelineState), when it started and when it last changed (ListPipelineExecutions), when its actions
finished (GetPipelineState's action states), or the stage's own SUCCEEDED event when that is what brought the
news. A skip that only lacks knowledge is `provisional`: RollbackTrigger decides again when the knowledge
arrives. A skip on positive evidence (an older release, outside the window, a rollback, no target) is final.
A stage that started less than a bake window before the alarm cannot have ended more than one before it, so
the release's start alone can prove an alarm within the window; only its end can prove one outside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from warden.core import clock

ROLLBACK = "ROLLBACK"
RUNNING = {"InProgress", "Stopping"}
ENDED = {"SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED", "CANCELED"}


@dataclass
class Plan:
    """`action`: "rollback_stage", "stop_and_rollback" or "none"; `skip` says why not, when Warden holds back."""

    action: str
    release: dict[str, Any] = field(default_factory=dict)  # the execution rolled back (ledger view)
    target: dict[str, Any] = field(default_factory=dict)  # the execution rolled back to (ledger view)
    skip: str | None = None
    would: str | None = None  # what Warden would have done (for a skip)
    deployed_at: str | None = None
    provisional: bool = False  # the skip only lacks knowledge that is still to come (decided again then)
    # The alarm came while the release deployed or within its bake window (known, not provisional): when Warden
    # does not roll it back (dry run, cooldown, no valid target, a refusal), the release failed all the same
    # (warden.ledger.changes, `alarm_in_bake`).
    in_bake: bool = False

    @property
    def release_id(self) -> str | None:
        return self.release.get("execution_id")

    @property
    def target_id(self) -> str | None:
        return self.target.get("execution_id")


@dataclass
class Known:
    """What CodePipeline itself says of executions beyond the ledger (read when the ledger lags)."""

    starts: dict[str, datetime] = field(default_factory=dict)  # execution -> when it started
    ends: dict[str, datetime] = field(default_factory=dict)  # execution -> when it finished the stage
    # execution -> when an execution that ended last changed: the stage ended then at the latest
    finished: dict[str, datetime] = field(default_factory=dict)


def _stage(view: dict[str, Any], stage: str) -> dict[str, Any]:
    return (view.get("stages") or {}).get(stage) or {}


def succeeded_in(view: dict[str, Any], stage: str) -> bool:
    if _stage(view, stage).get("status") == "SUCCEEDED":
        return True
    # A standard execution that succeeded ran every stage, even when its stage's end is not recorded yet (the
    # ledger may hold the stage's STARTED and the execution's SUCCEEDED, the stage's SUCCEEDED still to come).
    return view.get("execution_type") != ROLLBACK and view.get("status") == "SUCCEEDED"


def running_in(view: dict[str, Any], stage: str) -> bool:
    return _stage(view, stage).get("status") in ("STARTED", "RESUMED", "STOPPING") and \
        view.get("status") not in ENDED


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
               live: dict[str, Any] | None, known: Known | None = None) -> Plan:
    """`live`: the stage's latestExecution from GetPipelineState ({pipelineExecutionId, status, type}), if read;
    `known`: what CodePipeline says of the executions' times where the ledger does not (see the module)."""
    live = live or {}
    known = known or Known()
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
    latest = live.get("pipelineExecutionId") if live.get("status") == "Succeeded" else None
    if latest and (not done or done[0]["execution_id"] != latest):
        # CodePipeline's word on what the stage runs now, whether or not the ledger has caught up with it.
        current = by_id.get(latest) or {"execution_id": latest}
    elif done:
        current = done[0]
    else:
        return Plan("none", skip="no deployment of the stage is known to the ledger or to CodePipeline",
                    would="roll the stage back to the previous successful execution")
    if current.get("execution_type") == ROLLBACK:
        return Plan("none", release=current,
                    skip=f"the stage's current execution {current['execution_id']} is a rollback: "
                         "Warden never rolls back a rollback", would="nothing")
    release_id = current["execution_id"]
    started, ended = stage_times(current, stage) if release_id in by_id else (None, None)
    started = started or known.starts.get(release_id)
    ended = ended or known.ends.get(release_id)
    target, why = target_before(history, stage, release_id)
    would = (f"RollbackStage of {stage} from {release_id} to "
             f"{target['execution_id'] if target else 'an earlier execution'}")
    window = int(bake.total_seconds() // 60)
    # Why the alarm is not in the release's bake window (None: it is, and the release failed whatever is done).
    outside, provisional = None, False
    if started and at < started:
        outside = (f"the alarm changed state at {clock.iso(at)}, before the deployment of {release_id} "
                   f"started ({clock.iso(started)}): it is about an older release")
    elif ended is not None and at > ended + bake:
        outside = (f"outside the bake window: the stage finished at {clock.iso(ended)}, more than "
                   f"{window} minutes before the alarm")
    elif ended is None and known.finished.get(release_id) and at > known.finished[release_id] + bake:
        outside = (f"outside the bake window: execution {release_id} finished at "
                   f"{clock.iso(known.finished[release_id])}, more than {window} minutes before the alarm")
    elif ended is None and not (started and at <= started + bake):
        outside = (f"it is not known yet when {stage} of {release_id} finished (the ledger has not recorded "
                   f"it, CodePipeline does not say), so whether the alarm came within its {window}-minute "
                   "bake window is not known")
        provisional = True
    return Plan("rollback_stage", release=current, target=target or {}, would=would,
                deployed_at=clock.iso(ended) if ended else None, in_bake=outside is None, provisional=provisional,
                skip=outside or (None if target else f"no valid rollback target: {why}"))


def _plan_running(history: list[dict[str, Any]], stage: str, at: datetime, running: dict[str, Any]) -> Plan:
    """The release is still deploying: stop it, then roll the stage back to what it ran before."""
    started, _ = stage_times(running, stage)
    target, why = target_before(history, stage, None)
    if target and target["execution_id"] == running["execution_id"]:
        target, why = target_before(history, stage, running["execution_id"])
    would = (f"StopPipelineExecution of {running['execution_id']}, then RollbackStage of {stage} to "
             f"{target['execution_id'] if target else 'an earlier execution'}")
    older = (f"the alarm changed state at {clock.iso(at)}, before the deployment of {running['execution_id']} "
             f"started ({clock.iso(started)}): it is about an older release") if started and at < started else None
    return Plan("stop_and_rollback", release=running, target=target or {}, would=would, in_bake=older is None,
                skip=older or (None if target else f"no valid rollback target: {why}"))
