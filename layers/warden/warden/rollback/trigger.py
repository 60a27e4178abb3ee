"""RollbackTrigger's domain: an alarm transition into ALARM -> the stages and deployment groups it guards ->
a decision per target -> StopDeployment, StopPipelineExecution + RollbackStage, or RollbackStage, or a
`rollback.skipped` notice saying why not and what Warden would have done.

Correct under redelivery and reordering because:
- the handler is idempotent on the transition (alarm + CloudWatch's state timestamp), so duplicates of the
  EventBridge event and of the SNS message of one transition act once;
- each target is claimed in the state table with the transition's own time before anything is changed
  (warden.rollback.state): at most one rollback per stage or group per cooldown, however the alarm flaps and
  in whatever order its transitions arrive; a retry of the owning transition resumes where it stopped;
- a refusal by CodePipeline or CodeDeploy is reported once and never retried (no retry storm); throttling and
  5xx are retried by botocore, then by Lambda under the same claim;
- the page is opened through the incident table (one incident per stage) before messages go out; the
  rollback's own pipeline events finish what an event-driven step left: the rollback after a stop once the
  stage stopped, and the resolution once the rollback execution succeeded, each guarded by a condition on
  the recorded execution id, so their redeliveries change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from warden.core import clock, links
from warden.core.log import logger
from warden.ledger.keys import execution_key, pipeline_ref, to_av
from warden.ledger.view import LedgerReader
from warden.notify.notice import Notice
from warden.notify.notifier import Notifier
from warden.rollback.alarm import Transition
from warden.rollback.config import RollbackConfig
from warden.rollback.decide import Plan, plan_stage
from warden.rollback.mapping import AlarmMap, Target
from warden.rollback.state import RollbackState

HISTORY = 25  # executions of a pipeline read per decision: enough to find the previous release
ACTIVE_DEPLOYMENTS = ["Created", "Queued", "InProgress", "Baking", "Ready"]
# CodePipeline's and CodeDeploy's refusals: reported, never retried.
REFUSALS = {
    "ConflictException", "UnableToRollbackStageException", "PipelineExecutionOutdatedException",
    "PipelineExecutionNotFoundException", "StageNotFoundException", "PipelineNotFoundException",
    "PipelineExecutionNotStoppableException", "DuplicatedStopRequestException", "ValidationException",
    "DeploymentAlreadyCompletedException", "DeploymentDoesNotExistException", "InvalidDeploymentIdException",
    "UnsupportedActionForDeploymentTypeException", "AccessDeniedException", "AccessDenied",
}


def _error_code(exc: Exception) -> str | None:
    return getattr(exc, "response", {}).get("Error", {}).get("Code")


def _client_error() -> type[Exception]:
    from botocore.exceptions import ClientError

    return ClientError


@dataclass
class Outcome:
    target: str
    status: str  # rolled_back | stopping | stopped_deployment | skipped | duplicate
    reason: str | None = None
    execution_id: str | None = None


class RollbackTrigger:
    def __init__(self, *, notifier: Notifier, incidents: Any, state: RollbackState, ledger: LedgerReader,
                 access: Callable[[str], Any], config: Callable[[], RollbackConfig], alarms: AlarmMap | None = None,
                 own_account: str = "", region: str = "us-east-1", ledger_table: str = "", dynamodb: Any = None,
                 role_name: str = "", releases: Any = None) -> None:
        """`releases` (warden.release.lookup.Releases) names the release in every notice, or says why not."""
        self._notifier = notifier
        self._releases = releases
        self._incidents = incidents
        self._state = state
        self._ledger = ledger
        self._access = access
        self._config = config
        self._alarms = alarms or AlarmMap(ledger=ledger, bake_minutes=lambda: self._config().bake_minutes)
        self._own = own_account
        self._region = region
        self._ledger_table = ledger_table
        self._ddb = dynamodb
        self._role_name = role_name

    # -- alarms ---------------------------------------------------------------------------------------
    def on_alarm(self, transition: Transition) -> dict[str, Any]:
        if not transition.into_alarm:
            return {"status": "ignored", "reason": f"{transition.previous} -> {transition.state} is not into ALARM"}
        config = self._config()
        access = self._access(transition.account)
        targets = self._alarms.targets(transition, config, access)
        if not targets:
            if access is None:
                # Tags and stage conditions of that account are unreadable, and no rule names the alarm.
                logger.warning("alarm of a workload account that Warden cannot read, mapped by no rule",
                               extra={"alarm": transition.alarm, "account": transition.account})
                return {"status": "unmapped", "reason": "no WorkloadDeployRoleName to read the alarm's account"}
            return {"status": "unmapped"}
        outcomes = [self._act_on(transition, target, config, access) for target in targets]
        return {"status": "decided", "alarm": transition.alarm,
                "outcomes": [o.__dict__ for o in outcomes]}

    def _act_on(self, transition: Transition, target: Target, config: RollbackConfig, access: Any) -> Outcome:
        mode = target.mode or config.mode
        if access is None:
            return self._skip(transition, target, Plan("none", would=self._would_any(target)),
                              f"account {transition.account} is a workload account and no WorkloadDeployRoleName "
                              "is configured: Warden cannot act there")
        if target.group:
            outcome = self._deployment_group(transition, target, config, access, mode)
            if outcome is not None or not target.pipeline:
                return outcome or self._skip(
                    transition, target, Plan("none", would=f"StopDeployment of {target.deployment_group} with "
                                             "rollback"), f"no deployment of {target.deployment_group} is in progress")
        return self._pipeline_stage(transition, target, config, access, mode)

    @staticmethod
    def _would_any(target: Target) -> str:
        if target.pipeline:
            return f"roll {target.pipeline}/{target.stage} back to its previous successful execution"
        return f"StopDeployment of {target.deployment_group} with rollback"

    # -- CodeDeploy ---------------------------------------------------------------------------------
    def _deployment_group(self, transition: Transition, target: Target, config: RollbackConfig, access: Any,
                          mode: str) -> Outcome | None:
        codedeploy = access.client("codedeploy")
        ids = codedeploy.list_deployments(applicationName=target.application, deploymentGroupName=target.group,
                                          includeOnlyStatuses=ACTIVE_DEPLOYMENTS).get("deployments", [])
        if not ids:
            return None
        infos = codedeploy.batch_get_deployments(deploymentIds=ids[:25]).get("deploymentsInfo", [])
        newest = max(infos, key=lambda d: d["createTime"])
        deployment_id = newest["deploymentId"]
        plan = Plan("stop_deployment", release={"execution_id": deployment_id},
                    would=f"StopDeployment of {deployment_id} ({target.deployment_group}) with rollback")
        if transition.at < newest["createTime"]:
            return self._skip(transition, target, plan, (
                f"the alarm changed state at {clock.iso(transition.at)}, before deployment {deployment_id} "
                f"started ({clock.iso(newest['createTime'])}): it is about an older release"))
        claim = self._claim(transition, target, config, plan)
        if not claim.granted:
            return self._cooldown(transition, target, plan, claim.item, config)
        if mode == "dry_run":
            return self._skip(transition, target, plan, "dry run (mode dry_run): Warden only says what it would do")
        if not claim.resumed:
            try:
                codedeploy.stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
            except _client_error() as exc:
                if _error_code(exc) not in REFUSALS:
                    raise
                self._state.record(target.key, owner=transition.key, acted=True, refused=str(exc)[:300])
                return self._skip(transition, target, plan, f"CodeDeploy refused StopDeployment: {exc}")
            self._state.record(target.key, owner=transition.key, acted=True, deployment_id=deployment_id)
        self._started(transition, target, plan, deployment_id=deployment_id)
        return Outcome(target.name, "stopped_deployment", execution_id=deployment_id)

    # -- CodePipeline -------------------------------------------------------------------------------
    def _pipeline_stage(self, transition: Transition, target: Target, config: RollbackConfig, access: Any,
                        mode: str) -> Outcome:
        ref = pipeline_ref(target.account, target.pipeline or "", self._own)
        history = self._ledger.history(ref, limit=HISTORY).items
        codepipeline = access.client("codepipeline")
        state = None
        if history:
            try:
                state = codepipeline.get_pipeline_state(name=target.pipeline)
            except _client_error() as exc:
                if _error_code(exc) not in REFUSALS:
                    raise
                return self._skip(transition, target, Plan("none", would=self._would_any(target)),
                                  f"CodePipeline refused GetPipelineState: {exc}")
        live = next((s.get("latestExecution") for s in (state or {}).get("stageStates", [])
                     if s.get("stageName") == target.stage), None)
        plan = plan_stage(history=history, stage=target.stage or "", at=transition.at,
                          bake=timedelta(minutes=config.bake_minutes), live=live)
        if plan.skip:
            return self._skip(transition, target, plan, plan.skip)
        why = self._target_invalid(codepipeline, target, plan, state)
        if why:
            return self._skip(transition, target, plan, f"no valid rollback target: {why}")
        claim = self._claim(transition, target, config, plan)
        if not claim.granted:
            return self._cooldown(transition, target, plan, claim.item, config)
        if mode == "dry_run":
            return self._skip(transition, target, plan, "dry run (mode dry_run): Warden only says what it would do")
        if plan.action == "stop_and_rollback":
            return self._stop_then_rollback(transition, target, plan, codepipeline, claim.item)
        rollback_id = claim.item.get("rollback_execution_id") if claim.resumed else None
        if rollback_id is None:
            try:
                rollback_id = codepipeline.rollback_stage(
                    pipelineName=target.pipeline, stageName=target.stage,
                    targetPipelineExecutionId=plan.target_id)["pipelineExecutionId"]
            except _client_error() as exc:
                if _error_code(exc) not in REFUSALS:
                    raise
                self._state.record(target.key, owner=transition.key, acted=True, refused=str(exc)[:300])
                return self._skip(transition, target, plan, f"CodePipeline refused RollbackStage: {exc}")
            self._state.record(target.key, owner=transition.key, acted=True, rollback_execution_id=rollback_id)
        self._record_ledger(transition, target, plan, rollback_id)
        self._started(transition, target, plan, rollback_id=rollback_id)
        return Outcome(target.name, "rolled_back", execution_id=rollback_id)

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
                            item: dict[str, Any]) -> Outcome:
        """Stop the running execution now; the rollback follows when its stage has stopped (on_stage)."""
        if not item.get("acted"):
            try:
                codepipeline.stop_pipeline_execution(
                    pipelineName=target.pipeline, pipelineExecutionId=plan.release_id, abandon=True,
                    reason=f"Pipeline Warden: alarm {transition.alarm} in ALARM; rolling {target.stage} back")
            except _client_error() as exc:
                if _error_code(exc) not in REFUSALS:
                    raise
                self._state.record(target.key, owner=transition.key, acted=True, refused=str(exc)[:300])
                return self._skip(transition, target, plan, f"CodePipeline refused StopPipelineExecution: {exc}")
            self._state.record(target.key, owner=transition.key, acted=True, pending_execution=plan.release_id)
        self._started(transition, target, plan)
        return Outcome(target.name, "stopping", execution_id=plan.release_id)

    # -- the rollback's own pipeline events -----------------------------------------------------------
    def on_stage(self, event: Any) -> dict[str, Any]:
        """A stage event: the stopped stage is rolled back now; the rollback's success resolves the page."""
        detail = event.detail
        target = Target(event.account, detail.pipeline, detail.stage)
        item = self._state.get(target.key)
        if not item:
            return {"status": "ignored"}
        if detail.state == "SUCCEEDED" and item.get("rollback_execution_id") == detail.execution_id:
            return self._resolve(target, item, event)
        if detail.state in ("STOPPED", "FAILED", "CANCELED") and item.get("pending_execution") == detail.execution_id:
            return self._rollback_after_stop(target, item, event)
        return {"status": "ignored"}

    def _rollback_after_stop(self, target: Target, item: dict[str, Any], event: Any) -> dict[str, Any]:
        access = self._access(event.account)
        if access is None:
            return {"status": "ignored", "reason": "no access to the account"}
        owner, stopped = item["owner"], item["pending_execution"]
        if not item.get("rollback_execution_id"):
            try:
                rollback_id = access.client("codepipeline").rollback_stage(
                    pipelineName=target.pipeline, stageName=target.stage,
                    targetPipelineExecutionId=item["target_execution"])["pipelineExecutionId"]
            except _client_error() as exc:
                if _error_code(exc) not in REFUSALS:
                    raise
                # The transition that stopped it owns the stage; tell people once, whichever event got here.
                if self._state.record(target.key, condition="attribute_not_exists(#refused)", refused=str(exc)[:300]):
                    plan = Plan("stop_and_rollback", release={"execution_id": stopped},
                                target={"execution_id": item["target_execution"]},
                                would=f"RollbackStage of {target.stage} to {item['target_execution']}")
                    self._skip(self._transition_of(item, event), target, plan,
                               f"CodePipeline refused RollbackStage after the stop: {exc}")
                return {"status": "refused", "reason": str(exc)}
            # Only the first event after the stop records it; a redelivery finds it and stops here.
            if not self._state.record(target.key, condition="attribute_not_exists(#rollback_execution_id)",
                                      rollback_execution_id=rollback_id):
                return {"status": "duplicate"}
            plan = Plan("stop_and_rollback", release={"execution_id": stopped},
                        target={"execution_id": item["target_execution"]})
            self._record_ledger(self._transition_of(item, event), target, plan, rollback_id)
            logger.info("rolled back after the stop", extra={"stage": target.name, "owner": owner,
                                                              "rollback": rollback_id})
            return {"status": "rolled_back", "execution_id": rollback_id}
        return {"status": "duplicate"}

    def _resolve(self, target: Target, item: dict[str, Any], event: Any) -> dict[str, Any]:
        if item.get("resolved_at"):
            return {"status": "duplicate"}
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
    def _claim(self, transition: Transition, target: Target, config: RollbackConfig, plan: Plan) -> Any:
        fields = {"alarm": transition.alarm, "alarm_reason": (transition.reason or "")[:500], "action": plan.action,
                  "target_key": target.key, "release_execution": plan.release_id or "",
                  "target_execution": plan.target_id or ""}
        return self._state.claim(target.key, transition=transition.key, at=transition.at,
                                 cooldown_s=config.cooldown_minutes * 60, fields=fields)

    def _cooldown(self, transition: Transition, target: Target, plan: Plan, item: dict[str, Any],
                  config: RollbackConfig) -> Outcome:
        return self._skip(transition, target, plan, (
            f"cooldown: {target.name} was already handled for alarm {item.get('alarm')} at {item.get('claimed_at')}; "
            f"at most one rollback per {config.cooldown_minutes:g} minutes"))

    def _record_ledger(self, transition: Transition, target: Target, plan: Plan, rollback_id: str | None) -> None:
        """The ledger keeps the cause on the release rolled back and on the rollback execution."""
        cause = {"alarm": transition.alarm, "reason": (transition.reason or "")[:500],
                 "alarm_at": clock.iso(transition.at), "stage": target.stage, "by": "RollbackTrigger"}
        pipeline = target.pipeline or ""
        if plan.release_id:
            self._ledger_update(pipeline, plan.release_id, {"rolled_back": cause | {
                "rollback_execution_id": rollback_id, "target_execution_id": plan.target_id}})
        if rollback_id:
            self._ledger_update(pipeline, rollback_id, {
                "rollback_cause": cause | {"rolled_back_execution_id": plan.release_id},
                "execution_type": "ROLLBACK", "rollback_target": plan.target_id, "pipeline": pipeline,
                "execution_id": rollback_id, "account": target.account})

    def _ledger_update(self, pipeline: str, execution_id: str, fields: dict[str, Any]) -> None:
        if not (self._ddb and self._ledger_table and execution_id):
            return
        fields = {k: v for k, v in fields.items() if v is not None}
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {f":f{i}": to_av(v) for i, v in enumerate(fields.values())}
        # Plain SETs of the same values: a redelivery writes the same item.
        self._ddb.update_item(TableName=self._ledger_table, Key={k: {"S": v} for k, v in execution_key(
            pipeline, execution_id).items()}, UpdateExpression="SET " + ", ".join(f"{n} = :f{n[2:]}" for n in names),
            ExpressionAttributeNames=names, ExpressionAttributeValues=values)

    def _incident_key(self, target: Target, region: str) -> str:
        return f"pipeline-warden/{target.account}/{region}/rollback/{target.name}"

    def _notice(self, event: str, transition: Transition, target: Target, plan: Plan) -> Notice:
        release = plan.release or {}
        notice = Notice(
            event=event, event_id=transition.key, time=transition.at, account=transition.account,
            region=transition.region, state="ALARM", pipeline=target.pipeline, stage=target.stage,
            execution_id=release.get("execution_id") if target.pipeline else None,
            application=target.application, deployment_group=target.group,
            commit=release.get("commit_id"), commit_message=release.get("commit_message"),
            author=release.get("author"), alarm=transition.alarm, alarm_reason=transition.reason)
        if plan.target:
            target_text = plan.target["execution_id"]
            if plan.target.get("commit_id"):
                target_text += f" (commit {plan.target['commit_id'][:7]}"
                target_text += f" by {plan.target['author']})" if plan.target.get("author") else ")"
            notice.rollback_target = target_text
        if target.pipeline and release.get("execution_id"):
            notice.links["execution"] = links.execution(transition.region, target.pipeline, release["execution_id"])
        # What went wrong is the alarm's own reason; its console page (graph and history) is where to look.
        notice.error = transition.reason or f"alarm {transition.alarm} is in ALARM (no reason given)"
        notice.links["logs"] = (f"{links.CONSOLE}/cloudwatch/home?region={transition.region}#alarmsV2:alarm/"
                                f"{quote(transition.alarm)}")
        if self._releases is not None:
            self._releases.fill(notice)  # never raises: a notice without its release beats no notice
        return notice

    def _skip(self, transition: Transition, target: Target, plan: Plan, reason: str) -> Outcome:
        notice = self._notice("rollback.skipped", transition, target, plan)
        notice.skipped_because, notice.would_have = reason, plan.would
        logger.warning("rollback skipped", extra={"target": target.name, "alarm": transition.alarm,
                                                  "reason": reason, "would": plan.would})
        self._notifier.send(notice)
        return Outcome(target.name, "skipped", reason=reason, execution_id=plan.release_id)

    def _started(self, transition: Transition, target: Target, plan: Plan, *, rollback_id: str | None = None,
                 deployment_id: str | None = None) -> None:
        notice = self._notice("rollback.started", transition, target, plan)
        notice.deployment_id = deployment_id
        if rollback_id and target.pipeline:
            notice.links["rollback"] = links.execution(transition.region, target.pipeline, rollback_id)
        key = self._incident_key(target, transition.region)
        decision = self._notifier.decide(notice)
        incident = self._incidents.open(key, event_id=transition.key, execution_id=plan.release_id, at=transition.at,
                                        summary=f"alarm {transition.alarm} rolls back {target.name}")
        if incident is None:
            # The stage's incident is open already: the messages go out, no second page.
            self._notifier.deliver(notice, decision, log=self._incidents.event_effects(transition.key)).check()
            return
        summary = (f"{target.name}: alarm {transition.alarm} rolls back {plan.release_id or 'the release'}"
                   + (f" to {plan.target_id}" if plan.target_id else "")
                   + (f": {transition.reason}" if transition.reason else ""))
        # Each publish and the page are effects of the incident: a retry redoes only what did not happen.
        delivery = self._notifier.deliver(notice, decision, log=self._incidents.effects(incident),
                                          page=incident.dedup_key, summary=summary)
        if delivery.complete:
            self._incidents.notified(key)
        delivery.check()
