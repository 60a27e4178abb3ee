"""The one way Warden reads CodePipeline: per (account, region), with one error policy.

A pipeline lives in an account and a region, and so do its events: every read goes to the region
the event (or the tracked approval) names, and to a workload account through the optional read
role. Which account is Warden's own is decided here (`is_own`) and nowhere else.

Every read is a pure function of CodePipeline's state at that moment, so a redelivered or reordered
event only asks again. Its answer is either what CodePipeline said, or an `Unknown` that carries why
it could not be read (not found, access denied, throttled past botocore's retries, no read role).
Callers never get an empty answer for "could not ask": a pipeline that cannot be read is unknown,
never "not pending" or "no failed action", so domain code can say so instead of going silent.
Clients are created once per (account, region) for the container's life; AssumeRole runs on the
first call of a workload client and again before its credentials expire (botocore's refreshable
credentials), so a role that cannot be assumed fails that call and becomes `Unknown` like any read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from warden.core.accounts import is_own
from warden.core.log import logger

if TYPE_CHECKING:
    from warden.aws.clients import Clients

ROLE_SESSION_NAME = "pipeline-warden"
FINAL_ACTION_STATUSES = frozenset({"Succeeded", "Failed", "Abandoned"})


@dataclass(frozen=True)
class Unknown:
    """CodePipeline could not be asked or did not answer. `reason` is one line for people."""

    reason: str
    code: str = "error"  # no_role | not_found | access_denied | throttled | error

    def __bool__(self) -> bool:  # an unknown answer is never mistaken for a positive one
        return False


@dataclass(frozen=True)
class ApprovalStatus:
    """What CodePipeline shows for one approval action: `pending` is positive evidence either way."""

    pending: bool
    status: str | None  # the action's status (InProgress, Succeeded, ...), None when not run
    token: str | None
    execution_id: str | None  # the pipeline execution that ran the action last


_THROTTLED = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "InvalidClientTokenId",
           "ExpiredToken", "ExpiredTokenException"}


def _unknown(exc: Exception, what: str) -> Unknown:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    if code.endswith("NotFoundException"):
        kind = "not_found"
    elif code in _DENIED:
        kind = "access_denied"
    elif code in _THROTTLED:
        kind = "throttled"
    else:
        kind = "error"
    return Unknown(f"{what}: {code or type(exc).__name__}: {_message(exc)}", kind)


def _message(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Message") or exc)[:300]


class CodePipelineGateway:
    """CodePipeline reads of any (account, region). `account` empty means this account (an approval
    message names none); `region` empty means Warden's own region."""

    def __init__(self, clients: Clients, *, own_account: str = "", own_region: str = "",
                 role_name: str = "", deploy_role_name: str = "") -> None:
        """`deploy_role_name`: the role assumed to act (PutApprovalResult) in a workload account, if any."""
        self._clients = clients
        self.own_account = own_account
        self.own_region = own_region
        self.role_name = role_name
        self.deploy_role_name = deploy_role_name
        self._made: dict[tuple[str, str], Any] = {}
        self._acting: dict[tuple[str, str], Any] = {}

    # -- where ------------------------------------------------------------------------------------
    def is_own(self, account: str | None) -> bool:
        """Warden's own (tools) account (warden.core.accounts)."""
        return is_own(account, self.own_account)

    def client(self, account: str | None, region: str | None) -> Any | Unknown:
        """The CodePipeline client of (account, region), created once; Unknown without a read role."""
        region = region or self.own_region or None
        own = self.is_own(account)
        if not own and not self.role_name:
            return Unknown(f"no read role for account {account} (WorkloadReadRoleName is not set)", "no_role")
        key = ("" if own else str(account), region or "")
        if key not in self._made:
            self._made[key] = (self._clients.client("codepipeline", region) if own
                               else self._assumed_client(str(account), region))
        return self._made[key]

    def role_arn(self, account: str) -> str:
        partition = self._clients.sts.meta.partition
        return f"arn:{partition}:iam::{account}:role/{self.role_name}"

    def _call(self, account: str | None, region: str | None, what: str, read: Any) -> Any:
        codepipeline = self.client(account, region)
        if isinstance(codepipeline, Unknown):
            return codepipeline
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return read(codepipeline)
        except (ClientError, BotoCoreError) as exc:
            unknown = _unknown(exc, what)
            logger.warning("CodePipeline could not be read", extra={
                "account": account, "region": region, "read": what, "reason": unknown.reason})
            return unknown

    # -- reads ------------------------------------------------------------------------------------
    def state(self, account: str | None, region: str | None, pipeline: str) -> dict[str, Any] | Unknown:
        """GetPipelineState."""
        return self._call(account, region, f"GetPipelineState {pipeline}",
                          lambda cp: cp.get_pipeline_state(name=pipeline))

    def definition(self, account: str | None, region: str | None, pipeline: str) -> dict[str, Any] | Unknown:
        """GetPipeline: the pipeline's structure (`stages`, ...)."""
        return self._call(account, region, f"GetPipeline {pipeline}",
                          lambda cp: cp.get_pipeline(name=pipeline)["pipeline"])

    def execution(self, account: str | None, region: str | None, pipeline: str,
                  execution_id: str) -> dict[str, Any] | Unknown:
        """GetPipelineExecution."""
        return self._call(account, region, f"GetPipelineExecution {pipeline}/{execution_id}",
                          lambda cp: cp.get_pipeline_execution(
                              pipelineName=pipeline, pipelineExecutionId=execution_id)["pipelineExecution"])

    def action_executions(self, account: str | None, region: str | None, pipeline: str,
                          execution_id: str) -> list[dict[str, Any]] | Unknown:
        """Every action execution of one pipeline execution (ListActionExecutions, all pages)."""
        def read(cp: Any) -> list[dict[str, Any]]:
            pages = cp.get_paginator("list_action_executions").paginate(
                pipelineName=pipeline, filter={"pipelineExecutionId": execution_id})
            return [run for page in pages for run in page.get("actionExecutionDetails", [])]

        return self._call(account, region, f"ListActionExecutions {pipeline}/{execution_id}", read)

    def action_run(self, account: str | None, region: str | None, pipeline: str, execution_id: str,
                   stage: str, action: str, action_execution_id: str | None = None) -> dict[str, Any] | None | Unknown:
        """The latest run of one action in one execution (that run, given its `action_execution_id`, when
        CodePipeline lists it: a stage retried runs the action again); None when the execution did not run it."""
        runs = self.action_executions(account, region, pipeline, execution_id)
        if isinstance(runs, Unknown):
            return runs
        mine = [r for r in runs if (r.get("stageName"), r.get("actionName")) == (stage, action)]
        exact = [r for r in mine if action_execution_id and r.get("actionExecutionId") == action_execution_id]
        return max(exact or mine, key=_updated, default=None)

    def failed_action(self, account: str | None, region: str | None, pipeline: str,
                      execution_id: str) -> dict[str, Any] | None | Unknown:
        """{"stage", "action", "error", "logs", "provider", "external_id"} of the first failed action of an execution
        (ListActionExecutions lists the newest first: a retried stage's latest run); None if none failed.
        `provider`: its action type's (`CodeDeploy`, ...); `external_id`: what it ran there (a deployment id)."""
        runs = self.action_executions(account, region, pipeline, execution_id)
        if isinstance(runs, Unknown):
            return runs
        for run in runs:
            if run.get("status") == "Failed":
                result = (run.get("output") or {}).get("executionResult") or {}
                details = result.get("errorDetails") or {}
                return {"stage": run.get("stageName"), "action": run.get("actionName"),
                        "error": details.get("message") or result.get("externalExecutionSummary"),
                        "logs": result.get("externalExecutionUrl"),
                        "provider": ((run.get("input") or {}).get("actionTypeId") or {}).get("provider"),
                        "external_id": result.get("externalExecutionId")}
        return None

    def approver(self, account: str | None, region: str | None, pipeline: str, execution_id: str,
                 stage: str, action: str, action_execution_id: str | None = None) -> str | None | Unknown:
        """Who decided an approval (`updatedBy` of its action execution); None when CodePipeline names nobody."""
        run = self.action_run(account, region, pipeline, execution_id, stage, action, action_execution_id)
        return run if isinstance(run, Unknown) else (run or {}).get("updatedBy")

    def approval(self, account: str | None, region: str | None, pipeline: str, stage: str, action: str, *,
                 execution_id: str | None = None, token: str | None = None,
                 state: dict[str, Any] | Unknown | None = None,
                 action_execution_id: str | None = None) -> ApprovalStatus | Unknown:
        """Whether an approval is still pending, as CodePipeline shows it.

        Positive evidence only: pending is False when the action shows a final status, or runs with a
        different token or action execution id (the stage retried, the approval asked again), for this
        execution. A pipeline that cannot be read, or that does not show the
        action at all (deleted, renamed, another region), is Unknown. `state`: a GetPipelineState answer
        already read (a sweep reads each pipeline once).
        """
        if state is None:
            state = self.state(account, region, pipeline)
        if isinstance(state, Unknown):
            return state
        current = action_state(state, stage, action)
        if current is None:
            return Unknown(f"pipeline {pipeline} has no action {stage}/{action}", "not_found")
        if execution_id and current.execution_id and current.execution_id != execution_id:
            # Another execution is the stage's latest (PARALLEL mode): ask about this one.
            run = self.action_run(account, region, pipeline, execution_id, stage, action, action_execution_id)
            if isinstance(run, Unknown):
                return run
            if run is None:
                return Unknown(f"execution {execution_id} shows no run of {stage}/{action}", "not_found")
            status = run.get("status")
            moved_on = bool(action_execution_id and run.get("actionExecutionId")
                            and run["actionExecutionId"] != action_execution_id)
            return ApprovalStatus(status == "InProgress" and not moved_on, status, token, execution_id)
        if current.status in FINAL_ACTION_STATUSES:
            return ApprovalStatus(False, current.status, current.token, current.execution_id)
        if current.status == "InProgress":
            moved_on = bool(token and current.token and current.token != token) or bool(
                action_execution_id and current.action_execution_id
                and current.action_execution_id != action_execution_id)
            return ApprovalStatus(not moved_on, current.status, current.token, current.execution_id)
        return Unknown(f"{stage}/{action} shows status {current.status or 'none'}", "error")

    # -- the one write: a decision made from chat (warden.approvals.gateway) -------------------------
    def put_approval_result(self, account: str | None, region: str | None, pipeline: str, stage: str, action: str,
                            *, token: str, status: str, summary: str) -> datetime | Unknown:
        """PutApprovalResult in the pipeline's account and region (a workload account's through the deploy
        role): when CodePipeline recorded it, or Unknown with CodePipeline's error code as `code`
        (`ApprovalAlreadyCompletedException`, `InvalidApprovalTokenException`, ...) or `no_role`/`throttled`.
        The token is never part of what is returned or logged."""
        region = region or self.own_region or None
        own = self.is_own(account)
        if not own and not self.deploy_role_name:
            return Unknown(f"no deploy role for account {account} (WorkloadDeployRoleName is not set)", "no_role")
        key = ("" if own else str(account), region or "")
        if key not in self._acting:
            self._acting[key] = (self._clients.client("codepipeline", region) if own
                                 else self._assumed_client(str(account), region, self.deploy_role_name, "deploy"))
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._acting[key].put_approval_result(
                pipelineName=pipeline, stageName=stage, actionName=action, token=token,
                result={"status": status, "summary": summary[:512]})
        except (ClientError, BotoCoreError) as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code", "") or type(exc).__name__
            reason = f"PutApprovalResult {pipeline}/{stage}/{action}: {code}"
            logger.warning("CodePipeline refused the approval result", extra={
                "account": account, "region": region, "reason": reason})
            return Unknown(reason, "throttled" if code in _THROTTLED else code)
        return answer.get("approvedAt")

    # -- clients ----------------------------------------------------------------------------------
    def _assumed_client(self, account: str, region: str | None, role_name: str = "", purpose: str = "read") -> Any:
        from warden.aws.clients import assumed_session, client_config

        region = region or self._clients.session.region_name
        role_arn = f"arn:{self._clients.sts.meta.partition}:iam::{account}:role/{role_name or self.role_name}"
        session = assumed_session(self._clients.sts, role_arn, region,
                                  session_name=ROLE_SESSION_NAME, purpose=f"workload {purpose} ({account})")
        return session.client("codepipeline", config=client_config())


@dataclass(frozen=True)
class LatestAction:
    execution_id: str | None  # the stage's latest pipeline execution
    status: str | None
    token: str | None
    action_execution_id: str | None = None  # which run of the action (a stage retried runs it again)


def action_state(state: dict[str, Any], stage: str, action: str) -> LatestAction | None:
    """One action of a GetPipelineState answer; None when the pipeline has no such action."""
    for stage_state in state.get("stageStates", []):
        if stage_state.get("stageName") != stage:
            continue
        for found in stage_state.get("actionStates", []):
            if found.get("actionName") == action:
                latest = found.get("latestExecution") or {}
                return LatestAction((stage_state.get("latestExecution") or {}).get("pipelineExecutionId"),
                                    latest.get("status"), latest.get("token"), latest.get("actionExecutionId"))
    return None


def _updated(run: dict[str, Any]) -> datetime | str:
    return run.get("lastUpdateTime") or run.get("startTime") or ""
