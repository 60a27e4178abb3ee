"""NotificationRouter's domain: event -> notice -> routing decision -> messages and pages.

Failures fold into incidents (warden.notify.incidents): the first failure event of an incident notifies
every audience and pages once; the others of the same incident stay silent. A later success resolves
the page, even when its own message is muted. Every publish and page is an effect recorded where it
belongs (the incident's item, or the event's own log), so a retry redoes only what did not happen, and
a PagerDuty failure never holds back the messages (warden.notify.effects).
The opener names the release (warden.notify.release: reads, and one cached
CodePipeline read per execution), so a retried opener says the same without asking again.
A CodeDeploy deployment that stopped or failed is first explained by GetDeployment
(warden.router.deployments): a person's stop informs the team and pages nobody; an alarm stop or a
failure pages, as `deployment.rolled_back` when CodeDeploy started a rollback and `deployment.failed`
otherwise.
A pipeline rollback execution that RollbackTrigger started is already told and paged by it (rollback.started,
one incident per release): its STARTED pages nobody a second time. RollbackTrigger marks the target of a
rollback before it calls RollbackStage, and the rollback execution once it has its id (warden.rollback.state);
either mark makes the execution Warden's own. A person's or CodePipeline's own rollback still pages.
A CodeDeploy deployment RollbackTrigger stopped (marked before StopDeployment) is not a person's stop, and the
pipeline execution whose action ran it fails because of that stop (marked too): both fold into the rollback's
incident, which RollbackTrigger told and paged; nobody is paged again or told that a person stopped it.
Every failure event records on the incident where it failed (warden.notify.incidents: string sets, any order):
the opener with the opening (a pipeline FAILED event, which names no stage, adds the stage its enrichment found,
one more UpdateItem), a fold with the write that used to try the claim's take-over, and a muted failure too while
an incident is open (one UpdateItem): muting a stage's failure silences its messages, it does not make
production healthy for the deployment gate. A failed write fails the event: retried, then dead-lettered.
A failure the deployment gate caused (its deny fails the stage and the execution in CodePipeline, or the CodeDeploy
deployment whose hook it failed) is no incident: the gate recorded the hold before it answered
(warden.notify.holds), so every such FAILED event finds it (one GetItem, for a failure event only) and the team is
told once (`deployment.held`, its effects logged under the hold, not the event: any number of FAILED events, in any
order, each delivered any number of times, tell it once). No incident opens, so the hold cannot feed the automatic
freeze. A hold the gate released (the stage let in later) does not cover the release's own later failures.
A pipeline's CodeDeploy action whose deployment the hook failed for the gate fails the action, the stage and the
execution: the action's FAILED names the deployment (`execution-result.external-execution-id`); a stage's or the
execution's, when the execution has no hold, reads the failed action (ListActionExecutions: the read the page's
enrichment needs anyway, kept for it) and checks that deployment's hold (one GetItem more, a CodeDeploy action
only). They are told under the deployment's scope, so with CodeDeploy's own FAILURE the team hears it once. What
ListActionExecutions shows is CodePipeline's state, the same for every delivery and order: each finds the hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from warden.aws.codepipeline import CodePipelineGateway, Unknown
from warden.core import links
from warden.notify.effects import Delivery
from warden.notify.incidents import Failure, Incidents, incident_key
from warden.notify.notice import Notice, classify
from warden.notify.notifier import Notifier
from warden.notify.release import Releases
from warden.notify.render import title
from warden.notify.rules import Decision
from warden.router import deployments

OWN_ROLLBACK_WINDOW = timedelta(hours=1)  # a rollback to a marked target that starts later is someone else's

INCIDENT_EVENTS = frozenset({"pipeline.failed", "stage.failed", "action.failed", "deployment.failed",
                             "deployment.rolled_back"})
# A failure the deployment gate caused by its deny (warden.notify.holds): told as held, never an incident.
HOLD_EVENTS = frozenset({"pipeline.failed", "stage.failed", "action.failed", "deployment.failed"})
RECOVERY_EVENTS = frozenset({"pipeline.succeeded", "deployment.succeeded"})
PERSON_STOP = Decision(("team",), "info", rule="deployment stopped by a person")


class NotificationRouter:
    def __init__(self, *, notifier: Notifier, incidents: Incidents,
                 codepipeline: CodePipelineGateway | None = None, releases: Releases | None = None,
                 codedeploy_in: Callable[[str], Any] | None = None, marks: Any = None, holds: Any = None) -> None:
        """`releases` names the commit and author of what failed (warden.notify.release);
        `codedeploy_in(account)`: the CodeDeploy client of that account, None when it cannot be read;
        `marks` (warden.rollback.state.RollbackMarks): the rollbacks RollbackTrigger started; `holds`
        (warden.notify.holds.Holds): the executions and deployments the deployment gate held."""
        self._holds = holds
        self._marks = marks
        self._notifier = notifier
        self._incidents = incidents
        self._codepipeline = codepipeline
        self._releases = releases
        self._codedeploy_in = codedeploy_in

    @staticmethod
    def ignored(event: Any) -> dict[str, Any] | None:
        """The result for an event nobody hears of (it needs no idempotency record: it changes nothing),
        else None. Counted (IgnoredEvents) and said with its kind and state: a state Warden does not know
        must not vanish silently, whichever path (the handler's skip or `handle`) meets it."""
        if classify(event) is not None:
            return None
        detail = getattr(event, "detail", None)
        state = getattr(detail, "state", None)
        return {"status": "ignored", "kind": type(event).__name__, "state": state,
                "reason": f"no audience is told of {type(event).__name__} {state}"}

    @staticmethod
    def tells(event: Any) -> bool:
        """Whether anyone hears of this event."""
        return NotificationRouter.ignored(event) is None

    def handle(self, event: Any) -> dict[str, Any]:
        """`event` is a parsed model (warden.models.parse_event)."""
        notice = classify(event)
        if notice is None:
            return self.ignored(event)  # type: ignore[return-value]
        if notice.event == "deployment.rolled_back" and notice.pipeline and not notice.deployment_id:
            own = self._own_rollback(event)
            if own is not None:
                return own
        own = self._own_stop(event, notice)
        if own is not None:
            return own
        looked: dict[str, Any] = {}  # the failed action, once read (warden.aws.codepipeline.failed_action)
        held = self._held(event, notice, looked)
        if held is not None:
            return held
        if notice.deployment_id and notice.state in ("STOP", "FAILURE"):
            self._explain(notice)
        decision = self._notifier.decide(notice)
        if notice.stopped_by and decision.rule == "default":
            decision = PERSON_STOP  # no routing rule asks otherwise: the team hears of it, nobody is paged
        # A success resolves what it supersedes whatever routing says of its own message.
        resolved, settled = self._recover(notice) if notice.event in RECOVERY_EVENTS else (None, Delivery())
        extra = {"resolved": resolved} if resolved is not None else {}
        if decision.muted:
            if notice.event in INCIDENT_EVENTS and not notice.stopped_by:
                # Where it failed still counts for the deployment gate, while an incident is open.
                self._incidents.record(self._key(notice), _failure(notice), at=notice.time)
            settled.check()
            return {"status": "muted", "event": notice.event, "rule": decision.rule} | extra
        if notice.event in INCIDENT_EVENTS and not notice.stopped_by:
            return self._incident(notice, decision, looked)
        delivery = self._notifier.deliver(notice, decision, log=self._incidents.event_effects(notice.event_id))
        delivery.failures += settled.failures  # the message went out whatever happened to the resolve
        delivery.check()
        return {"status": "sent", "event": notice.event, "severity": decision.severity,
                "audiences": delivery.sent} | extra

    def _explain(self, notice: Notice) -> None:
        codedeploy = self._codedeploy_in(notice.account) if self._codedeploy_in else None
        found = deployments.cause(codedeploy, notice.deployment_id or "", notice.state)
        notice.event = "deployment.rolled_back" if found.rolled_back else "deployment.failed"
        if found.kind == deployments.PERSON:
            notice.stopped_by = "a person (StopDeployment)"
        if found.kind == deployments.UNKNOWN:
            notice.unconfirmed = notice.unconfirmed or found.message  # said, as every unconfirmed fact is
            return
        detail = " ".join(filter(None, [found.code and f"{found.code}:", found.message]))
        notice.error = notice.error or detail or None

    def _own_stop(self, event: Any, notice: Notice) -> dict[str, Any] | None:
        """The result for Warden's own CodeDeploy stop, or a failure of the pipeline execution it stopped (folded
        into the rollback's incident), else None. One GetItem, only for a stop or a failure."""
        if self._marks is None:
            return None
        if notice.deployment_id and notice.state in ("STOP", "FAILURE"):
            mark = self._marks.get(event.account, f"codedeploy/{notice.deployment_id}")
        elif notice.event in INCIDENT_EVENTS and notice.pipeline and notice.execution_id:
            mark = self._marks.get(event.account, f"pipeline-run/{notice.pipeline}/{notice.execution_id}")
        else:
            return None
        if not mark:
            return None
        return {"status": "folded", "event": notice.event, "incident": mark.get("incident"),
                "reason": f"the deployment RollbackTrigger stopped (alarm {mark.get('alarm')}), which told and "
                          "paged it as its rollback"}

    def _held(self, event: Any, notice: Notice, looked: dict[str, Any]) -> dict[str, Any] | None:
        """The result for a failure of an execution or deployment the deployment gate held (its deny, not a failed
        release): no incident, no page; the team is told once (`deployment.held`, one effects log per hold, whatever
        number of failure events and deliveries). None otherwise. One GetItem, for a failure event only; when the
        execution has no hold, a pipeline's failure whose failed action is a CodeDeploy one checks that deployment's
        hold too (one more GetItem; a stage's or the execution's failure first reads the failed action, which
        `looked` keeps for the page's enrichment)."""
        if self._holds is None:
            return None
        where = None
        if notice.deployment_id:
            if notice.state != "FAILURE":  # a held deployment fails (HOOK_EXECUTION_FAILURE), rolled back or not
                return None
            hold = self._holds.deployment(notice.deployment_id)
            scope = f"held#codedeploy#{notice.deployment_id}"
        elif notice.event in HOLD_EVENTS and notice.pipeline and notice.execution_id:
            hold = self._holds.execution(notice.account, notice.pipeline, notice.execution_id)
            if hold is not None and not hold.covers(notice.time, None if notice.event == "pipeline.failed"
                                                    else notice.stage or ""):
                hold = None
            # One telling per hold: a stage held again after its release (retried during the freeze) is told again.
            scope = (f"held#{notice.account}#{notice.pipeline}#{notice.execution_id}#{hold.stage}#{hold.held_at}"
                     if hold else "")
            if hold is None:
                deployment, where = self._codedeploy_action(event, notice, looked)
                if deployment:
                    # The deployment's hold: told once with CodeDeploy's own FAILURE event of it (the same scope).
                    hold = self._holds.deployment(deployment)
                    scope = f"held#codedeploy#{deployment}"
        else:
            return None
        if hold is None:
            return None
        told = replace(notice, event="deployment.held", event_id=scope, state="HELD",
                       stage=notice.stage or hold.stage or where or notice.deployment_group, action=None,
                       error=None,
                       custom_data=f"held by the deployment gate: {hold.reason}" if hold.reason else None)
        decision = self._notifier.decide(told)
        delivery = self._notifier.deliver(told, decision, log=self._incidents.event_effects(scope))
        delivery.check()
        return {"status": "held", "event": notice.event, "told": "deployment.held", "audiences": delivery.sent,
                "reason": hold.reason}

    def _codedeploy_action(self, event: Any, notice: Notice, looked: dict[str, Any]) -> tuple[str | None, str | None]:
        """(deployment id, stage) of the CodeDeploy action whose failure this pipeline failure event is, else
        (None, None). An action's FAILED names it (`execution-result.external-execution-id`: no read); a stage's or
        the execution's names no action: the failed action ListActionExecutions shows (of that stage, for a stage's),
        kept in `looked`. A read that fails (Unknown) finds no deployment: the failure pages, as without holds."""
        if notice.event == "action.failed":
            detail = event.detail
            result = getattr(detail, "execution_result", None)
            if getattr(detail, "provider", None) == "CodeDeploy" and result and result.external_execution_id:
                return result.external_execution_id, notice.stage
            return None, None
        if not self._codepipeline:
            return None, None
        found = looked["found"] = self._codepipeline.failed_action(notice.account, notice.region, notice.pipeline,
                                                                   notice.execution_id or "")
        if (found and not isinstance(found, Unknown) and found.get("provider") == "CodeDeploy"
                and found.get("external_id") and (notice.event == "pipeline.failed" or found["stage"] == notice.stage)):
            return found["external_id"], found["stage"]
        return None, None

    def _own_rollback(self, event: Any) -> dict[str, Any] | None:
        """The result for a rollback execution RollbackTrigger started (told and paged there), else None."""
        if self._marks is None:
            return None
        from warden.core.clock import parse_iso

        detail = event.detail
        metadata = detail.rollback_metadata or {}
        goal = (metadata.get("rollback-target-pipeline-execution-id")
                or metadata.get("rollbackTargetPipelineExecutionId"))
        mark = self._marks.get(event.account, f"pipeline/{detail.pipeline}/{detail.execution_id}")
        if not mark and goal:
            mark = self._marks.get(event.account, f"pipeline/{detail.pipeline}/{goal}")
            marked = parse_iso(mark["marked_at"]) if mark.get("marked_at") else None
            if marked is None or not (marked - timedelta(minutes=5) <= event.time <= marked + OWN_ROLLBACK_WINDOW):
                mark = {}
        if not mark:
            return None
        return {"status": "own_rollback", "event": "deployment.rolled_back", "execution_id": detail.execution_id,
                "incident": mark.get("incident"), "reason": f"started by RollbackTrigger (alarm {mark.get('alarm')}), "
                                                           "which told and paged it"}

    # -- incidents ----------------------------------------------------------------------------------
    def _key(self, notice: Notice) -> str:
        return incident_key(account=notice.account, region=notice.region, pipeline=notice.pipeline,
                            application=notice.application, deployment_group=notice.deployment_group)

    def _incident(self, notice: Notice, decision: Any, looked: dict[str, Any]) -> dict[str, Any]:
        key = self._key(notice)
        failure = _failure(notice)
        incident = self._incidents.open(key, event_id=notice.event_id, execution_id=notice.execution_id,
                                        at=notice.time, summary=title(notice), failure=failure)
        if incident is None:
            return {"status": "folded", "event": notice.event, "incident": key}
        self._enrich(notice, looked)
        if self._releases is not None:
            self._releases.fill(notice)  # never raises: a page without its release beats no page
        delivery = self._notifier.deliver(notice, decision, log=self._incidents.effects(incident),
                                          page=incident.dedup_key)
        placed = failure.placed(notice.stage)
        if placed != failure:  # a pipeline FAILED: the stage its enrichment found (before the claim is let go)
            self._incidents.record(key, placed, at=notice.time)
        if delivery.page_failed:  # on-call was not paged: the redrive, or the next failure, pages
            self._incidents.page_failed(key, delivery.page_failed)
        elif delivery.complete:
            self._incidents.notified(key)
        delivery.check()
        return {"status": "sent", "event": notice.event, "severity": decision.severity, "audiences": delivery.sent,
                "incident": key, "paged": delivery.paged}

    def _enrich(self, notice: Notice, looked: dict[str, Any]) -> None:
        if notice.error or not (self._codepipeline and notice.pipeline and notice.execution_id):
            return
        # Enrichment is a nicety: unknown (no read role, a failed read), the page goes out with what the
        # event says. The failed action read to check a deployment's hold is not read again.
        found = looked["found"] if "found" in looked else self._codepipeline.failed_action(
            notice.account, notice.region, notice.pipeline, notice.execution_id)
        if found and not isinstance(found, Unknown):
            notice.stage = notice.stage or found["stage"]
            notice.action = notice.action or found["action"]
            notice.error = found["error"]
            logs = links.console(found["logs"])
            if logs:
                notice.links.setdefault("logs", logs)

    def _recover(self, notice: Notice) -> tuple[bool, Delivery]:
        incident = self._incidents.succeeded(self._key(notice), at=notice.time)
        if incident is None:
            return False, Delivery()
        settled = self._notifier.settle(incident.dedup_key, log=self._incidents.effects(incident))
        if not settled.failures:
            self._incidents.close(incident, event_id=notice.event_id)
        return settled.resolved or not settled.failures, settled


def _failure(notice: Notice) -> Failure:
    """Where a failure event says it failed: a deployment (CodeDeploy's, or a pipeline's rollback execution), a
    stage, or an unknown stage of its execution (a pipeline FAILED event, before its enrichment)."""
    execution = notice.deployment_id or notice.execution_id or notice.event_id
    if notice.deployment_id or notice.event == "deployment.rolled_back":
        return Failure(execution, deployment=True)
    return Failure(execution, stage=notice.stage)
