"""Routing rules: which audiences hear of an event, how loudly, and when to stay silent.

Rules are tried in order; the first whose `match` fits decides, and whatever it leaves unset comes
from the defaults below. No rule matching means the defaults alone.

Paging is one policy for every page Warden sends (failures, rollbacks, approval tiers, slow executions):
the `paging` rules, tried in order, the first that fits decides whether on-call hears of it at all
(`page: false` takes on-call out of the audiences: no PagerDuty incident, no OnCallTopic message) and
how urgently (`urgency: low` pages PagerDuty at a low-urgency severity). It is applied where every notice
is delivered (warden.notify.notifier), after the routing rule or the escalation tier chose the
audiences, so "page only for prod pipelines" is one rule however the page came about.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import Field

from warden.core.documents import StrictDocument
from warden.core.kinds import Audience, EventKind, Severity


class Match(StrictDocument):
    pipelines: list[str] = Field(default_factory=lambda: ["*"], description="pipeline name globs")
    events: list[EventKind] = Field(default_factory=list, description="event kinds; empty means any")
    states: list[str] = Field(default_factory=list, description="raw states (FAILED, ...); empty means any")
    stages: list[str] = Field(default_factory=list, description="stage name globs; empty means any")
    accounts: list[str] = Field(default_factory=list, description="account ids; empty means any")

    def fits(self, *, event: str, pipeline: str | None, state: str | None, stage: str | None,
             account: str | None) -> bool:
        name = pipeline or ""
        return (
            any(fnmatchcase(name, glob) for glob in self.pipelines)
            and (not self.events or event in self.events)
            and (not self.states or (state or "").upper() in {s.upper() for s in self.states})
            and (not self.stages or any(fnmatchcase(stage or "", glob) for glob in self.stages))
            and (not self.accounts or account in self.accounts)
        )


class Rule(StrictDocument):
    name: str
    match: Match = Field(default_factory=Match)
    audiences: list[Audience] | None = None
    severity: Severity | None = None
    mute: bool = False
    runbook: str | None = None
    # The Slack channel (id or #name) of the Slack app's approval requests for these pipelines
    # (warden.approvals.posting): the first rule fitting approval.needed that names one.
    slack_channel: str | None = Field(None, min_length=1, max_length=80)


Urgency = Literal["high", "low"]


class PagingRule(StrictDocument):
    name: str
    match: Match = Field(default_factory=Match)
    page: bool = Field(True, description="false: on-call is neither paged nor messaged (the other audiences are)")
    urgency: Urgency | None = Field(None, description="low: PagerDuty at a low-urgency severity (warning)")


class SlowThreshold(StrictDocument):
    pipelines: list[str] = Field(default_factory=lambda: ["*"], description="pipeline name globs")
    minutes: int = Field(gt=0, le=8 * 24 * 60, description="running longer than this sends pipeline.slow")


DEFAULT_SLOW_MINUTES = 30


class RoutingConfig(StrictDocument):
    rules: list[Rule] = Field(default_factory=list)
    # Who is paged, and how urgently, for every page: the first paging rule that fits decides.
    paging: list[PagingRule] = Field(default_factory=list)
    # When a running execution is slow: the first entry whose `pipelines` match; else `slow_after_minutes`.
    slow_after_minutes: int = Field(DEFAULT_SLOW_MINUTES, gt=0, le=8 * 24 * 60)
    slow_executions: list[SlowThreshold] = Field(default_factory=list)

    def slow_after(self, pipeline: str) -> int:
        """Minutes after which an execution of `pipeline` still running is slow."""
        for entry in self.slow_executions:
            if any(fnmatchcase(pipeline, glob) for glob in entry.pipelines):
                return entry.minutes
        return self.slow_after_minutes

    def earliest_slow(self) -> int:
        """The shortest threshold of any pipeline: what the sweep must read from the running index."""
        return min([self.slow_after_minutes, *(e.minutes for e in self.slow_executions)])


@dataclass(frozen=True)
class Decision:
    audiences: tuple[str, ...]
    severity: str
    muted: bool = False
    runbook: str | None = None
    rule: str = "default"
    urgency: str | None = None  # "low": PagerDuty pages at a low-urgency severity (None: as the severity says)
    why_urgency: str | None = None  # said in the page's details
    paging: str | None = None  # the paging rule that decided, if one did


# Safe defaults: failures and rollbacks page on-call; approvals go to approvers; the rest informs
# the team; stopped and superseded executions never page.
DEFAULTS: dict[str, Decision] = {
    "pipeline.failed": Decision(("oncall", "chat"), "critical"),
    "stage.failed": Decision(("oncall", "chat"), "critical"),
    "action.failed": Decision(("oncall", "chat"), "critical"),
    "deployment.failed": Decision(("oncall", "chat"), "critical"),
    "deployment.rolled_back": Decision(("oncall", "chat"), "critical"),
    "rollback.started": Decision(("oncall", "chat"), "critical"),
    # Warden held back from a rollback an alarm asked for: on-call and the team decide instead.
    "rollback.skipped": Decision(("oncall", "team"), "high"),
    "approval.needed": Decision(("approvers", "chat"), "info"),
    "approval.escalated": Decision(("approvers",), "warning"),
    "approval.approved": Decision(("team",), "info"),
    "approval.rejected": Decision(("team", "approvers"), "warning"),
    "pipeline.started": Decision(("team",), "info"),
    "pipeline.succeeded": Decision(("team", "chat"), "info"),
    "deployment.succeeded": Decision(("team",), "info"),
    "pipeline.stopped": Decision(("team",), "info"),
    "pipeline.superseded": Decision(("team",), "info", muted=True),
    "artifact.noncompliant": Decision(("team",), "warning"),
    # An execution still running past its pipeline's threshold (warden.health.slow): worth a look, not a page.
    "pipeline.slow": Decision(("team",), "warning"),
    # A configuration document that does not validate: the team, who own it (never muted by a rule: see
    # warden.notify.config_notices).
    "config.invalid": Decision(("team",), "high"),
    # The deployment gate held a deployment (a freeze's deny failed its stage, or its CodeDeploy deployment): the
    # team hears of it once; nobody is paged, no incident opens (warden.notify.holds).
    "deployment.held": Decision(("team",), "info"),
}


def page_policy(config: RoutingConfig, decision: Decision, *, event: str, pipeline: str | None = None,
                state: str | None = None, stage: str | None = None, account: str | None = None) -> Decision:
    """`decision` as the paging rules have it: the first that fits takes on-call out (`page: false`) or sets
    the urgency; none fitting leaves it as it is."""
    rule = next((r for r in config.paging if r.match.fits(event=event, pipeline=pipeline, state=state, stage=stage,
                                                          account=account)), None)
    if rule is None:
        return decision
    if not rule.page:
        return replace(decision, audiences=tuple(a for a in decision.audiences if a != "oncall"), paging=rule.name)
    if rule.urgency:
        return replace(decision, urgency=rule.urgency, why_urgency=f"paging rule {rule.name}", paging=rule.name)
    return replace(decision, paging=rule.name)


def decide(config: RoutingConfig, *, event: str, pipeline: str | None = None, state: str | None = None,
           stage: str | None = None, account: str | None = None) -> Decision:
    default = DEFAULTS.get(event, Decision(("team",), "info"))
    for rule in config.rules:
        if rule.match.fits(event=event, pipeline=pipeline, state=state, stage=stage, account=account):
            return Decision(
                audiences=tuple(rule.audiences) if rule.audiences is not None else default.audiences,
                severity=rule.severity or default.severity,
                muted=rule.mute,
                runbook=rule.runbook,
                rule=rule.name,
            )
    return default
