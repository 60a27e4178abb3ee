"""The vocabulary shared by routing, messages and the replay contract (tests/contract/replay.schema.json)."""

from typing import Literal

Severity = Literal["critical", "high", "warning", "info"]
Audience = Literal["oncall", "approvers", "team", "chat"]
EventKind = Literal[
    "pipeline.started",
    "pipeline.succeeded",
    "pipeline.failed",
    "pipeline.stopped",
    "pipeline.superseded",
    "stage.failed",
    "action.failed",
    "approval.needed",
    "approval.approved",
    "approval.rejected",
    "approval.escalated",
    "deployment.succeeded",
    "deployment.failed",
    "deployment.rolled_back",
    "artifact.noncompliant",
    "rollback.started",
    "rollback.skipped",
    "pipeline.slow",
    # A stored configuration document that does not validate (warden.notify.config_notices): told once.
    "config.invalid",
    # The deployment gate (warden.freeze): an automatic freeze and its lift, told once each; a break-glass override.
    "freeze.started",
    "freeze.lifted",
    "freeze.override",
    "freeze.error",
    # A deployment the gate held (its deny failed the stage, or the CodeDeploy deployment): told, never paged.
    "deployment.held",
]

SEVERITY_RANK = {"info": 0, "warning": 1, "high": 2, "critical": 3}
FAILURE_EVENTS = frozenset({"pipeline.failed", "stage.failed", "action.failed"})
