"""DeploymentGate's domain: may this execution enter this stage now? Asked by a CodePipeline V2 stage-entry
condition (a `LambdaInvoke` rule: the function gets the documented `CodePipeline.job` event and answers with
PutJobSuccessResult, or PutJobFailureResult whose message the console shows) and by the CodeDeploy lifecycle
hook (warden.rollback.hook, which reports Failed on a deny).

The answer, in order: a rollback is never blocked; a calendar freeze or an automatic one (an open incident of
the pipeline about production, a rollback in progress, a guarding alarm in ALARM, on production stages) denies,
unless a break-glass override of the stage lets this one execution through (marked in the ledger); otherwise allow.
An incident is about production when a production stage failed in it, a deployment failed or was rolled back, or
where some execution of it failed is unknown (its stage not learnt, or the item older than the record: the gate
does not pick, it freezes and says the stage is unknown). An incident of non-production stages only (a Build
that failed) does not freeze: the pipeline resolves it only by succeeding, through production; `warden freeze
status` says it is open and why it does not freeze.
When the gate cannot decide (its document unreadable or invalid, the state table unreachable) it allows and
tells the team, unless the stack says FailClosed: a gate must never freeze a company by accident, and a
release that goes out during an outage of the gate is one the team hears of and can roll back.

A deny is recorded as a hold (warden.notify.holds) before it is answered: in CodePipeline it fails the stage and
the execution, and NotificationRouter tells those FAILED events as `deployment.held` instead of paging (an incident
about production would keep the stage frozen after the freeze ended). A hold that cannot be written is not answered:
the invocation fails and is retried (FailClosed or not), never a deny without its hold nor an allow through a freeze.

Correct under redelivery: the verdict depends on the document, the stored state and the moment; the effects
are conditional (warden.freeze.store): an override is used by one execution, a freeze and its lift are told
once each, a deployment keeps its first answer so that a deployment already past the gate finishes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from warden.core import clock
from warden.core.log import logger
from warden.freeze.calendar import Reason, Verdict, frozen
from warden.freeze.config import FreezeConfig
from warden.freeze.store import KEEP, FreezeStore
from warden.ledger.notes import LedgerNotes
from warden.notify.holds import Holds
from warden.notify.incidents import Incidents, incident_key

if TYPE_CHECKING:  # imported when something is told: an answer that tells nothing builds no notice
    from warden.notify.notice import Notice
    from warden.notify.rules import Decision

ROLLBACK_TRIGGERS = {"ManualRollback", "AutomatedRollback"}
MESSAGE_LIMIT = 5000  # PutJobFailureResult failureDetails.message


def _decision(*audiences: str, severity: str, rule: str) -> Decision:
    """The gate's own notices are not routable: their audience is fixed (imported only when one is told)."""
    from warden.notify.rules import Decision

    return Decision(audiences, severity, rule=rule)


@dataclass(frozen=True)
class Answer:
    allow: bool
    reason: str
    reasons: tuple[Reason, ...] = ()
    override: dict[str, Any] | None = None

    def report(self) -> dict[str, Any]:
        return {"allow": self.allow, "reason": self.reason,
                **({"override": {k: self.override[k] for k in ("by", "reason", "until")}} if self.override else {})}


class DeploymentGate:
    def __init__(self, *, config: Callable[[], FreezeConfig], store: FreezeStore, incidents: Incidents,
                 rolling_back: Callable[..., str | None], alarms: Callable[[str, str, str], list[str]],
                 codepipeline: Any, notifier: Any, notes: LedgerNotes | None, account: str, region: str,
                 fail_closed: bool = False, partition: str = "aws", holds: Holds | None = None) -> None:
        """`holds` (warden.notify.holds): where a deny is recorded before it is answered, so that the failure
        events CodePipeline emits for it are told as held, not paged (None: not recorded)."""
        self._holds = holds
        self._partition = partition
        self._config = config
        self._store = store
        self._incidents = incidents
        self._rolling_back = rolling_back
        self._alarms = alarms
        self._codepipeline = codepipeline
        self._notifier = notifier
        self._notes = notes
        self._account = account
        self._region = region
        self._fail_closed = fail_closed

    # -- the verdict ----------------------------------------------------------------------------------------
    def automatic(self, config: FreezeConfig, pipeline: str, stage: str, at: datetime, *,
                  application: str | None = None, group: str | None = None,
                  notes: list[str] | None = None) -> list[Reason]:
        """Why production is unhealthy now (for a production stage, when the automatic freeze is on). `notes`
        gets what is open and does not freeze (an incident of non-production stages only)."""
        auto = config.automatic
        if not auto.enabled or not config.is_production(stage):
            return []
        reasons: list[Reason] = []
        if auto.incidents:
            key = incident_key(account=self._account, region=self._region, pipeline=None if group else pipeline,
                               application=application, deployment_group=group)
            incident = self._incidents.current(key)
            if incident:
                freezes, about = _about(config, incident)
                summary = f": {incident['summary']}" if incident.get("summary") else ""
                if freezes:
                    reasons.append(Reason("incident", pipeline,
                                          f"an incident is open since {incident['opened_at']} ({about}){summary}"))
                elif notes is not None:
                    notes.append(f"open incident, not a freeze: {about} (since {incident['opened_at']}{summary})")
        if auto.rollbacks:
            why = self._rolling_back(self._account, pipeline=None if group else pipeline,
                                     stage=None if group else stage, application=application, group=group, at=at)
            if why:
                reasons.append(Reason("rollback", stage, why))
        if auto.alarms and not group:
            firing = self._alarms(self._account, pipeline, stage)
            if firing:
                reasons.append(Reason("alarm", ", ".join(firing), f"guarding alarm in ALARM: {', '.join(firing)}"))
        return reasons

    def verdict(self, pipeline: str, stage: str, at: datetime, *, tags: dict[str, str] | None = None,
                application: str | None = None, group: str | None = None, announce: bool = True) -> Verdict:
        """The calendar's verdict and the automatic freeze, together (announcing a change of the latter, unless
        `announce` is off: `warden freeze status` only looks)."""
        config = self._config()
        calendar = frozen(config, pipeline, stage, at, tags)
        notes: list[str] = []
        causes = self.automatic(config, pipeline, stage, at, application=application, group=group, notes=notes)
        if announce and config.is_production(stage) and config.automatic.enabled:
            try:
                self.announce(pipeline, stage, causes, at)
            except Exception as exc:  # noqa: BLE001 (telling never changes the answer; the next look tells it)
                logger.error("the automatic freeze's change could not be told: the next question tells it",
                             extra={"pipeline": pipeline, "stage": stage, "error": f"{type(exc).__name__}: {exc}"})
        if announce and notes:
            logger.info("an open incident does not freeze production: no production stage failed in it",
                        extra={"pipeline": pipeline, "stage": stage, "notes": notes})
        if not causes:
            return replace(calendar, notes=calendar.notes + tuple(notes)) if notes else calendar
        return Verdict(True, calendar.reasons + tuple(causes), until=calendar.until)

    def decide(self, pipeline: str, stage: str, at: datetime, *, execution_id: str | None = None,
               rollback: bool = False, **where: Any) -> Answer:
        if rollback:
            return Answer(True, "a rollback is never blocked by a freeze")
        try:
            verdict = self.verdict(pipeline, stage, at, **where)
            if not verdict.frozen:
                return Answer(True, verdict.reason, ())
            subject = f"{self._account}/{pipeline}/{stage}"
            override = self._store.override(subject, at)
            if override and execution_id and self._store.use(subject, override, execution_id, at):
                self._mark(pipeline, execution_id, stage, override, verdict)
                return Answer(True, f"break-glass override by {override['by']}: {override['reason']} (until "
                                    f"{override['until']}); {verdict.reason}", verdict.reasons, override)
            return Answer(False, verdict.reason, verdict.reasons)
        except Exception as exc:  # noqa: BLE001 (a gate that cannot decide answers what the stack says)
            return self._cannot_decide(pipeline, stage, at, exc)

    def _cannot_decide(self, pipeline: str, stage: str, at: datetime, exc: Exception) -> Answer:
        error = f"{type(exc).__name__}: {exc}"
        logger.error("the deployment gate cannot decide", extra={"pipeline": pipeline, "stage": stage,
                                                                 "error": error, "fail_closed": self._fail_closed})
        try:
            self._tell_error(pipeline, stage, at, error)
        except Exception as tell:  # noqa: BLE001 (the answer matters more than the telling)
            logger.error("could not tell the team the gate cannot decide", extra={"error": str(tell)})
        if self._fail_closed:
            return Answer(False, f"the deployment gate cannot decide ({error[:300]}) and fails closed (FailClosed)")
        return Answer(True, f"the deployment gate cannot decide ({error[:300]}): allowed, and the team is told")

    def _tell_error(self, pipeline: str, stage: str, at: datetime, error: str) -> None:
        from warden.notify.notice import Notice

        hour = at.strftime("%Y%m%d%H")  # at most one notice per pipeline stage per hour

        def told(_change: dict[str, Any]) -> tuple[Notice, Decision]:
            return (Notice(event="freeze.error", event_id=f"gate-error#{pipeline}#{stage}#{hour}", time=at,
                           account=self._account, region=self._region, state="CANNOT DECIDE", pipeline=pipeline,
                           stage=stage, error=error[:1000],
                           using="deny (FailClosed)" if self._fail_closed else "allow (FailClosed is off)"),
                    _decision("team", severity="high", rule="deployment gate error"))

        # The hour's item is never looked at after its hour: DynamoDB deletes it (KEEP later).
        self._tell_once(f"{self._account}/{pipeline}/{stage}/error#{hour}", True, error, at, told=told,
                        expires=at + KEEP)

    def _tell_once(self, subject: str, frozen: bool, causes: str, at: datetime, *,
                   told: Callable[[dict[str, Any]], tuple[Notice, Decision]], expires: datetime | None = None) -> bool:
        """Record the change and tell it once (warden.freeze.store): a change recorded by an earlier look whose
        telling failed or whose answer was lost is told now. False when there was nothing to tell."""
        if not self._store.flip(subject, frozen=frozen, causes=causes, at=at, expires=expires):
            return False
        change = self._store.claim(subject, frozen=frozen)
        if change is None:
            return False
        notice, decision = told(change)
        try:
            self._notifier.deliver(notice, decision).check()
        except Exception:
            self._store.release(subject, change["changed_at"])  # the next look tells it
            raise
        return True

    def _mark(self, pipeline: str, execution_id: str, stage: str, override: dict[str, Any],
              verdict: Verdict) -> None:
        if self._notes is None:
            return
        self._notes.add(pipeline, execution_id, {"freeze_override": {
            "stage": stage, "by": override["by"], "reason": override["reason"], "until": override["until"],
            "frozen_because": verdict.reason[:1000]}})

    # -- telling the automatic freeze's changes, once each ---------------------------------------------------
    def announce(self, pipeline: str, stage: str, causes: list[Reason], at: datetime) -> str | None:
        subject = f"{self._account}/{pipeline}/{stage}"
        event = "freeze.started" if causes else "freeze.lifted"

        def told(change: dict[str, Any]) -> tuple[Notice, Decision]:
            from warden.notify.notice import Notice

            notice = Notice(event=event, event_id=f"{event}#{subject}#{change['changed_at']}", time=at,
                            account=self._account, region=self._region, state="FROZEN" if causes else "OPEN",
                            pipeline=pipeline, stage=stage,
                            custom_data=change.get("causes") or f"was frozen because: {change.get('was') or '?'}")
            return notice, _decision("team", severity="warning", rule="deployment gate (not routable)")

        if not self._tell_once(subject, bool(causes), "; ".join(r.message for r in causes), at, told=told):
            return None
        logger.info("automatic freeze told", extra={"event": event, "pipeline": pipeline, "stage": stage})
        return event

    # -- CodePipeline: a LambdaInvoke rule's job ----------------------------------------------------------------
    def on_job(self, job: Any) -> dict[str, Any]:
        """`job`: a CodePipelineJob. Where it comes from: the rule's UserParameters when they say (JSON
        `{"pipeline", "stage", "execution"}`), else GetJobDetails' pipeline context."""
        at = clock.now()
        pipeline, stage, execution_id = job.pipeline, job.stage, job.execution_id
        if not (pipeline and stage):
            context = self._codepipeline.get_job_details(jobId=job.id)["jobDetails"]["data"]["pipelineContext"]
            pipeline, stage = context["pipelineName"], context["stage"]["name"]
            execution_id = execution_id or context.get("pipelineExecutionId")
        rollback = bool(execution_id) and self._is_rollback(pipeline, execution_id)
        answer = self.decide(pipeline, stage, at, execution_id=execution_id, rollback=rollback,
                             tags=None if rollback else self._tags(pipeline))
        self._record(pipeline, stage, execution_id, answer, at)
        answered = self._answer(job.id, answer, execution_id)
        logger.info("gate answered", extra={"pipeline": pipeline, "stage": stage, "execution": execution_id,
                                             **answer.report()})
        return {"status": "allowed" if answer.allow else "denied", "pipeline": pipeline, "stage": stage,
                "execution_id": execution_id, "answered": answered, **answer.report()}

    def _record(self, pipeline: str, stage: str, execution_id: str | None, answer: Answer, at: datetime) -> None:
        """A deny is recorded as the execution's hold before it is answered (warden.notify.holds): its FAILED
        events then always find it. A hold that cannot be written raises: the job stays unanswered and the
        invocation fails, so Lambda retries it and CodePipeline asks again (the stage does not enter meanwhile);
        a deny answered without its hold would page on-call and feed the automatic freeze. The ledger gets the
        hold too (`held_at_gate`: warden.ledger.changes does not count it as a failed production deployment). An
        allow releases a hold of the same stage (a retried stage, an override): the execution's own failures
        there page again, and count again."""
        if self._holds is None or not execution_id:
            return
        if answer.allow:
            try:
                if self._holds.release(account=self._account, pipeline=pipeline, execution_id=execution_id,
                                       stage=stage, at=at) and self._notes is not None:
                    self._notes.add(pipeline, execution_id, {"held_at_gate": {"stage": stage,
                                                                               "released_at": clock.iso(at)}})
            except Exception as exc:  # noqa: BLE001 (an allow is never held back by bookkeeping)
                logger.error("the execution's earlier hold could not be released: a failure of it in this stage "
                             "would be told as held", extra={"pipeline": pipeline, "stage": stage,
                                                             "execution": execution_id,
                                                             "error": f"{type(exc).__name__}: {exc}"})
        else:
            self._holds.hold(account=self._account, pipeline=pipeline, execution_id=execution_id, stage=stage,
                             reason=answer.reason, at=at)
            if self._notes is not None:  # the ledger: a held execution is not a failed production deployment
                self._notes.add(pipeline, execution_id, {"held_at_gate": {
                    "stage": stage, "reason": answer.reason[:1000], "at": clock.iso(at)}})

    def _answer(self, job_id: str, answer: Answer, execution_id: str | None) -> bool:
        """PutJobSuccessResult or PutJobFailureResult; False when the job was answered already (a redelivered
        invocation: CodePipeline keeps the first answer, InvalidJobStateException) or is gone (JobNotFound)."""
        try:
            if answer.allow:
                self._codepipeline.put_job_success_result(jobId=job_id, executionDetails={
                    "summary": answer.reason[:2048], **({"externalExecutionId": execution_id} if execution_id
                                                        else {})})
            else:
                self._codepipeline.put_job_failure_result(jobId=job_id, failureDetails={
                    "type": "JobFailed", "message": answer.reason[:MESSAGE_LIMIT]})
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code not in ("InvalidJobStateException", "JobNotFoundException"):
                raise  # throttling, 5xx: Lambda retries the invocation, the verdict is the same
            logger.info("the rule's job was answered already (a redelivered invocation)", extra={
                "job": job_id, "error": code})
            return False
        return True

    def _tags(self, pipeline: str) -> dict[str, str] | None:
        """The pipeline's tags, read (one ListTagsForResource) only when a calendar entry's scope names tags."""
        try:
            if not any(entry.scope.tags for entry in self._config().calendar):
                return None
        except Exception:  # noqa: BLE001 (decide() meets the same error and says so)
            return None
        arn = f"arn:{self._partition}:codepipeline:{self._region}:{self._account}:{pipeline}"
        try:
            pages = self._codepipeline.get_paginator("list_tags_for_resource").paginate(resourceArn=arn)
            return {t["key"]: t["value"] for page in pages for t in page.get("tags", [])}
        except Exception as exc:  # noqa: BLE001 (unknown tags: a tag scope covers nothing, and it is logged)
            logger.error("the pipeline's tags could not be read: entries scoped by tags do not apply",
                         extra={"pipeline": pipeline, "error": f"{type(exc).__name__}: {exc}"})
            return None

    def _is_rollback(self, pipeline: str, execution_id: str) -> bool:
        execution = self._codepipeline.get_pipeline_execution(
            pipelineName=pipeline, pipelineExecutionId=execution_id)["pipelineExecution"]
        return execution.get("executionType") == "ROLLBACK" or (
            (execution.get("trigger") or {}).get("triggerType") in ROLLBACK_TRIGGERS)

    # -- CodeDeploy: the lifecycle hook asks ---------------------------------------------------------------
    def for_deployment(self, info: dict[str, Any]) -> tuple[bool, str]:
        """`info`: GetDeployment's deploymentInfo. The application is matched as the pipeline name, the group as
        the stage; CodeDeploy's own rollback deployments always pass; the first answer holds for the deployment."""
        at = clock.now()
        app, group = info["applicationName"], info["deploymentGroupName"]
        rollback = info.get("creator") == "codeDeployRollback"
        answer = self.decide(app, group, at, rollback=rollback, application=app, group=group)
        return self._store.first_answer(info["deploymentId"], answer.allow, answer.reason, at)

    def status(self, pipeline: str, stage: str, at: datetime) -> dict[str, Any]:
        """What `warden freeze status` shows of one stage: frozen or not, why, until when or the next freeze,
        and an override in force (read only: nothing is told, nothing is claimed)."""
        verdict = self.verdict(pipeline, stage, at, announce=False)
        override = self._store.override(f"{self._account}/{pipeline}/{stage}", at)
        return {"pipeline": pipeline, "stage": stage, "frozen": verdict.frozen,
                "why": [r.text() for r in verdict.reasons],
                "until": clock.iso(verdict.until) if verdict.until else None,
                "next": clock.iso(verdict.next_start) if verdict.next_start else None,
                "next_why": verdict.next_reason.text() if verdict.next_reason else None,
                "notes": list(verdict.notes),
                "override": {k: override[k] for k in ("by", "reason", "until", "used_by") if k in override}
                if override else None}

    # -- break-glass -----------------------------------------------------------------------------------------
    def grant(self, pipeline: str, stage: str, *, by: str, reason: str, hours: float, at: datetime,
              execution_id: str | None = None) -> dict[str, Any]:
        """A break-glass override of the stage's freeze by `by` (an IAM identity) for `reason`, for `hours`: the
        next execution the gate is asked about passes (only that one), or `execution_id` when given, whose entry
        condition CodePipeline is then told to override (OverrideStageCondition, BEFORE_ENTRY). On-call hears of
        it as a notice; the execution let through is marked in the ledger; the override expires by itself."""
        config = self._config()
        if not 0 < hours <= config.override_max_hours:
            raise ValueError(f"an override lasts more than 0 and at most {config.override_max_hours:g} hours "
                             "(override_max_hours of the freeze document)")
        if not reason.strip():
            raise ValueError("an override needs a reason")
        until = at + timedelta(hours=hours)
        subject = f"{self._account}/{pipeline}/{stage}"
        item = self._store.grant(subject, by=by, reason=reason.strip(), at=at, until=until)
        if execution_id:
            self._codepipeline.override_stage_condition(pipelineName=pipeline, stageName=stage,
                                                        pipelineExecutionId=execution_id, conditionType="BEFORE_ENTRY")
            self._store.use(subject, item, execution_id, at)
            self._mark(pipeline, execution_id, stage, item, self.verdict(pipeline, stage, at, announce=False))
            item = item | {"used_by": execution_id}
        from warden.notify.notice import Notice

        notice = Notice(event="freeze.override", event_id=f"override#{pipeline}#{stage}#{clock.iso(at)}", time=at,
                        account=self._account, region=self._region, state="OVERRIDDEN", pipeline=pipeline,
                        stage=stage, execution_id=execution_id, approver=by, comment=reason.strip(),
                        expires=clock.iso(until))
        self._notifier.deliver(notice, _decision("oncall", "team", severity="high",
                                                 rule="deployment gate override (not routable)")).check()
        return item


def _about(config: FreezeConfig, incident: dict[str, Any]) -> tuple[bool, str]:
    """(whether the open incident freezes production, what it is about, said in the deny and the notices). A
    production stage, a deployment, or an execution whose failing stage is unknown: frozen. Unknown is never
    read as "not production": the gate cannot tell, and says so."""
    stages = sorted(incident.get("failed_stages") or ())
    production = [s for s in stages if config.is_production(s)]
    others = [s for s in stages if s not in production]
    parts = []
    if production:
        parts.append(f"failed in production stage{'s' if len(production) > 1 else ''} {', '.join(production)}")
    if incident.get("deployments_failed"):
        parts.append("a deployment failed or was rolled back")
    unknown = sorted(incident.get("stage_unknown") or ())
    if not incident.get("recorded"):
        parts.append("the failing stage is unknown (the incident was opened before Warden recorded failing stages)")
    elif unknown or not (stages or parts):
        parts.append("the failing stage is unknown" + (f" for execution {', '.join(unknown[:3])}"
                                                       + (" and others" if len(unknown) > 3 else "") if unknown else "")
                     + " (only its pipeline FAILED was heard, and CodePipeline could not say where)")
    if parts:
        return True, "; ".join(parts + ([f"also failed in {', '.join(others)}"] if others else []))
    return False, f"failed only in {', '.join(others)}, not a production stage"


@dataclass(frozen=True)
class CodePipelineJob:
    id: str
    account: str
    pipeline: str | None
    stage: str | None
    execution_id: str | None

    @classmethod
    def parse(cls, event: Any) -> CodePipelineJob:
        from warden.models import InvalidEvent

        job = event.get("CodePipeline.job") if isinstance(event, dict) else None
        if not isinstance(job, dict) or not isinstance(job.get("id"), str) or not job["id"]:
            raise InvalidEvent("invalid CodePipeline job: CodePipeline.job.id: Field required", kind="CodePipeline job")
        configuration = (((job.get("data") or {}).get("actionConfiguration") or {}).get("configuration") or {})
        raw = configuration.get("UserParameters") or "{}"
        try:
            params = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            params = None
        if not isinstance(params, dict):
            # Not Warden's parameters: the job is still answered, from GetJobDetails' pipeline context.
            logger.warning("the rule's UserParameters are not {\"pipeline\", \"stage\", \"execution\"}: "
                           "reading the job's pipeline context instead", extra={"job": job["id"]})
            params = {}
        return cls(job["id"], str(job.get("accountId", "")), params.get("pipeline"), params.get("stage"),
                   params.get("execution") or None)
