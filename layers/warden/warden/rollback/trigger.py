"""RollbackTrigger's domain: an alarm transition into ALARM -> the stages and deployment groups it guards ->
a decision per target -> StopDeployment, StopPipelineExecution + RollbackStage, or RollbackStage, or a
`rollback.skipped` notice saying why not and what Warden would have done.

Correct under redelivery and reordering because:
- the handler is idempotent on the transition (alarm + CloudWatch's state timestamp), so duplicates of the
  EventBridge event and of the SNS message of one transition act once;
- an alarm message that came over SNS is confirmed with CloudWatch first (warden.rollback.confirm): a forged,
  stale or suppressed one acts on nothing, and what is said about it is CloudWatch's record, not the message;
- a muted (alarm mute rule) or suppressed (composite) alarm acts on nothing on either path, and a target no tag
  grant covers is never acted on: each is told as `rollback.skipped` inside the transition's idempotent
  handling, without a claim, so its redeliveries say nothing more;
- each target is claimed in the state table with the transition's own time before anything is changed
  (warden.rollback.state): at most one rollback per stage or group per cooldown, however the alarm flaps and
  in whatever order its transitions arrive. The claim records the intent (action, release, target, the
  execution or deployment it stops) before the call; a retry of the owning transition resumes from that
  record and never re-plans from live state, which the first attempt may already have changed;
- an error answer is not a refusal until live state says the call did not take effect: a RollbackStage,
  StopPipelineExecution or StopDeployment whose answer was lost (botocore retried it and got "already
  rolling back" or "already stopped") is verified and counted as done;
- a refusal by CodePipeline or CodeDeploy is reported once and never retried (no retry storm); throttling and
  5xx are retried by botocore, then by Lambda under the same claim;
- CodeDeploy's own rollback deployments are never stopped, and Warden's rollback executions and stopped
  deployments are marked (RollbackMarks) so that the router does not page them a second time;
- one incident per release: a deployment group that a recently active pipeline stage deploys is that stage's
  target (one claim, one page), and the page is resolved when the rollback succeeds, a pipeline's rollback
  execution or CodeDeploy's rollback deployment;
- a skip for want of knowledge (the ledger has not caught up with the release's stage end, and CodePipeline's
  live state cannot tell either) is provisional (warden.rollback.decide): the transition is kept on the stage's
  item, and the stage's next event (SUCCEEDED, STOPPED, FAILED: RollbackTrigger hears them all) decides it
  again with what that event says, while CloudWatch still has the alarm in ALARM. The earliest such
  transition is kept, as in-order delivery would have acted on it; a claim clears it, and so does the final
  decision, conditionally on the transition, so a redelivered stage event decides nothing twice; the claim
  names the event that decided it, so a retry of that event resumes the claim. Only a skip on positive
  evidence is final, and every skip notice says which kind it is;
- the page is opened through the incident table (one incident per stage) before messages go out; the
  rollback's own pipeline events finish what an event-driven step left: the rollback after a stop once the
  stage stopped, and the resolution once the rollback execution succeeded, each guarded by a condition on
  the recorded execution id, so their redeliveries change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from warden.core import clock, links
from warden.core.errors import PermanentError
from warden.core.log import logger
from warden.core.scope import PipelineScope
from warden.ledger.refs import pipeline_ref
from warden.rollback.alarm import Transition
from warden.rollback.config import RollbackConfig
from warden.rollback.confirm import CONFIRMED, FORGED, SUPPRESSED, confirm, suppressed, verified
from warden.rollback.decide import Known, Plan, plan_stage, stage_times
from warden.rollback.mapping import AlarmMap, Target

if TYPE_CHECKING:  # the notifier, the ledger and the state are built on first use (runtime.container)
    from warden.ledger.notes import LedgerNotes
    from warden.ledger.view import LedgerReader
    from warden.notify.notice import Notice
    from warden.notify.notifier import Notifier
    from warden.rollback.state import RollbackMarks, RollbackState

HISTORY = 25  # executions of a pipeline read per decision: enough to find the previous release
ROLLBACK_TYPE = "ROLLBACK"
ACTIVE_DEPLOYMENTS = ["Created", "Queued", "InProgress", "Baking", "Ready"]
# CodePipeline's and CodeDeploy's refusals: reported, never retried.
REFUSALS = {
    "ConflictException", "UnableToRollbackStageException", "PipelineExecutionOutdatedException",
    "PipelineExecutionNotFoundException", "StageNotFoundException", "PipelineNotFoundException",
    "PipelineExecutionNotStoppableException", "DuplicatedStopRequestException", "ValidationException",
    "DeploymentAlreadyCompletedException", "DeploymentDoesNotExistException", "InvalidDeploymentIdException",
    "UnsupportedActionForDeploymentTypeException", "AccessDeniedException", "AccessDenied",
}


ROLLBACK_CREATOR = "codeDeployRollback"  # DeploymentInfo.creator of CodeDeploy's own rollback deployments
DENIED = {"AccessDenied", "AccessDeniedException"}


class RefusedAlarm(PermanentError):
    """An alarm input Warden will not act on, ever: forged, or from an account it does not trust."""


def _error_code(exc: Exception) -> str | None:
    return getattr(exc, "response", {}).get("Error", {}).get("Code")


def _utc(moment: Any) -> datetime:
    """A timestamp of an AWS answer (botocore gives datetimes) as an aware UTC datetime."""
    if isinstance(moment, int | float):
        return datetime.fromtimestamp(moment, UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _transition_from_key(key: str, reason: str | None) -> Transition:
    """The transition whose `Transition.key` is `key` ("ACCOUNT/REGION/ALARM@TIME"), into ALARM."""
    account, region, rest = key.split("/", 2)
    alarm, _, at = rest.rpartition("@")
    return Transition(alarm=alarm, account=account, region=region, state="ALARM", at=clock.parse_iso(at),
                      reason=reason or None)


def _client_error() -> type[Exception]:
    from botocore.exceptions import ClientError

    return ClientError


@dataclass
class RollbackOutcome:
    target: str
    status: str  # rolled_back | stopping | stopped_deployment | skipped | duplicate
    reason: str | None = None
    execution_id: str | None = None
    provisional: bool = False  # a skip for want of knowledge, decided again when it arrives


class RollbackTrigger:
    def __init__(self, *, notifier: Notifier, incidents: Any, state: RollbackState, ledger: LedgerReader,
                 access: Callable[[str], Any], config: Callable[[], RollbackConfig], alarms: AlarmMap | None = None,
                 own_account: str = "", notes: LedgerNotes | None = None, releases: Any = None,
                 marks: RollbackMarks | None = None, scope: PipelineScope | None = None) -> None:
        """`releases` (warden.notify.release.Releases) names the release in every notice, or says why not;
        `marks` records which executions and deployments are Warden's own (for the router); `notes` adds the
        cause of a rollback to the ledger (none: not recorded there); `scope`: the pipelines this stack owns
        (PipelineScope): an alarm's target of another pipeline is another stack's."""
        self._scope = scope or PipelineScope()
        self._notifier = notifier
        self._marks = marks
        self._releases = releases
        self._incidents = incidents
        self._state = state
        self._ledger = ledger
        self._access = access
        self._config = config
        self._alarms = alarms or AlarmMap(ledger=ledger, bake_minutes=lambda: self._config().bake_minutes)
        self._own = own_account
        self._notes = notes
        self._verified: dict[str, dict[str, Any]] = {}  # transition key -> CloudWatch's record (SNS, from admit)

    # -- alarms ---------------------------------------------------------------------------------------
    def admit(self, transition: Transition) -> dict[str, Any] | None:
        """Whether an alarm transition may act: None when it may; a result saying why not (suppressed, stale,
        unconfirmable); RefusedAlarm (dead-lettered with the reason) when it is forged or untrusted. An SNS
        message is confirmed with CloudWatch in the account and region it claims; an EventBridge event is
        AWS's own word."""
        # A muted or suppressed EventBridge transition goes on to on_alarm (once per transition), which tells
        # the team rollback.skipped and acts on nothing.
        trusts = getattr(self._access, "trusts", None)
        if trusts is not None and not trusts(transition.account):
            raise RefusedAlarm(f"alarm {transition.alarm}: account {transition.account} is not a trusted account "
                               "(TrustedAccountIds / OrganizationId); Warden neither reads nor acts there")
        if transition.via != "sns":
            return None
        if transition.arn_account and transition.arn_account != transition.account:
            raise RefusedAlarm(f"alarm message for {transition.alarm} claims account {transition.account} but its "
                               f"AlarmArn is in {transition.arn_account}")
        access = self._access(transition.account)
        if access is None:
            return self._not_acting("unconfirmed", transition, (
                f"the message claims alarm {transition.alarm} of workload account {transition.account}, and no "
                "WorkloadDeployRoleName lets Warden confirm it there: nothing acts on an unconfirmed message"))
        try:
            verdict = confirm(transition, access.client("cloudwatch", transition.region))
        except _client_error() as exc:
            if _error_code(exc) not in DENIED:
                raise  # throttling, 5xx: Lambda retries
            raise RefusedAlarm(f"alarm message for {transition.alarm}: CloudWatch of account {transition.account} "
                               f"({transition.region}) cannot be read to confirm it: {exc}") from None
        if verdict.status == FORGED:
            raise RefusedAlarm(f"alarm message not confirmed by CloudWatch: {verdict.reason}")
        if verdict.status not in (CONFIRMED, SUPPRESSED):
            return self._not_acting(verdict.status, transition, verdict.reason)
        self._verified[transition.key] = verdict.alarm  # what on_alarm says comes from CloudWatch, not the message
        return None

    @staticmethod
    def _not_acting(status: str, transition: Transition, reason: str) -> dict[str, Any]:
        logger.warning("alarm transition does not act", extra={"status": status, "alarm": transition.alarm,
                                                               "account": transition.account, "reason": reason})
        return {"status": status, "alarm": transition.alarm, "reason": reason}

    def on_alarm(self, transition: Transition) -> dict[str, Any]:
        if not transition.into_alarm:
            return {"status": "ignored", "reason": f"{transition.previous} -> {transition.state} is not into ALARM"}
        if transition.via == "sns":
            transition = verified(transition, self._verified.pop(transition.key, None))
        config = self._config()
        access = self._access(transition.account)
        mapped = self._alarms.targets(transition, config, access)
        targets = [t for t in mapped if self._scope.covers(t.pipeline)]
        if mapped and not targets:
            return {"status": "out_of_scope", "reason": "its pipelines are outside PipelineScope "
                    f"{self._scope}: " + ", ".join(sorted({str(t.pipeline) for t in mapped}))}
        held = transition.held_back  # muted (alarm mute rule) or suppressed (composite): CloudWatch acts on none
        if held and targets:
            self._not_acting("muted" if transition.muted else "suppressed", transition, held)
            outcomes = [self._skip(transition, t, Plan("none", would=self._would_any(t)), t.denied or held)
                        for t in targets]
            return {"status": "held_back", "alarm": transition.alarm, "reason": held,
                    "outcomes": [o.__dict__ for o in outcomes]}
        if not targets:
            if access is None:
                # Tags and stage conditions of that account are unreadable, and no rule names the alarm.
                logger.warning("alarm of a workload account that Warden cannot read, mapped by no rule",
                               extra={"alarm": transition.alarm, "account": transition.account})
                return {"status": "unmapped", "reason": "no WorkloadDeployRoleName to read the alarm's account"}
            return {"status": "unmapped", "reason": "no rollback rule or tag maps this alarm to a target"}
        outcomes = [self._act_on(transition, target, config, access) for target in targets]
        return {"status": "decided", "alarm": transition.alarm,
                "outcomes": [o.__dict__ for o in outcomes]}

    def _act_on(self, transition: Transition, target: Target, config: RollbackConfig, access: Any,
                again: Any = None) -> RollbackOutcome:
        """`again`: the stage event that brought the knowledge a provisional skip lacked (see `on_stage`)."""
        mode = target.mode or config.mode
        if target.denied:  # named by alarm tags that no tag grant covers (warden.rollback.mapping)
            return self._skip(transition, target, Plan("none", would=self._would_any(target)), target.denied)
        if access is None:
            return self._skip(transition, target, Plan("none", would=self._would_any(target)),
                              f"account {transition.account} is a workload account and no WorkloadDeployRoleName "
                              "is configured: Warden cannot act there")
        item = self._state.get(target.key)
        if item.get("owner") == transition.key and item.get("action"):
            # A retry of the transition that claimed the target: resume the recorded intent, never re-plan.
            return self._resume(transition, target, item, access)
        if target.group:
            outcome = self._deployment_group(transition, target, config, access, mode)
            if outcome is not None or not target.pipeline:
                return outcome or self._skip(
                    transition, target, Plan("none", would=f"StopDeployment of {target.deployment_group} with "
                                             "rollback"), f"no deployment of {target.deployment_group} is in progress")
        return self._pipeline_stage(transition, target, config, access, mode, again)

    @staticmethod
    def _would_any(target: Target) -> str:
        if target.pipeline:
            return f"roll {target.pipeline}/{target.stage} back to its previous successful execution"
        return f"StopDeployment of {target.deployment_group} with rollback"

    def _resume(self, transition: Transition, target: Target, item: dict[str, Any], access: Any) -> RollbackOutcome:
        action = item["action"]
        plan = self._plan_of(target, item)
        if item.get("mode") == "dry_run":
            return self._skip(transition, target, plan, "dry run (mode dry_run): Warden only says what it would do")
        if item.get("refused"):
            return self._skip(transition, target, plan, item["refused"])
        logger.info("resuming the recorded rollback intent", extra={"target": target.name, "action": action,
                                                                     "acted": bool(item.get("acted"))})
        if action == "stop_deployment":
            return self._stop_deployment(transition, target, plan, access.client("codedeploy", target.region or None),
                                         item, access)
        codepipeline = access.client("codepipeline", target.region or None)
        if action == "stop_and_rollback":
            return self._stop_then_rollback(transition, target, plan, codepipeline, item)
        return self._rollback_stage(transition, target, plan, codepipeline, item)

    def _plan_of(self, target: Target, item: dict[str, Any]) -> Plan:
        """The plan a claim recorded, with the executions' ledger views when the ledger has them."""
        release, goal = {"execution_id": item.get("release_execution", "")}, {}
        if item.get("target_execution"):
            goal = {"execution_id": item["target_execution"]}
        if target.pipeline and item.get("action") != "stop_deployment":
            ref = pipeline_ref(target.account, target.pipeline, self._own)
            by_id = {v["execution_id"]: v for v in self._ledger.history(ref, limit=HISTORY).items}
            release = by_id.get(release["execution_id"], release)
            goal = by_id.get(goal.get("execution_id"), goal) if goal else goal
        # A claim is made only for a plan that passed the window's checks: its alarm came in the release's bake.
        return Plan(item["action"], release=release, target=goal, would=item.get("would"),
                    in_bake=bool(target.pipeline) and item.get("action") != "stop_deployment")

    # -- CodeDeploy ---------------------------------------------------------------------------------
    def _deployment_group(self, transition: Transition, target: Target, config: RollbackConfig, access: Any,
                          mode: str) -> RollbackOutcome | None:
        codedeploy = access.client("codedeploy", target.region or None)
        ids = codedeploy.list_deployments(applicationName=target.application, deploymentGroupName=target.group,
                                          includeOnlyStatuses=ACTIVE_DEPLOYMENTS).get("deployments", [])
        if not ids:
            return None
        infos = codedeploy.batch_get_deployments(deploymentIds=ids[:25]).get("deploymentsInfo", [])
        # CodeDeploy's own rollback deployments (Warden's stop started them, or CodeDeploy's alarms did) are
        # never stopped: stopping one would leave the group on the release being rolled back.
        releases = [d for d in infos if d.get("creator") != ROLLBACK_CREATOR]
        if not releases:
            rollback = max(infos, key=lambda d: d["createTime"])["deploymentId"]
            return self._skip(transition, target, Plan("none", release={"execution_id": rollback}, would="nothing"),
                              f"CodeDeploy is rolling {target.deployment_group} back already (deployment {rollback}): "
                              "Warden never stops a rollback")
        newest = max(releases, key=lambda d: d["createTime"])
        deployment_id = newest["deploymentId"]
        plan = Plan("stop_deployment", release={"execution_id": deployment_id},
                    would=f"StopDeployment of {deployment_id} ({target.deployment_group}) with rollback")
        if transition.at < newest["createTime"]:
            return self._skip(transition, target, plan, (
                f"the alarm changed state at {clock.iso(transition.at)}, before deployment {deployment_id} "
                f"started ({clock.iso(newest['createTime'])}): it is about an older release"))
        claim = self._claim(transition, target, config, plan, mode, deployment_id=deployment_id)
        if not claim.granted:
            return self._cooldown(transition, target, plan, claim.item, config)
        if mode == "dry_run":
            return self._skip(transition, target, plan, "dry run (mode dry_run): Warden only says what it would do")
        return self._stop_deployment(transition, target, plan, codedeploy, claim.item, access)

    def _stop_deployment(self, transition: Transition, target: Target, plan: Plan, codedeploy: Any,
                         item: dict[str, Any], access: Any = None) -> RollbackOutcome:
        deployment_id = plan.release_id or ""
        execution = item.get("pipeline_execution") or None  # recorded by the pass that acted (a retry reads it)
        if not item.get("acted"):
            self._mark(target.account, f"codedeploy/{deployment_id}", target, transition)
            if target.pipeline and access is not None:
                # The pipeline execution whose action runs the deployment fails when it stops: its failure events
                # are this rollback's too (NotificationRouter folds them into its incident).
                execution = self._deploying(access.client("codepipeline", target.region or None), target, deployment_id)
                if execution:
                    self._mark(target.account, f"pipeline-run/{target.pipeline}/{execution}", target, transition,
                               deployment_id=deployment_id)
            self._mark(target.account, f"codedeploy-group/{target.application}/{target.group}", target, transition,
                       deployment_id=deployment_id)
            # A retry (an intent without `acted`) first asks whether the stop took effect.
            done = bool(item.get("action")) and self._deployment_stopped(codedeploy, deployment_id)
            if not done:
                try:
                    codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
                except _client_error() as exc:
                    if _error_code(exc) not in REFUSALS:
                        raise
                    # "Already completed" may be our own stop whose answer was lost: live state decides.
                    if not self._deployment_stopped(codedeploy, deployment_id):
                        return self._refused(transition, target, plan, f"CodeDeploy refused StopDeployment: {exc}")
            self._state.record(target.key, owner=transition.key, acted=True, deployment_id=deployment_id,
                               pipeline_execution=execution or "")
        if target.pipeline and execution:
            # That execution is rolled back by Warden (warden.ledger.changes), whatever CodeDeploy's rollback
            # deployment adds later; a plain SET after acting, so a retry writes the same note again.
            self._ledger_update(target.pipeline, execution, {"rolled_back": self._cause(transition, target) | {
                "stopped_deployment_id": deployment_id}})
        self._started(transition, target, plan, deployment_id=deployment_id)
        return RollbackOutcome(target.name, "stopped_deployment", execution_id=deployment_id)

    @staticmethod
    def _deploying(codepipeline: Any, target: Target, deployment_id: str) -> str | None:
        """The execution of the target's stage that runs `deployment_id` (an action's externalExecutionId), else
        the stage's running execution; None when CodePipeline will not say."""
        try:
            state = codepipeline.get_pipeline_state(name=target.pipeline)
        except _client_error() as exc:
            if _error_code(exc) not in REFUSALS:
                raise
            logger.warning("the stage's execution is unknown", extra={"target": target.name, "error": str(exc)})
            return None
        stage = next((s for s in state.get("stageStates", []) if s.get("stageName") == target.stage), {})
        latest = stage.get("latestExecution") or {}
        runs = [(a.get("latestExecution") or {}).get("externalExecutionId") for a in stage.get("actionStates", [])]
        if deployment_id in runs or latest.get("status") in ("InProgress", "Stopping"):
            return latest.get("pipelineExecutionId")
        return None

    @staticmethod
    def _deployment_stopped(codedeploy: Any, deployment_id: str) -> bool:
        infos = codedeploy.batch_get_deployments(deploymentIds=[deployment_id]).get("deploymentsInfo", [])
        return any(d.get("status") == "Stopped" for d in infos)

    def _refused(self, transition: Transition, target: Target, plan: Plan, reason: str) -> RollbackOutcome:
        """A refusal live state confirms: recorded (a retry re-tells it, never calls again) and told."""
        self._state.record(target.key, owner=transition.key, acted=True, refused=reason[:300])
        self._state.forget(target.key, "pending_execution", owner=transition.key)
        return self._skip(transition, target, plan, reason)

    # -- CodePipeline -------------------------------------------------------------------------------
    def _pipeline_stage(self, transition: Transition, target: Target, config: RollbackConfig, access: Any,
                        mode: str, again: Any = None) -> RollbackOutcome:
        ref = pipeline_ref(target.account, target.pipeline or "", self._own)
        history = [v for v in self._ledger.history(ref, limit=HISTORY).items  # that region's pipeline only
                   if not target.region or v.get("region") in (None, "", target.region)]
        codepipeline = access.client("codepipeline", target.region or None)
        try:
            # Read even when the ledger knows nothing of the pipeline: it may not have caught up yet.
            state = codepipeline.get_pipeline_state(name=target.pipeline)
        except _client_error() as exc:
            if _error_code(exc) not in REFUSALS:
                raise
            return self._skip(transition, target, Plan("none", would=self._would_any(target)),
                              f"CodePipeline refused GetPipelineState: {exc}")
        stage_state = next((s for s in (state or {}).get("stageStates", []) if s.get("stageName") == target.stage), {})
        live = stage_state.get("latestExecution")
        known = self._known(codepipeline, target, history, stage_state, again)
        plan = plan_stage(history=history, stage=target.stage or "", at=transition.at,
                          bake=timedelta(minutes=config.bake_minutes), live=live, known=known)
        if plan.skip and plan.provisional:
            if again is not None:  # decided again, and still not known: it stays to be decided, unsaid
                return RollbackOutcome(target.name, "skipped", reason=plan.skip, execution_id=plan.release_id,
                               provisional=True)
            return self._provisional(transition, target, plan, mode)
        # Decided again by a stage event, which is not idempotent as the alarm is: its skip is said once.
        log = self._incidents.event_effects(f"{transition.key}#decided") if again is not None else None
        if plan.skip:
            return self._skip(transition, target, plan, plan.skip, log=log)
        why = self._target_invalid(codepipeline, target, plan, state)
        if why:
            return self._skip(transition, target, plan, f"no valid rollback target: {why}", log=log)
        # The execution a stop leaves to roll back is part of the intent (never in a dry run: a person's stop
        # of that execution must not make Warden roll back what it was told only to watch).
        extra = {"pending_execution": plan.release_id} \
            if plan.action == "stop_and_rollback" and mode != "dry_run" else {}
        if again is not None:
            extra["decided_on"] = again.id  # a retry of that event resumes this claim (on_stage)
        claim = self._claim(transition, target, config, plan, mode, **extra)
        if not claim.granted:
            return self._cooldown(transition, target, plan, claim.item, config, log=log)
        if mode == "dry_run":
            return self._skip(transition, target, plan, "dry run (mode dry_run): Warden only says what it would do",
                              log=log)
        if plan.action == "stop_and_rollback":
            return self._stop_then_rollback(transition, target, plan, codepipeline, claim.item)
        return self._rollback_stage(transition, target, plan, codepipeline, claim.item)

    def _known(self, codepipeline: Any, target: Target, history: list[dict[str, Any]],
               stage_state: dict[str, Any], again: Any) -> Known:
        """What CodePipeline says of the stage's latest success beyond the ledger (warden.rollback.decide): read
        only when the ledger does not know when that execution finished the stage."""
        known = Known()
        if again is not None and again.detail.state == "SUCCEEDED":
            known.ends[again.detail.execution_id] = again.time  # the stage's own word on its end
        live = stage_state.get("latestExecution") or {}
        latest = live.get("pipelineExecutionId") if live.get("status") == "Succeeded" else None
        view = next((v for v in history if v["execution_id"] == latest), None)
        if not latest or latest in known.ends or (view and stage_times(view, target.stage or "")[1]):
            return known
        # Each action of the stage reports when its latest run (the stage's latest execution's) changed state.
        actions = stage_state.get("actionStates") or []
        changes = [(a.get("latestExecution") or {}) for a in actions]
        if actions and all(c.get("status") == "Succeeded" and c.get("lastStatusChange") for c in changes):
            known.ends[latest] = max(_utc(c["lastStatusChange"]) for c in changes)
            return known
        summaries = codepipeline.list_pipeline_executions(
            pipelineName=target.pipeline, maxResults=HISTORY).get("pipelineExecutionSummaries", [])
        summary = next((e for e in summaries if e.get("pipelineExecutionId") == latest), {})
        if summary.get("startTime"):
            known.starts[latest] = _utc(summary["startTime"])
        if summary.get("lastUpdateTime") and summary.get("status") in ("Succeeded", "Failed", "Stopped",
                                                                          "Superseded", "Cancelled"):
            known.finished[latest] = _utc(summary["lastUpdateTime"])
        return known

    def _provisional(self, transition: Transition, target: Target, plan: Plan, mode: str) -> RollbackOutcome:
        """A skip for want of knowledge: the transition is kept to be decided again when the stage's next event
        brings it (on_stage), and the notice says so."""
        self._state.await_knowledge(target.key, transition=transition.key, at=transition.at, fields={
            "alarm": transition.alarm, "account": transition.account, "region": transition.region,
            "reason": (transition.reason or "")[:500], "release": plan.release_id or "", "mode": mode,
            "since": clock.iso(clock.now())})
        return self._skip(transition, target, plan, plan.skip or "", provisional=True)

    def _rollback_stage(self, transition: Transition, target: Target, plan: Plan, codepipeline: Any,
                        item: dict[str, Any]) -> RollbackOutcome:
        rollback_id = item.get("rollback_execution_id")
        if rollback_id is None:
            self._mark(target.account, f"pipeline/{target.pipeline}/{plan.target_id}", target, transition)
            # A retry (an intent without a recorded rollback) first asks whether the call took effect.
            if item.get("action"):
                rollback_id = self._rollback_running(codepipeline, target, plan.target_id or "")
            if rollback_id is None:
                try:
                    rollback_id = codepipeline.rollback_stage(
                        pipelineName=target.pipeline, stageName=target.stage,
                        targetPipelineExecutionId=plan.target_id)["pipelineExecutionId"]
                except _client_error() as exc:
                    if _error_code(exc) not in REFUSALS:
                        raise
                    # "Already rolling back" may be our own call whose answer was lost: live state decides.
                    rollback_id = self._rollback_running(codepipeline, target, plan.target_id or "")
                    if rollback_id is None:
                        return self._refused(transition, target, plan, f"CodePipeline refused RollbackStage: {exc}")
            self._state.record(target.key, owner=transition.key, acted=True, rollback_execution_id=rollback_id)
        self._mark(target.account, f"pipeline/{target.pipeline}/{rollback_id}", target, transition)
        self._record_ledger(transition, target, plan, rollback_id)
        self._started(transition, target, plan, rollback_id=rollback_id)
        return RollbackOutcome(target.name, "rolled_back", execution_id=rollback_id)

    @staticmethod
    def _rollback_running(codepipeline: Any, target: Target, target_id: str) -> str | None:
        """The rollback of the stage to `target_id`, when the stage's latest execution is one (whoever's)."""
        state = codepipeline.get_pipeline_state(name=target.pipeline)
        latest = next((s.get("latestExecution") or {} for s in state.get("stageStates", [])
                       if s.get("stageName") == target.stage), {})
        execution_id = latest.get("pipelineExecutionId")
        if not execution_id or latest.get("type") not in (None, ROLLBACK_TYPE):
            return None
        execution = codepipeline.get_pipeline_execution(pipelineName=target.pipeline,
                                                        pipelineExecutionId=execution_id)["pipelineExecution"]
        metadata = execution.get("rollbackMetadata") or {}
        if execution.get("executionType") == ROLLBACK_TYPE and \
                metadata.get("rollbackTargetPipelineExecutionId") == target_id:
            return execution_id
        return None

    def _target_invalid(self, codepipeline: Any, target: Target, plan: Plan, state: dict | None) -> str | None:
        """CodePipeline's word on the target: a rollback, or run on an older structure of the pipeline."""
        try:
            execution = codepipeline.get_pipeline_execution(
                pipelineName=target.pipeline, pipelineExecutionId=plan.target_id)["pipelineExecution"]
        except _client_error() as exc:
            if _error_code(exc) not in REFUSALS:
                raise
            return f"CodePipeline does not know execution {plan.target_id} ({_error_code(exc)})"
        if execution.get("executionType") == "ROLLBACK":
            return f"the target {plan.target_id} is itself a rollback"
        current = (state or {}).get("pipelineVersion")
        if current is not None and execution.get("pipelineVersion") not in (None, current):
            return (f"the pipeline changed since {plan.target_id} ran (structure version "
                    f"{execution.get('pipelineVersion')}, now {current})")
        return None

    def _stop_then_rollback(self, transition: Transition, target: Target, plan: Plan, codepipeline: Any,
                            item: dict[str, Any]) -> RollbackOutcome:
        """Stop the running execution now; the rollback follows when its stage has stopped (on_stage). The
        execution to roll back after the stop is in the claim (the intent) before the stop is asked for, so
        the stage's STOPPED event finds it whatever happens to this invocation afterwards."""
        if not item.get("acted"):
            self._mark(target.account, f"pipeline/{target.pipeline}/{plan.target_id}", target, transition)
            done = bool(item.get("action")) and self._stopped(codepipeline, target, plan.release_id or "")
            if not done:
                try:
                    codepipeline.stop_pipeline_execution(
                        pipelineName=target.pipeline, pipelineExecutionId=plan.release_id, abandon=True,
                        reason=f"Pipeline Warden: alarm {transition.alarm} in ALARM; rolling {target.stage} back")
                except _client_error() as exc:
                    if _error_code(exc) not in REFUSALS:
                        raise
                    if not self._stopped(codepipeline, target, plan.release_id or ""):
                        return self._refused(transition, target, plan,
                                             f"CodePipeline refused StopPipelineExecution: {exc}")
            self._state.record(target.key, owner=transition.key, acted=True, pending_execution=plan.release_id)
        self._started(transition, target, plan)
        return RollbackOutcome(target.name, "stopping", execution_id=plan.release_id)

    @staticmethod
    def _stopped(codepipeline: Any, target: Target, execution_id: str) -> bool:
        execution = codepipeline.get_pipeline_execution(pipelineName=target.pipeline,
                                                        pipelineExecutionId=execution_id)["pipelineExecution"]
        return execution.get("status") in ("Stopping", "Stopped")

    def _mark(self, account: str, subject: str, target: Target, transition: Transition, **fields: Any) -> None:
        if self._marks is not None:
            self._marks.mark(account, subject, at=clock.now(), target_key=target.key, alarm=transition.alarm,
                             incident=self._incident_key(target, target.region or transition.region), **fields)

    # -- the rollback's own pipeline events -----------------------------------------------------------
    def on_stage(self, event: Any) -> dict[str, Any]:
        """A stage event: the stopped stage is rolled back now; the rollback's success resolves the page."""
        detail = event.detail
        target = Target(event.account, detail.pipeline, detail.stage, region=event.region)
        item = self._state.get(target.key)
        if not item:
            return {"status": "ignored", "reason": "Warden is rolling back nothing at this stage"}
        if detail.state == "SUCCEEDED" and item.get("rollback_execution_id") == detail.execution_id:
            return self._resolve(target, item, event)
        if detail.state in ("STOPPED", "FAILED", "CANCELED") and item.get("pending_execution") == detail.execution_id:
            return self._rollback_after_stop(target, item, event)
        if item.get("awaiting_transition") or (item.get("decided_on") == event.id and not item.get("decided")):
            return self._decide_again(target, item, event)
        return {"status": "ignored", "reason": f"{detail.state} of execution {detail.execution_id} is neither the "
                                               "stop Warden waits for nor its rollback's success"}

    # -- a provisional skip, decided again ----------------------------------------------------------
    def _decide_again(self, target: Target, item: dict[str, Any], event: Any) -> dict[str, Any]:
        """The stage's event may bring what a provisional skip lacked (its end, the release's success). While
        the alarm is still in ALARM, the transition is decided again as it would have been with that knowledge:
        it acts then, once (its claim names this event, so a retry of the event resumes it and a redelivery
        finds it decided), or is skipped for good, or stays to be decided."""
        access = self._access(target.account)
        if access is None:
            return {"status": "ignored", "reason": "no access to the account"}
        key = item.get("awaiting_transition") or item["owner"]
        transition = _transition_from_key(key, item.get("awaiting_reason") or item.get("alarm_reason"))
        config = self._config()
        again = Target(target.account, target.pipeline, target.stage,
                       mode=item.get("awaiting_mode") or item.get("mode"), sources=("decided again",))
        if item.get("awaiting_transition"):
            why = self._not_in_alarm(access, transition)
            if why:
                plan = Plan("none", release={"execution_id": item.get("awaiting_release") or ""},
                            would=self._would_any(again))
                self._skip(transition, again, plan, why, log=self._incidents.event_effects(f"{key}#decided"))
                self._state.awaited(target.key, key)
                return {"status": "skipped", "reason": why}
        outcome = self._act_on(transition, again, config, access, again=event)
        if not outcome.provisional:
            self._state.record(target.key, owner=key, condition="#decided_on = :event", values={":event": event.id},
                               decided=True)
            self._state.awaited(target.key, key)
        logger.info("provisional skip decided again", extra={"target": target.name, "alarm": transition.alarm,
                                                             "outcome": outcome.status, "event": event.id})
        return {"status": "decided_again", "outcome": outcome.__dict__}

    @staticmethod
    def _not_in_alarm(access: Any, transition: Transition) -> str | None:
        """Why the alarm no longer calls for a rollback (CloudWatch's word now), or None: still in ALARM."""
        try:
            answer = access.client("cloudwatch", transition.region).describe_alarms(
                AlarmNames=[transition.alarm], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        except _client_error() as exc:
            if _error_code(exc) not in DENIED:
                raise
            return f"CloudWatch cannot be read to tell whether alarm {transition.alarm} is still in ALARM: {exc}"
        alarm = next((a for a in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])
                      if a.get("AlarmName") == transition.alarm), None)
        if alarm is None:
            return f"alarm {transition.alarm} no longer exists"
        if alarm.get("StateValue") != "ALARM":
            since = alarm.get("StateUpdatedTimestamp")
            return (f"alarm {transition.alarm} is {alarm.get('StateValue')} again"
                    + (f" since {clock.iso(_utc(since))}" if since else "") + ": there is nothing to roll back")
        by = suppressed(alarm)
        return f"the actions of alarm {transition.alarm} are suppressed ({by})" if by else None

    def _rollback_after_stop(self, target: Target, item: dict[str, Any], event: Any) -> dict[str, Any]:
        access = self._access(event.account)
        if access is None:
            return {"status": "ignored", "reason": "no access to the account"}
        owner, stopped = item["owner"], item["pending_execution"]
        if item.get("rollback_execution_id"):
            return {"status": "duplicate", "reason": "the stage's rollback was started already"}
        transition = self._transition_of(item, event)
        codepipeline = access.client("codepipeline", event.region)
        goal = item["target_execution"]
        self._mark(target.account, f"pipeline/{target.pipeline}/{goal}", target, transition)
        try:
            rollback_id = codepipeline.rollback_stage(
                pipelineName=target.pipeline, stageName=target.stage,
                targetPipelineExecutionId=goal)["pipelineExecutionId"]
        except _client_error() as exc:
            if _error_code(exc) not in REFUSALS:
                raise
            # An earlier delivery's call whose answer (or record) was lost: the stage runs our rollback.
            rollback_id = self._rollback_running(codepipeline, target, goal)
            if rollback_id is None:
                # The transition that stopped it owns the stage; tell people once, whichever event got here.
                if self._state.record(target.key, condition="attribute_not_exists(#refused)", refused=str(exc)[:300]):
                    plan = Plan("stop_and_rollback", release={"execution_id": stopped},
                                target={"execution_id": goal}, would=f"RollbackStage of {target.stage} to {goal}")
                    self._skip(transition, target, plan, f"CodePipeline refused RollbackStage after the stop: {exc}")
                return {"status": "refused", "reason": str(exc)}
        # Only the first event after the stop records it; a redelivery finds it and stops here.
        if not self._state.record(target.key, condition="attribute_not_exists(#rollback_execution_id)",
                                  rollback_execution_id=rollback_id):
            return {"status": "duplicate", "reason": "another delivery recorded this rollback first"}
        self._mark(target.account, f"pipeline/{target.pipeline}/{rollback_id}", target, transition)
        plan = Plan("stop_and_rollback", release={"execution_id": stopped}, target={"execution_id": goal})
        self._record_ledger(transition, target, plan, rollback_id)
        logger.info("rolled back after the stop", extra={"stage": target.name, "owner": owner,
                                                          "rollback": rollback_id})
        return {"status": "rolled_back", "execution_id": rollback_id}

    # -- CodeDeploy's rollback of a deployment Warden stopped --------------------------------------------
    def on_deployment(self, event: Any) -> dict[str, Any]:
        """A deployment's SUCCESS: when it is CodeDeploy's rollback of a deployment Warden stopped, the page
        of that rollback is resolved (one GetItem for any other deployment; GetDeployment only then). A
        deployment's START: see `_codedeploy_rollback`."""
        detail = event.detail
        if detail.state == "START":
            return self._codedeploy_rollback(event)
        if detail.state != "SUCCESS" or self._marks is None:
            return {"status": "ignored", "reason": f"a deployment's {detail.state} resolves no rollback"}
        group = self._marks.get(event.account, f"codedeploy-group/{detail.application}/{detail.deployment_group}")
        if not group.get("deployment_id"):
            return {"status": "ignored", "reason": "Warden stopped no deployment of this deployment group"}
        access = self._access(event.account)
        if access is None:
            return {"status": "ignored", "reason": "no access to the account"}
        codedeploy = access.client("codedeploy", event.region)
        info = codedeploy.get_deployment(deploymentId=detail.deployment_id)["deploymentInfo"]
        stopped = (info.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId")
        if stopped != group["deployment_id"]:
            return {"status": "ignored", "reason": "not the rollback of the deployment Warden stopped"}
        item = self._state.get(group["target_key"])
        if item.get("deployment_id") != stopped or item.get("resolved_at"):
            return {"status": "duplicate", "reason": "this rollback's page was resolved already"}
        incident = self._incidents.succeeded(group["incident"], at=event.time)
        if incident is not None:
            self._notifier.settle(incident.dedup_key, log=self._incidents.effects(incident)).check()
            self._incidents.close(incident, event_id=event.id)
        self._state.record(group["target_key"], condition="attribute_not_exists(#resolved_at)",
                           resolved_at=clock.iso(event.time))
        return {"status": "resolved", "incident": group["incident"], "rollback_deployment": detail.deployment_id}

    def _codedeploy_rollback(self, event: Any) -> dict[str, Any]:
        """A deployment's START: when it is CodeDeploy's own rollback (creator codeDeployRollback) of a deployment
        an alarm or a failure ended (not a person's or Warden's StopDeployment: MANUAL_STOP), the pipeline
        execution whose deploy action ran the rolled-back deployment (ListActionExecutions' externalExecutionId)
        is noted `codedeploy_rollback` in the ledger (warden.ledger.changes). One GetDeployment per START, the
        rest only for a rollback. Every value comes from CodeDeploy's record, not the delivery: a redelivery
        writes the same note (plain SETs), and the execution's own events never remove it."""
        detail = event.detail
        access = self._access(event.account)
        if access is None or self._notes is None:
            return {"status": "ignored", "reason": "no access to the account" if access is None else "no ledger"}
        codedeploy = access.client("codedeploy", event.region)
        try:
            info = codedeploy.get_deployment(deploymentId=detail.deployment_id)["deploymentInfo"]
        except _client_error() as exc:
            # A START whose deployment CodeDeploy does not know (deleted with its application, or an input
            # that names none): nothing to attribute, and no retry would find it.
            if _error_code(exc) not in ("DeploymentDoesNotExistException", "InvalidDeploymentIdException"):
                raise
            return {"status": "ignored", "reason": f"CodeDeploy has no deployment {detail.deployment_id}: "
                                                   "no rollback of its to attribute"}
        failed_id = (info.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId")
        if info.get("creator") != ROLLBACK_CREATOR or not failed_id:
            return {"status": "ignored", "reason": "not a rollback deployment of CodeDeploy's"}
        failed = codedeploy.get_deployment(deploymentId=failed_id)["deploymentInfo"]
        code = (failed.get("errorInformation") or {}).get("code")
        if code == "MANUAL_STOP":
            return {"status": "ignored", "reason": f"deployment {failed_id} was stopped by StopDeployment (a person, "
                                                   "or Warden, which records its own rollbacks): not CodeDeploy's own"}
        found = self._deploying_run(access, event, detail.application, detail.deployment_group, failed_id)
        if found is None:
            logger.info("CodeDeploy rolled back a deployment no recently active pipeline ran",
                        extra={"deployment": failed_id, "rollback": detail.deployment_id})
            return {"status": "ignored", "reason": f"no recently active pipeline's deploy action ran {failed_id}"}
        pipeline, execution_id = found
        at = info.get("createTime") or failed.get("completeTime")  # the rollback began: the failure was known
        self._ledger_update(pipeline, execution_id, {"codedeploy_rollback": {
            "deployment_id": failed_id, "rollback_deployment_id": detail.deployment_id, "code": code,
            "at": clock.iso(_utc(at)) if at else None, "application": detail.application,
            "deployment_group": detail.deployment_group, "by": "CodeDeploy"}})
        return {"status": "noted", "execution_id": execution_id, "deployment": failed_id,
                "rollback_deployment": detail.deployment_id}

    def _deploying_run(self, access: Any, event: Any, application: str, group: str,
                       deployment_id: str) -> tuple[str, str] | None:
        """(pipeline, execution) whose action in the stage that deploys `application`/`group` ran `deployment_id`,
        among the account's recently active pipelines (warden.rollback.mapping); None when none did."""
        codepipeline = access.client("codepipeline", event.region)
        for pipeline, stage in self._alarms.deploying(event.account, event.time, access, application, group):
            pages = codepipeline.get_paginator("list_action_executions").paginate(
                pipelineName=pipeline, PaginationConfig={"MaxItems": 100, "PageSize": 100})
            for page in pages:  # newest first: the deployment's run is among the latest
                for run in page.get("actionExecutionDetails", []):
                    result = (run.get("output") or {}).get("executionResult") or {}
                    if run.get("stageName") == stage and result.get("externalExecutionId") == deployment_id:
                        return pipeline, run["pipelineExecutionId"]
        return None

    def _resolve(self, target: Target, item: dict[str, Any], event: Any) -> dict[str, Any]:
        if item.get("resolved_at"):
            return {"status": "duplicate", "reason": "this rollback's page was resolved already"}
        key = self._incident_key(target, event.region)
        incident = self._incidents.succeeded(key, at=event.time)
        if incident is not None:
            # The resolve is an effect of the incident: a retry after a failure resolves once.
            self._notifier.settle(incident.dedup_key, log=self._incidents.effects(incident)).check()
            self._incidents.close(incident, event_id=event.id)
        self._state.record(target.key, condition="attribute_not_exists(#resolved_at)",
                           resolved_at=clock.iso(event.time))
        self._ledger_update(target.pipeline or "", event.detail.execution_id,
                            {"rollback_outcome": {"status": "SUCCEEDED", "at": clock.iso(event.time)}})
        return {"status": "resolved", "incident": key}

    @staticmethod
    def _transition_of(item: dict[str, Any], event: Any) -> Transition:
        return Transition(alarm=item.get("alarm", "?"), account=event.account, region=event.region, state="ALARM",
                          at=clock.parse_iso(item["claimed_at"]), reason=item.get("alarm_reason"))

    # -- claims, ledger and notices -----------------------------------------------------------------
    def _claim(self, transition: Transition, target: Target, config: RollbackConfig, plan: Plan, mode: str,
               **intent: Any) -> Any:
        """The cooldown claim, which is also the intent: what is about to be done, written before it is."""
        fields = {"alarm": transition.alarm, "alarm_reason": (transition.reason or "")[:500], "action": plan.action,
                  "target_key": target.key, "release_execution": plan.release_id or "",
                  "target_execution": plan.target_id or "", "mode": mode, "would": plan.would or "",
                  "intent_at": clock.iso(clock.now()), **intent}
        return self._state.claim(target.key, transition=transition.key, at=transition.at,
                                 cooldown_s=config.cooldown_minutes * 60, fields=fields)

    def _cooldown(self, transition: Transition, target: Target, plan: Plan, item: dict[str, Any],
                  config: RollbackConfig, log: Any = None) -> RollbackOutcome:
        return self._skip(transition, target, plan, (
            f"cooldown: {target.name} was already handled for alarm {item.get('alarm')} at {item.get('claimed_at')}; "
            f"at most one rollback per {config.cooldown_minutes:g} minutes"), log=log)

    def _record_ledger(self, transition: Transition, target: Target, plan: Plan, rollback_id: str | None) -> None:
        """The ledger keeps the cause on the release rolled back and on the rollback execution."""
        cause = self._cause(transition, target)
        pipeline = target.pipeline or ""
        if plan.release_id:
            self._ledger_update(pipeline, plan.release_id, {"rolled_back": cause | {
                "rollback_execution_id": rollback_id, "target_execution_id": plan.target_id}})
        if rollback_id:
            self._ledger_update(pipeline, rollback_id, {
                "rollback_cause": cause | {"rolled_back_execution_id": plan.release_id},
                "execution_type": "ROLLBACK", "rollback_target": plan.target_id, "pipeline": pipeline,
                "execution_id": rollback_id, "account": target.account})

    @staticmethod
    def _cause(transition: Transition, target: Target) -> dict[str, Any]:
        return {"alarm": transition.alarm, "reason": (transition.reason or "")[:500],
                "alarm_at": clock.iso(transition.at), "stage": target.stage, "by": "RollbackTrigger"}

    def _alarm_in_bake(self, transition: Transition, target: Target, plan: Plan, reason: str) -> None:
        """The release an alarm fired on in its bake window, not rolled back by Warden: failed all the same. The
        earliest transition is kept (two of one alarm, or two alarms, in one window: the same fact in any
        order); a rollback of the release that follows stays its cause (warden.ledger.changes' precedence)."""
        if self._notes and target.pipeline and plan.release_id:
            self._notes.earliest(target.pipeline, plan.release_id, "alarm_in_bake", {
                "alarm": transition.alarm, "at": clock.iso(transition.at), "account": transition.account,
                "stage": target.stage, "reason": (transition.reason or "")[:500], "not_rolled_back": reason[:300],
                "by": "RollbackTrigger"}, order=("at", "alarm"))

    def _ledger_update(self, pipeline: str, execution_id: str, fields: dict[str, Any]) -> None:
        if self._notes and execution_id:
            self._notes.add(pipeline, execution_id, fields)  # plain SETs: a redelivery writes the same item

    def _incident_key(self, target: Target, region: str) -> str:
        return f"pipeline-warden/{target.account}/{region}/rollback/{target.name}"

    def _notice(self, event: str, transition: Transition, target: Target, plan: Plan) -> Notice:
        from warden.notify.notice import Notice  # an unmapped or skipped alarm never imports the notices

        release = plan.release or {}
        region = target.region or transition.region  # the stage's or group's region (the alarm's by default)
        notice = Notice(
            event=event, event_id=transition.key, time=transition.at, account=transition.account,
            region=region, state="ALARM", pipeline=target.pipeline, stage=target.stage,
            execution_id=release.get("execution_id") if target.pipeline else None,
            application=target.application, deployment_group=target.group,
            commit=release.get("commit_id"), commit_message=release.get("commit_message"),
            author=release.get("author"), alarm=transition.alarm, alarm_reason=transition.reason,
            not_acted_on="; ".join(target.dropped) or None)
        if plan.target:
            target_text = plan.target["execution_id"]
            if plan.target.get("commit_id"):
                target_text += f" (commit {plan.target['commit_id'][:7]}"
                target_text += f" by {plan.target['author']})" if plan.target.get("author") else ")"
            notice.rollback_target = target_text
        if target.pipeline and release.get("execution_id"):
            notice.links["execution"] = links.execution(region, target.pipeline, release["execution_id"])
        # What went wrong is the alarm's own reason; its console page (graph and history) is where to look.
        notice.error = transition.reason or f"alarm {transition.alarm} is in ALARM (no reason given)"
        notice.links["logs"] = (f"{links.CONSOLE}/cloudwatch/home?region={transition.region}#alarmsV2:alarm/"
                                f"{quote(transition.alarm)}")
        if self._releases is not None:
            self._releases.fill(notice)  # never raises: a notice without its release beats no notice
        return notice

    def _skip(self, transition: Transition, target: Target, plan: Plan, reason: str, *, provisional: bool = False,
              log: Any = None) -> RollbackOutcome:
        """Say why Warden holds back, and which kind of skip it is: final (on what is known), or provisional (for
        want of knowledge still to come: decided again when it arrives, while the alarm is in ALARM)."""
        if plan.in_bake and not provisional:
            self._alarm_in_bake(transition, target, plan, reason)
        notice = self._notice("rollback.skipped", transition, target, plan)
        notice.rollback_target = None  # nothing was rolled back: the target is in what Warden would have done
        notice.skipped_because = (f"provisional: {reason}; Warden decides again when the stage's next event brings "
                                  "it, if the alarm is still in ALARM then" if provisional else f"final: {reason}")
        notice.would_have = plan.would
        logger.warning("rollback skipped", extra={"target": target.name, "alarm": transition.alarm,
                                                  "reason": reason, "would": plan.would, "provisional": provisional})
        self._notifier.deliver(notice, log=log).check()
        return RollbackOutcome(target.name, "skipped", reason=reason, execution_id=plan.release_id,
                               provisional=provisional)

    def _started(self, transition: Transition, target: Target, plan: Plan, *, rollback_id: str | None = None,
                 deployment_id: str | None = None) -> None:
        notice = self._notice("rollback.started", transition, target, plan)
        notice.deployment_id = deployment_id
        if rollback_id and target.pipeline:
            notice.links["rollback"] = links.execution(notice.region, target.pipeline, rollback_id)
        key = self._incident_key(target, notice.region)
        decision = self._notifier.decide(notice)
        from warden.notify.incidents import Failure  # a rollback's incident is about a deployment (the gate's)

        incident = self._incidents.open(key, event_id=transition.key, execution_id=plan.release_id, at=transition.at,
                                        summary=f"alarm {transition.alarm} rolls back {target.title}",
                                        failure=Failure(transition.key, deployment=True))
        if incident is None:
            # The stage's incident is open already: the messages go out, no second page.
            self._notifier.deliver(notice, decision, log=self._incidents.event_effects(transition.key)).check()
            return
        summary = (f"{target.title}: alarm {transition.alarm} rolls back {plan.release_id or 'the release'}"
                   + (f" to {plan.target_id}" if plan.target_id else "")
                   + (f": {transition.reason}" if transition.reason else "")
                   + (f" (not acted on: {'; '.join(target.dropped)})" if target.dropped else ""))
        # Each publish and the page are effects of the incident: a retry redoes only what did not happen.
        delivery = self._notifier.deliver(notice, decision, log=self._incidents.effects(incident),
                                          page=incident.dedup_key, summary=summary)
        if delivery.page_failed:  # on-call was not paged: the redrive, or the stage's next incident, pages
            self._incidents.page_failed(key, delivery.page_failed)
        elif delivery.complete:
            self._incidents.notified(key)
        delivery.check()
