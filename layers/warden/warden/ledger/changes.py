"""Change failure, exactly: which production deployments failed, why, and what restored them.

A pure function of ledger execution records (warden.ledger.view.execution_view), so it gives the same answer
however the events that wrote them were delivered (the recorder's items converge; see warden.ledger.recorder).

A *production deployment* of a service (a pipeline ref) is a STANDARD execution whose production stage ended
SUCCEEDED or FAILED (or ended otherwise and was rolled back). Rollback executions (CodePipeline's
`executionType` ROLLBACK, Warden's and CodePipeline's alike) are never in the denominator: they restore.
A production deployment is *failed* when, and only when, one of these holds, named by the first that does:

  rolled_back:warden        RollbackTrigger rolled its stage back, or stopped its CodeDeploy deployment with rollback
                            (the `rolled_back` note on this execution)
  rolled_back:codedeploy    CodeDeploy rolled its deployment back (`codedeploy_rollback` on the execution)
  rolled_back:codepipeline  a CodePipeline rollback execution (manual or a stage condition's) started while it
                            was the service's latest production deployment and within the window of its end
  alarm_in_bake             a guarding alarm fired in its bake window (`alarm_in_bake` on the execution)
  production_stage_failed   its production stage failed (not by the deployment gate's deny: an execution held at
                            the gate, `held_at_gate` on its record and never let in after, deployed nothing and is
                            no production deployment at all)
  reverted                  the service's next production deployment, within the window, reverts it: its commit
                            message is git's `Revert "..."` (the `This reverts commit <sha>` line names the
                            reverted deployment; without it, the previous one is), or it redeploys a revision
                            that was live before this one (the source revision equals an earlier *successful*
                            deployment's, and differs from this one's: re-running the same revision is a retry)
  hotfixed                  the service's next production deployment, within the window, is a hotfix (its branch
                            or its commit message's first line matches the configured patterns)

Each failure belongs to exactly one deployment, once: a deployment has at most one failure, its cause the first
above; any further evidence (the rollback that followed a failed stage, a later revert) is kept in `also`, never
counted again. So failed <= deployments and the rate never exceeds 100 %. A rollback execution is attributed to
one deployment or, when none qualifies, listed as unattributed (with why), never to "whatever came last".

*Time to restore* of a failure: from when it began (the alarm, when one is known; else the failed deployment's
production end) to the end of the service's next healthy production deployment (one that succeeded and did not
itself fail; a rollback execution that succeeded counts). None yet: the failure is open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from warden.core import clock

WARDEN, CODEDEPLOY, CODEPIPELINE = "rolled_back:warden", "rolled_back:codedeploy", "rolled_back:codepipeline"
ALARM, STAGE_FAILED, REVERTED, HOTFIXED = "alarm_in_bake", "production_stage_failed", "reverted", "hotfixed"
CAUSES = (WARDEN, CODEDEPLOY, CODEPIPELINE, ALARM, STAGE_FAILED, REVERTED, HOTFIXED)

_REVERT = re.compile(r'^Revert "')
_REVERTS_COMMIT = re.compile(r"This reverts commit ([0-9a-fA-F]{7,40})")


@dataclass(frozen=True)
class Rules:
    """How reverts and hotfixes are recognised (the `ledger` configuration document)."""

    window: timedelta = timedelta(hours=24)
    hotfix_branches: tuple[str, ...] = ("hotfix/*", "hotfix-*")
    hotfix_messages: tuple[str, ...] = (r"(?i)^hotfix\b",)

    def is_hotfix(self, deployment: Deployment) -> bool:
        first_line = (deployment.message or "").split("\n", 1)[0]
        return (any(fnmatchcase(deployment.branch or "", glob) for glob in self.hotfix_branches)
                or any(re.search(pattern, first_line) for pattern in self.hotfix_messages))


@dataclass
class Failure:
    cause: str
    detail: str
    since: datetime  # when production began to fail: the alarm, else the deployment's production end
    evidence: str | None = None  # the execution that shows it (a rollback, the reverting deployment)
    also: list[str] = field(default_factory=list)
    restored_at: datetime | None = None
    restored_by: str | None = None

    @property
    def restore_seconds(self) -> float | None:
        return None if self.restored_at is None else (self.restored_at - self.since).total_seconds()


@dataclass
class Deployment:
    service: str
    execution_id: str
    started: datetime  # the production stage's start (its end when the start is unknown)
    ended: datetime  # the production stage's end: when the change reached (or failed to reach) production
    succeeded: bool
    rollback: bool = False
    commit_id: str | None = None
    message: str | None = None
    branch: str | None = None
    trigger_type: str | None = None
    lead_seconds: float | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # the record's rollback notes
    failure: Failure | None = None

    @property
    def healthy(self) -> bool:
        return self.succeeded and self.failure is None


@dataclass
class Changes:
    """Every production deployment (rollbacks apart), oldest first, each with its failure if it failed."""

    deployments: list[Deployment]
    rollbacks: list[Deployment]
    unattributed: list[dict[str, Any]]


def _at(value: Any) -> datetime | None:
    try:
        return clock.parse_iso(value) if value else None
    except (TypeError, ValueError):
        return None


def production_run(record: dict[str, Any]) -> Deployment | None:
    """The record's production deployment, or None when it did not run production to an end."""
    name = record.get("prod_stage")
    stage = dict((record.get("stages") or {}).get(name or "", {}))
    if not stage.get("status") and name and record.get("status") == "SUCCEEDED":
        # No stage event recorded: a succeeded execution ran its production stage by its end.
        stage = {"status": "SUCCEEDED", "ended_at": record.get("ended_at")}
    rolled = bool(record.get("rolled_back") or record.get("codedeploy_rollback"))
    status = stage.get("status")
    if status == "FAILED" and held_at_gate(record):
        return None  # the gate's deny failed the stage: nothing was deployed
    ended = _at(stage.get("ended_at")) or (_at(stage.get("started_at")) if rolled else None)
    if ended is None or not (status in ("SUCCEEDED", "FAILED") or rolled):
        return None
    rollback = record.get("execution_type") == "ROLLBACK"
    author = _at(record.get("author_date"))
    succeeded = status == "SUCCEEDED"
    return Deployment(
        service=record.get("pipeline") or "", execution_id=record.get("execution_id") or "",
        started=_at(stage.get("started_at")) or ended, ended=ended, succeeded=succeeded, rollback=rollback,
        commit_id=(record.get("commit_id") or None), message=record.get("commit_message"),
        branch=record.get("branch"), trigger_type=record.get("trigger_type"),
        lead_seconds=(ended - author).total_seconds() if author and succeeded and not rollback else None,
        facts={k: record[k] for k in ("rolled_back", "rollback_cause", "rollback_target", "codedeploy_rollback",
                                      "alarm_in_bake") if record.get(k)})


def held_at_gate(record: dict[str, Any]) -> bool:
    """Whether the deployment gate held the execution at its production stage and never let it in after (the
    gate's `held_at_gate` note, warden.freeze.gate): its stage failed by the deny, no action ran."""
    held = record.get("held_at_gate")
    return isinstance(held, dict) and held.get("stage") == record.get("prod_stage") and not held.get("released_at")


def classify(records: list[dict[str, Any]], rules: Rules | None = None) -> Changes:
    """Every production deployment of `records`, each failed one with its one failure, and the restores."""
    rules = rules or Rules()
    runs = sorted(filter(None, map(production_run, records)), key=lambda d: (d.ended, d.execution_id))
    deployments = [d for d in runs if not d.rollback]
    rollbacks = [d for d in runs if d.rollback]
    by_id = {d.execution_id: d for d in deployments}
    unattributed: list[dict[str, Any]] = []

    def fail(deployment: Deployment, cause: str, detail: str, since: datetime | None = None,
             evidence: str | None = None) -> None:
        if deployment.failure is None:
            deployment.failure = Failure(cause, detail, since or deployment.ended, evidence)
        elif cause != deployment.failure.cause or evidence != deployment.failure.evidence:
            deployment.failure.also.append(f"{cause}: {detail}")

    # Facts on the deployment itself, in the order of precedence.
    for d in deployments:
        warden = d.facts.get("rolled_back") or {}
        if warden:
            fail(d, WARDEN, f"rolled back by Warden: alarm {warden.get('alarm', '?')}",
                 _at(warden.get("alarm_at")), warden.get("rollback_execution_id"))
        codedeploy = d.facts.get("codedeploy_rollback") or {}
        if codedeploy:
            fail(d, CODEDEPLOY, f"CodeDeploy rolled back deployment {codedeploy.get('deployment_id', '?')}"
                 + (f" ({codedeploy['code']})" if codedeploy.get("code") else ""), _at(codedeploy.get("at")),
                 codedeploy.get("rollback_deployment_id"))

    # Rollback executions: each to one deployment.
    for r in rollbacks:
        named = (r.facts.get("rollback_cause") or {}).get("rolled_back_execution_id")
        if named:
            target = by_id.get(named)
            if target is not None:
                fail(target, WARDEN, f"rolled back by Warden: alarm {r.facts['rollback_cause'].get('alarm', '?')}",
                     _at(r.facts["rollback_cause"].get("alarm_at")), r.execution_id)
            else:
                unattributed.append({"rollback": r.execution_id, "service": r.service,
                                     "why": f"the execution it rolled back ({named}) is not a production deployment "
                                            "in the ledger's period"})
            continue
        live = [d for d in deployments if d.service == r.service and d.started <= r.started]
        if not live:
            unattributed.append({"rollback": r.execution_id, "service": r.service,
                                 "why": "no production deployment of the service before it"})
            continue
        target = live[-1]
        if r.started - target.ended > rules.window:
            unattributed.append({"rollback": r.execution_id, "service": r.service,
                                 "why": f"the latest production deployment ({target.execution_id}) ended more than "
                                        f"{_hours(rules.window)} before it"})
            continue
        fail(target, CODEPIPELINE, f"rolled back by CodePipeline ({r.trigger_type or 'rollback'}) "
             f"in execution {r.execution_id}", None, r.execution_id)

    for d in deployments:
        alarm = d.facts.get("alarm_in_bake") or {}
        if alarm:
            fail(d, ALARM, f"alarm {alarm.get('alarm', '?')} fired in its bake window", _at(alarm.get("at")))
        if not d.succeeded and d.facts.keys().isdisjoint(("rolled_back", "codedeploy_rollback")):
            fail(d, STAGE_FAILED, "its production stage failed")

    _reverts_and_hotfixes(deployments, rules, fail)
    for d in deployments:
        if d.failure is not None:
            _restore(d, [*deployments, *rollbacks])
    return Changes(deployments, rollbacks, unattributed)


def _reverts_and_hotfixes(deployments: list[Deployment], rules: Rules, fail: Any) -> None:
    services: dict[str, list[Deployment]] = {}
    for d in deployments:
        services.setdefault(d.service, []).append(d)
    for seq in services.values():
        for i, nxt in enumerate(seq[1:], start=1):
            if not nxt.succeeded:
                continue  # a change that never reached production reverts nothing
            prev, earlier = seq[i - 1], seq[:i - 1]
            reverted, detail = None, ""
            if _REVERT.match(nxt.message or ""):
                named = _REVERTS_COMMIT.search(nxt.message or "")
                sha = named.group(1).lower() if named else None
                found = [d for d in seq[:i] if sha and (d.commit_id or "").lower().startswith(sha)]
                reverted = found[-1] if found else prev
                detail = f'reverted by {nxt.execution_id} (commit message "Revert ...")'
            elif (nxt.commit_id and prev.commit_id and nxt.commit_id != prev.commit_id
                  and any(d.succeeded and d.commit_id == nxt.commit_id for d in earlier)):
                reverted = prev
                detail = f"{nxt.execution_id} redeployed the earlier revision {nxt.commit_id[:10]}"
            if reverted is not None:
                if nxt.started - reverted.ended <= rules.window:
                    fail(reverted, REVERTED, detail, None, nxt.execution_id)
                continue
            if rules.is_hotfix(nxt) and nxt.started - prev.ended <= rules.window:
                fail(prev, HOTFIXED, f"hotfixed by {nxt.execution_id} ({nxt.branch or 'hotfix commit'})",
                     None, nxt.execution_id)


def _restore(failed: Deployment, runs: list[Deployment]) -> None:
    failure = failed.failure
    assert failure is not None
    after = sorted((d for d in runs if d.service == failed.service and d is not failed and d.healthy
                    and d.ended > failure.since and d.ended >= failed.ended), key=lambda d: d.ended)
    if after:
        failure.restored_at, failure.restored_by = after[0].ended, after[0].execution_id


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g} h"
