"""DeploymentTracker's domain: CodePipeline state changes -> the deployment ledger (layout: ledger_keys).

Delivery is at least once and out of order, so every write converges instead of assuming an order:
- statuses carry an order key (attempt, terminal or not, time) and are written only over a lower one,
  so a terminal status never goes back and a duplicate changes nothing;
- facts (trigger, commit, author) are plain SETs of the same values; the status history is a string
  set (ADD is idempotent); a start time from a later event is provisional (`if_not_exists`) until the
  STARTED event or the event's `start-time` says it, and moves back when an earlier event of the execution
  arrives later (`_earlier_start`, conditional); durations are computed inside the update;
- a stage's "current deployment" item moves only forward in time, and when facts reach an execution
  after its stages succeeded (the returned old image says which), those items are refreshed.
Enrichment (GetPipelineExecution, GetCommit, ListActionExecutions) that fails leaves the record built
from the event, marked `enrichment: partial`; a later event of the execution tries again. A workload
account's pipeline is read through its read role (warden.aws.codepipeline); without one, the record is built
from the event alone (`enrichment: event`, not partial: nothing failed), and GetCommit is never asked
of this account's CodeCommit for another account's commit.
Current items, the history index and `Recorded.pipeline` use the pipeline's ref (warden.ledger.refs):
its name in this account, `<account>/<name>` in a workload account, so same-named pipelines stay apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from warden.aws.codepipeline import CodePipelineGateway, Unknown
from warden.aws.dynamodb import from_item, to_av
from warden.core import clock
from warden.core.log import logger
from warden.core.text import LIMITS, clean
from warden.ledger.artifacts import deploy_inputs
from warden.ledger.config import LedgerConfig
from warden.ledger.facts import stored
from warden.ledger.keys import (
    APPROVAL_PREFIX,
    CURRENT_GSI1PK,
    RUNNING_GSI4PK,
    approval_attr,
    commit_pk,
    current_key,
    execution_key,
    history_pk,
    month_pk,
    running_sk,
    stage_attr,
)
from warden.ledger.refs import pipeline_ref
from warden.ledger.view import CURRENT_FACTS, current_fields, execution_view

TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED", "SUPERSEDED", "CANCELED", "ABANDONED"}
PIPELINE_CACHE_SECONDS = 3600  # stage lists change with UpdatePipeline, rarely; an hour old is fine
# A CodeCommit revision URL names its repository: .../codecommit/repositories/<repo>/commit/<sha>
_CODECOMMIT_URL = re.compile(r"/codecommit/repositories/([^/]+)/commit/")


def order_key(attempt: int | None, state: str, moment: datetime) -> str:
    """Sorts later attempts last, then terminal states after running ones, then by time."""
    return f"{attempt or 1:04d}#{int(state in TERMINAL)}#{clock.iso(moment)}"


def _epoch(moment: datetime) -> float:
    return round(moment.timestamp(), 3)


def _is_condition_failure(exc: Exception) -> bool:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _enrichment_errors() -> tuple[type[Exception], ...]:
    """What a failed GetCommit raises (imported late: botocore costs cold start)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return ClientError, BotoCoreError


class LedgerIncomplete(Exception):
    """Part of an event could not be recorded yet (a read failed): Lambda retries, and the retry heals it."""


@dataclass(frozen=True)
class _ApprovalRef:
    """What `Ledger._approval` needs of an approval event, for one recorded without its approver."""

    pipeline: str
    execution_id: str
    stage: str
    action: str
    state: str


STAGES_PENDING = "stages_pending"


@dataclass
class Metric:
    name: str
    unit: str  # "Count" | "Seconds"
    value: float


@dataclass
class Recorded:
    """What one event did to the ledger, for the handler's log line and its EMF metrics."""

    kind: str
    pipeline: str  # the pipeline's ref: its name, or `<account>/<name>` for a workload account's
    execution_id: str
    applied: bool  # False: a duplicate or an event older than what is recorded
    partial: bool = False
    metrics: list[Metric] = field(default_factory=list)


class _Update:
    """An UpdateItem request built clause by clause, with placeholders for every name and value."""

    def __init__(self) -> None:
        self.sets: list[str] = []
        self.adds: list[str] = []
        self.removes: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def name(self, attr: str) -> str:
        for placeholder, known in self.names.items():
            if known == attr:
                return placeholder
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = attr
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = to_av(value)
        return placeholder

    def set(self, attr: str, value: Any, *, if_absent: bool = False) -> None:
        if value is None:
            return
        name, placeholder = self.name(attr), self.value(value)
        self.sets.append(f"{name} = if_not_exists({name}, {placeholder})" if if_absent else f"{name} = {placeholder}")

    def set_expr(self, attr: str, expression: str) -> None:
        self.sets.append(f"{self.name(attr)} = {expression}")

    def add(self, attr: str, value: Any) -> None:
        self.adds.append(f"{self.name(attr)} {self.value(value)}")

    def remove(self, attr: str) -> None:
        self.removes.append(self.name(attr))

    def request(self, table: str, key: dict[str, str], condition: str | None = None,
                returns: str = "NONE") -> dict[str, Any]:
        clauses = [f"{verb} {', '.join(parts)}" for verb, parts in
                   (("SET", self.sets), ("ADD", self.adds), ("REMOVE", self.removes)) if parts]
        request = {"TableName": table, "Key": {k: to_av(v) for k, v in key.items()},
                   "UpdateExpression": " ".join(clauses), "ExpressionAttributeNames": self.names,
                   "ReturnValues": returns}
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        if condition:
            request["ConditionExpression"] = condition
        return request


def _timing(update: _Update, attrs: tuple[str, str, str, str, str], start: datetime, start_known: bool,
            end: datetime | None) -> None:
    """Start/end/duration of an execution or a stage; `attrs` are (started_at, started_s, ended_at, ended_s,
    duration_s). An unknown start is provisional: the first event's time until a known one arrives."""
    started_at, started_s, ended_at, ended_s, duration_s = attrs
    s = _epoch(start)
    update.set(started_at, clock.iso(start), if_absent=not start_known)
    update.set(started_s, s, if_absent=not start_known)
    if end is not None:
        e = update.value(_epoch(end))
        update.set(ended_at, clock.iso(end))
        update.set_expr(ended_s, e)
        update.set_expr(duration_s, f"{e} - if_not_exists({update.name(started_s)}, {e})")
    elif start_known:
        v = update.value(s)
        update.set_expr(duration_s, f"if_not_exists({update.name(ended_s)}, {v}) - {v}")


EXECUTION_TIMES = ("started_at", "started_s", "ended_at", "ended_s", "duration_s")


def _stage_times(stage: str) -> tuple[str, str, str, str, str]:
    return tuple(stage_attr(stage, f) for f in EXECUTION_TIMES)  # type: ignore[return-value]


def event_facts(detail: Any) -> dict[str, Any]:
    """What a pipeline event itself says about the execution (V2 `execution-trigger`, execution type)."""
    facts: dict[str, Any] = {}
    trigger = detail.execution_trigger
    if trigger is not None:
        facts |= {"trigger_type": trigger.trigger_type, "trigger_detail": trigger.trigger_detail,
                  "commit_id": trigger.commit_id, "commit_message": stored_message(trigger.commit_message),
                  "author": trigger.author_display_name or trigger.author_id, "author_email": trigger.author_email,
                  "author_date": trigger.author_date, "repository": trigger.full_repository_name,
                  "branch": trigger.branch_name, "tag": trigger.tag_name}
    if detail.is_rollback:
        facts["execution_type"] = "ROLLBACK"
        metadata = detail.rollback_metadata or {}
        facts["rollback_target"] = (metadata.get("rollback-target-pipeline-execution-id")
                                    or metadata.get("rollbackTargetPipelineExecutionId"))
    elif detail.execution_type:
        facts["execution_type"] = detail.execution_type.upper()
    return stored({k: v for k, v in facts.items() if v})  # cleaned and clipped (warden.ledger.facts)


def _principal(detail: str | None) -> str | None:
    """A trigger detail that names who started the execution (an IAM/STS ARN), else None."""
    return detail if detail and detail.startswith("arn:") and (":iam::" in detail or ":sts::" in detail) else None


def stored_message(message: str | None) -> str | None:
    """A commit message as the ledger keeps it: lines kept, controls and direction marks dropped,
    at most LIMITS["stored_commit_message"] characters (a 1 MB message must not fill an item)."""
    return clean(message, LIMITS["stored_commit_message"], one_line=False) if message else None


def _commit_message(summary: str | None) -> str | None:
    # Connections report {"ProviderType": "GitHub", "CommitMessage": "..."} as the revision summary.
    if summary and summary.startswith("{"):
        try:
            return json.loads(summary).get("CommitMessage") or summary
        except ValueError:
            return summary
    return summary


class ProductionStages:
    """Which stage of a pipeline is production: the `ledger` configuration, else the last stage
    (GetPipeline in the pipeline's account, cached per container)."""

    def __init__(self, config: Callable[[], LedgerConfig], codepipeline: CodePipelineGateway) -> None:
        self._config = config
        self._codepipeline = codepipeline
        self._stages: dict[tuple[str, str, str], tuple[list[str], float]] = {}
        self.failure: str | None = None  # why the last `stages` answered nothing: GetPipeline failed

    def is_production(self, account: str, region: str, pipeline: str, stage: str) -> bool:
        return self.production_stage(account, region, pipeline, [stage]) == stage

    def production_stage(self, account: str, region: str, pipeline: str, stages: list[str]) -> str | None:
        """The first of `stages` (in pipeline order) that is production, if any."""
        globs = self._config().production_globs(pipeline)
        if globs is not None:
            return next((s for s in stages if any(fnmatchcase(s, glob) for glob in globs)), None)
        every = self.stages(account, region, pipeline)
        return every[-1] if every and every[-1] in stages else None

    def stages(self, account: str, region: str, pipeline: str) -> list[str]:
        """The pipeline's stage names in order (GetPipeline, cached); empty when unknown, or when the
        pipeline's account cannot be read (then only the `ledger` configuration names production)."""
        now = clock.now().timestamp()
        cached = self._stages.get((account, region, pipeline))
        if cached and now - cached[1] < PIPELINE_CACHE_SECONDS:
            return cached[0]
        self.failure = None
        definition = self._codepipeline.definition(account, region, pipeline)
        if isinstance(definition, Unknown):
            # Not cached: the next event asks again. A read that failed (not a pipeline that is gone, nor an
            # account without a read role) is remembered, so that a success can say it is incomplete.
            if definition.code not in ("not_found", "no_role"):
                self.failure = f"GetPipeline: {definition.reason}"[:300]
            return []
        names = [s["name"] for s in definition["stages"]]
        self._stages[(account, region, pipeline)] = (names, now)
        return names


class Ledger:
    def __init__(self, *, dynamodb: Any, table: str, codepipeline: CodePipelineGateway, codecommit: Any = None,
                 config: Callable[[], LedgerConfig] = LedgerConfig) -> None:
        """`codecommit`: this account's CodeCommit (never asked about another account's commit)."""
        self._ddb = dynamodb
        self._table = table
        self._codepipeline = codepipeline
        self._codecommit = codecommit
        self._config = config
        self.production = ProductionStages(config, codepipeline)

    def record(self, event: Any) -> Recorded | None:
        """`event` is a parsed CodePipeline model; None for events the ledger does not keep."""
        from warden.models import ActionExecutionStateChange, PipelineExecutionStateChange, StageExecutionStateChange

        if isinstance(event, PipelineExecutionStateChange):
            return self._pipeline_event(event)
        if isinstance(event, StageExecutionStateChange):
            return self._stage_event(event)
        if isinstance(event, ActionExecutionStateChange) and event.detail.is_approval and event.detail.is_terminal:
            return self._approval_event(event)
        return None

    def ref(self, event: Any) -> str:
        """The ledger's identity of the event's pipeline (warden.ledger.refs)."""
        return pipeline_ref(event.account, event.detail.pipeline, self._codepipeline.own_account)

    # -- writes -------------------------------------------------------------------------------------
    def _update(self, key: dict[str, str], update: _Update, *, condition: str | None = None,
                returns: str = "ALL_NEW") -> dict[str, Any] | None:
        """The returned image, or None when the condition did not hold."""
        try:
            answer = self._ddb.update_item(**update.request(self._table, key, condition, returns))
        except Exception as exc:
            if _is_condition_failure(exc):
                return None
            raise
        return from_item(answer.get("Attributes"))

    def _execution_update(self, event: Any, *, pipeline_started: bool = False,
                          ended: datetime | None = None) -> _Update:
        """Identity, index keys and the (possibly provisional) start of the execution item."""
        detail, update, ref = event.detail, _Update(), self.ref(event)
        known = detail.start_time is not None or pipeline_started
        start = detail.start_time or event.time
        update.set("kind", "execution")
        update.set("pipeline", detail.pipeline)
        update.set("pipeline_ref", ref)
        update.set("execution_id", detail.execution_id)
        update.set("account", event.account)
        update.set("region", event.region)
        update.set("gsi1pk", history_pk(ref))
        sort = f"{clock.iso(start)}#{ref}#{detail.execution_id}"
        update.set("gsi1sk", f"{clock.iso(start)}#{detail.execution_id}", if_absent=not known)
        update.set("gsi2sk", sort, if_absent=not known)
        update.set("gsi3pk", month_pk(start), if_absent=not known)
        update.set("gsi3sk", sort, if_absent=not known)
        _timing(update, EXECUTION_TIMES, start, known, ended)
        return update

    def _earlier_stage_start(self, key: dict[str, str], event: Any, item: dict[str, Any]) -> None:
        """A stage's start, likewise: the earliest of its events (a RESUMED heard before the FAILED it resumed
        from must not leave the stage starting after it ended, with a negative duration)."""
        started_at, started_s, _, ended_s, duration_s = _stage_times(event.detail.stage)
        stored = item.get(started_s)
        if stored is None or float(stored) <= _epoch(event.time):
            return
        update = _Update()
        update.set(started_at, clock.iso(event.time))
        update.set(started_s, _epoch(event.time))
        if item.get(ended_s) is not None:
            update.set_expr(duration_s, f"{update.name(ended_s)} - {update.value(_epoch(event.time))}")
        update.values[":start"] = to_av(_epoch(event.time))
        self._update(key, update, condition=f"{update.name(started_s)} > :start")

    def _earlier_start(self, key: dict[str, str], event: Any, image: dict[str, Any] | None) -> None:
        """An execution's start is the earliest any of its events says. A start taken from the first event
        heard (provisional) moves back when an earlier event of the execution arrives later (a stage's SUCCEEDED
        heard before its STARTED, for an execution whose pipeline STARTED is not heard). A start that an event
        states (STARTED, `start-time`) is never later than any event of the execution, so it never moves; the
        write is conditional on the stored start being later, so redelivery and races converge."""
        start = event.detail.start_time or event.time
        stored = (image or {}).get("started_s")
        if stored is None or float(stored) <= _epoch(start):
            return
        detail, ref, update = event.detail, self.ref(event), _Update()
        sort = f"{clock.iso(start)}#{ref}#{detail.execution_id}"
        update.set("started_at", clock.iso(start))
        update.set("started_s", _epoch(start))
        update.set("gsi1sk", f"{clock.iso(start)}#{detail.execution_id}")
        update.set("gsi2sk", sort)
        update.set("gsi3pk", month_pk(start))
        update.set("gsi3sk", sort)
        if (image or {}).get("ended_s") is not None:
            update.set_expr("duration_s", f"{update.name('ended_s')} - {update.value(_epoch(start))}")
        update.values[":start"] = to_av(_epoch(start))
        self._update(key, update, condition=f"{update.name('started_s')} > :start")

    def _pipeline_event(self, event: Any) -> Recorded:
        detail, ref = event.detail, self.ref(event)
        key = execution_key(detail.pipeline, detail.execution_id)
        facts = event_facts(detail)

        def build(with_status: bool) -> _Update:
            ended = event.time if with_status and detail.state in TERMINAL else None
            update = self._execution_update(event, pipeline_started=detail.state == "STARTED", ended=ended)
            for name, value in facts.items():
                update.set(name, value)
            if "execution_type" not in facts:
                update.set("execution_type", "STANDARD", if_absent=True)
            if facts.get("commit_id"):
                update.set("gsi2pk", commit_pk(facts["commit_id"]))
            update.add("history", {f"{clock.iso(event.time)}|{detail.state}|{detail.attempt or 1}"})
            if with_status:
                update.set("status", detail.state)
                update.set("status_order", order_key(detail.attempt, detail.state, event.time))
                # The sparse running index follows the newest status only (this write is conditional on
                # it), so a late STARTED after the end never puts a finished execution back in it.
                if detail.state in TERMINAL:
                    update.remove("gsi4pk")
                    update.remove("gsi4sk")
                else:
                    update.set("gsi4pk", RUNNING_GSI4PK)
                    update.set("gsi4sk", running_sk(clock.iso(detail.start_time or event.time), ref,
                                                          detail.execution_id))
            return update

        # A succeeded execution ran every stage: it is what each stage runs now, even when stage
        # events are late, lost or not subscribed.
        rollback = facts.get("execution_type") == "ROLLBACK"  # a rollback runs only the rolled-back stage
        stages = (self.production.stages(event.account, event.region, detail.pipeline)
                  if detail.state == "SUCCEEDED" and not rollback else [])
        production = (self.production.production_stage(event.account, event.region, detail.pipeline, stages)
                      if stages else None)
        if production:
            facts["prod_stage"] = production

        order = order_key(detail.attempt, detail.state, event.time)
        status_condition = "attribute_not_exists(status_order) OR status_order < :order"
        update = build(with_status=True)
        update.values[":order"] = to_av(order)
        if stages:
            update.add("current_stages", set(stages))
        old = self._update(key, update, condition=status_condition, returns="ALL_OLD")
        applied = old is not None
        if not applied:
            old = self._update(key, build(with_status=False), returns="ALL_OLD") or {}
        self._earlier_start(key, event, old)
        # The identity too: `old` is empty when this event created the item.
        record = {"execution_type": "STANDARD", "pipeline": detail.pipeline, "execution_id": detail.execution_id,
                  "account": event.account} | old | facts | {"pipeline_ref": ref}
        self._refresh_current(old, record, ref)
        result = Recorded("pipeline", ref, detail.execution_id, applied)
        if self._needs_enrichment(record):
            result.partial, found = self._enrich(key, record, event.account, event.region, ref)
            record |= found
        if applied:
            result.metrics += self._execution_metrics(detail, old, event.time)
        # A success recorded while GetPipeline failed is healed by its retry or redrive (`stages_pending`
        # keeps the enrichment state to restore): current items and metrics are made then.
        healing = not applied and bool(old.get(STAGES_PENDING)) and bool(stages)
        if healing:
            heal = _Update()
            heal.add("current_stages", set(stages))
            heal.set("enrichment", old[STAGES_PENDING])
            heal.remove(STAGES_PENDING)
            heal.remove("partial_reason")
            self._update(key, heal)
            record["enrichment"] = old[STAGES_PENDING]
        if (applied or healing) and record.get("execution_type") != "ROLLBACK":
            view = execution_view(record | {"ended_at": clock.iso(event.time)})
            for stage in stages:
                if stage not in (old.get("current_stages") or ()):
                    result.metrics += self._deployed(view, stage, event.time, stage == production)
        self._heal_approvals(key, record, event.account, event.region, ref)
        unknown = detail.state == "SUCCEEDED" and not rollback and not stages and self.production.failure
        if unknown and (applied or old.get(STAGES_PENDING)):
            mark = _Update()
            mark.set(STAGES_PENDING, old.get(STAGES_PENDING) or record.get("enrichment") or "event")
            mark.set("enrichment", "partial")
            mark.set("partial_reason", self.production.failure)
            self._update(key, mark)
            # Retried by Lambda (and a redrive): the stages this success made current are still to record.
            raise LedgerIncomplete(f"current deployments not recorded: {self.production.failure}")
        return result

    @staticmethod
    def _execution_metrics(detail: Any, old: dict[str, Any], at: datetime) -> list[Metric]:
        """Pipeline health, once per status change (only an applied status write gets here): executions
        started, failed, and how long the finished ones took (the template's alarms watch these), in all and
        without the time they waited for manual approvals (the ones the ledger knows of by then, each from its
        action's start to its decision): a wait for a person is the escalation tiers' business, not slowness."""
        if detail.state == "STARTED":
            return [Metric("Executions", "Count", 1)]
        if detail.state not in ("SUCCEEDED", "FAILED"):
            return []
        metrics = [Metric("FailedExecutions", "Count", 1)] if detail.state == "FAILED" else []
        started = detail.start_time or (clock.parse_iso(old["started_at"]) if old.get("started_at") else None)
        if started is not None and at >= started:
            metrics.append(Metric("ExecutionDuration", "Seconds", (at - started).total_seconds()))
            metrics.append(Metric("ExecutionDurationExcludingApprovals", "Seconds",
                                  max(0.0, (at - started).total_seconds() - _approval_waits(old, started, at))))
        return metrics

    def _heal_approvals(self, key: dict[str, str], record: dict[str, Any], account: str, region: str,
                        ref: str) -> None:
        """Approvals recorded without their approver (ListActionExecutions failed) are looked up again."""
        partial = {name: value for name, value in record.items()
                   if name.startswith(APPROVAL_PREFIX) and isinstance(value, dict) and value.get("partial")}
        if not partial:
            return
        runs = self._codepipeline.action_executions(account, region, record["pipeline"], record["execution_id"])
        if isinstance(runs, Unknown):
            return  # still unknown: the record stays partial, a later event asks again
        for name, value in partial.items():
            at = clock.parse_iso(value["at"]) if value.get("at") else clock.now()
            ref_ = _ApprovalRef(record["pipeline"], record["execution_id"], value["stage"], value["action"],
                                str(value.get("status", "")).upper())
            found = _approval(ref_, runs, at)
            if found is None:
                continue
            update = _Update()
            update.set(name, found)
            old = self._update(key, update, returns="ALL_OLD") or {}
            self._refresh_current(old, old | {name: found}, ref)

    def _needs_enrichment(self, record: dict[str, Any]) -> bool:
        if record.get("enrichment") == "api":
            return False
        missing_target = record.get("execution_type") == "ROLLBACK" and not record.get("rollback_target")
        return not record.get("commit_id") or not record.get("author") or missing_target

    def _enrich(self, key: dict[str, str], record: dict[str, Any], account: str, region: str,
                ref: str) -> tuple[bool, dict[str, Any]]:
        """Fill what the event did not say from GetPipelineExecution (and GetCommit for CodeCommit).
        Returns (still partial, the facts written)."""
        pipeline, execution_id = record["pipeline"], record["execution_id"]
        found: dict[str, Any] = {}
        execution = self._codepipeline.execution(account, region, pipeline, execution_id)
        if isinstance(execution, Unknown) and execution.code == "no_role":
            # A workload account without a read role: the event is all there is, and nothing failed.
            if record.get("enrichment") == "event":
                return False, {}  # said already
            found = {"enrichment": "event"}
        elif isinstance(execution, Unknown):
            found = {"enrichment": "partial", "partial_reason": execution.reason[:300]}
        else:
            found = self._from_execution(execution)
            found["enrichment"] = "api"
        own = self._codepipeline.is_own(account)
        if found.get("repository_codecommit") and found.get("commit_id") and self._codecommit is not None and own:
            found |= self._from_codecommit(found.pop("repository_codecommit"), found["commit_id"])
        found.pop("repository_codecommit", None)
        if not (record.get("author") or found.get("author")):
            found["author"] = _principal(found.get("trigger_detail") or record.get("trigger_detail"))
        found = stored(found)  # a commit's author and e-mail are whatever its author wrote (warden.ledger.facts)
        # The event's own facts win; enrichment only fills gaps.
        new = {k: v for k, v in found.items() if v is not None and (k in ("enrichment", "partial_reason")
                                                                     or not record.get(k))}
        update = _Update()
        for name, value in new.items():
            update.set(name, value)
        if new["enrichment"] != "partial" and record.get("partial_reason"):
            update.remove("partial_reason")
        if new.get("commit_id"):
            update.set("gsi2pk", commit_pk(new["commit_id"]))
        old = self._update(key, update, returns="ALL_OLD") or {}
        self._refresh_current(old, old | new, ref)
        return new["enrichment"] == "partial", new

    @staticmethod
    def _from_execution(execution: dict[str, Any]) -> dict[str, Any]:
        trigger = execution.get("trigger") or {}
        revisions = execution.get("artifactRevisions") or []
        first = revisions[0] if revisions else {}
        found = {"trigger_type": trigger.get("triggerType"), "trigger_detail": trigger.get("triggerDetail") or None,
                 "execution_type": execution.get("executionType"),
                 "rollback_target": (execution.get("rollbackMetadata") or {}).get(
                     "rollbackTargetPipelineExecutionId"),
                 "commit_id": first.get("revisionId"),
                 "commit_message": stored_message(_commit_message(first.get("revisionSummary"))),
                 "revision_url": first.get("revisionUrl"),
                 "revisions": [{k: r.get(k) for k in ("name", "revisionId", "revisionUrl") if r.get(k)}
                               for r in revisions] or None}
        match = _CODECOMMIT_URL.search(first.get("revisionUrl") or "")
        found["repository_codecommit"] = match.group(1) if match else None
        if match:
            found["repository"] = match.group(1)
        return found

    def _from_codecommit(self, repository: str, commit_id: str) -> dict[str, Any]:
        try:
            commit = self._codecommit.get_commit(repositoryName=repository, commitId=commit_id)["commit"]
        except _enrichment_errors() as exc:
            logger.warning("GetCommit failed", extra={"repository": repository, "error": str(exc)})
            return {"enrichment": "partial", "partial_reason": f"GetCommit: {exc}"[:300]}
        author = commit.get("author") or {}
        return {"author": author.get("name"), "author_email": author.get("email"),
                "author_date": _git_date(author.get("date")), "commit_message": stored_message(commit.get("message"))}

    def _stage_event(self, event: Any) -> Recorded:
        detail, stage, state = event.detail, event.detail.stage, event.detail.state
        key = execution_key(detail.pipeline, detail.execution_id)
        production = self.production.is_production(event.account, event.region, detail.pipeline, stage)
        order = order_key(detail.attempt, state, event.time)
        times = _stage_times(stage)

        def build(with_status: bool) -> _Update:
            update = self._execution_update(event)
            ended = event.time if with_status and state in TERMINAL else None
            _timing(update, times, event.time, state == "STARTED", ended)
            if production:
                update.set("prod_stage", stage)
            if with_status:
                update.set(stage_attr(stage, "status"), state)
                update.set(stage_attr(stage, "order"), order)
                if state == "SUCCEEDED":
                    update.add("current_stages", {stage})
            return update

        update = build(with_status=True)
        update.values[":order"] = to_av(order)
        condition = f"attribute_not_exists({update.name(stage_attr(stage, 'order'))}) OR " \
                    f"{update.name(stage_attr(stage, 'order'))} < :order"
        item = self._update(key, update, condition=condition)
        applied = item is not None
        if not applied:
            item = self._update(key, build(with_status=False)) or {}
        self._earlier_start(key, event, item)
        self._earlier_stage_start(key, event, item)
        result = Recorded("stage", self.ref(event), detail.execution_id, applied)
        # A redelivery after a failed attempt finds its status written: finish the rest, without metrics.
        replayed = item.get(stage_attr(stage, "order")) == order
        if not (applied or replayed):
            return result
        view = execution_view(item)
        rollback = view.get("execution_type") == "ROLLBACK"
        metrics: list[Metric] = []
        if state == "SUCCEEDED":
            if "artifacts" not in view["stages"].get(stage, {}):
                result.partial = self._stage_artifacts(event, key) or result.partial
            metrics = self._deployed(view, stage, event.time, production)
        elif production and (state == "FAILED" or (state == "STARTED" and rollback)):
            metrics = self._production_failure(view, stage, event.time)
        if applied:
            result.metrics = metrics
        return result

    def _stage_artifacts(self, event: Any, key: dict[str, str]) -> bool:
        """Record where a deploying stage read its input artifacts (`stage:<name>:artifacts`, a list of
        {bucket, key}) from ListActionExecutions, for ArtifactGuard to keep the current deployment and its
        rollback target restorable. A fact of the execution: rewriting it on redelivery changes nothing.
        Returns True when it could not be read (the record is partial; the next event of the stage retries)."""
        from warden.aws.codepipeline import Unknown

        detail = event.detail
        actions = self._codepipeline.action_executions(event.account, event.region, detail.pipeline,
                                                       detail.execution_id)
        if isinstance(actions, Unknown):
            # No read role for that account: nothing failed. Otherwise the next stage event retries.
            logger.warning("stage artifacts unknown", extra={"pipeline": detail.pipeline, "why": actions.reason})
            return actions.code != "no_role"
        found = deploy_inputs(actions, detail.stage)
        if found:
            update = _Update()
            update.set(stage_attr(detail.stage, "artifacts"), found)
            self._update(key, update, returns="NONE")
        return False

    @staticmethod
    def _current_identity(view: dict[str, Any], stage: str) -> dict[str, Any]:
        """A current item's identity and index keys; `view["pipeline"]` is the ref (execution_view)."""
        ref = view["pipeline"]
        return {"pipeline": view.get("pipeline_name") or ref, "pipeline_ref": ref, "account": view.get("account"),
                "stage": stage, "gsi1pk": CURRENT_GSI1PK, "gsi1sk": f"{ref}#{stage}"}

    def _deployed(self, view: dict[str, Any], stage: str, at: datetime, production: bool) -> list[Metric]:
        """Move the stage's current deployment to this execution, unless a later one is there already.
        Metrics count once per execution and stage, whichever event (stage or pipeline) got there first."""
        key, t = current_key(view["pipeline"], stage), clock.iso(at)

        fields = current_fields(view, stage)

        def build(restore: bool) -> _Update:
            update = _Update()
            for name, value in (self._current_identity(view, stage) | fields).items():
                update.set(name, value)
            update.set("deployed_at", t)
            for name in CURRENT_FACTS:  # a fact this execution lacks must not linger from the previous one
                if name not in fields:
                    update.remove(name)
            if restore:
                update.remove("failed_since")
                update.remove("failed_execution")
            update.values[":t"] = to_av(t)
            update.values[":id"] = to_av(view["execution_id"])
            return update

        # The same execution may correct its own time (a stage's success is earlier than the pipeline's).
        newer = "(attribute_not_exists(deployed_at) OR deployed_at <= :t OR execution_id = :id)"
        # A failure recorded after this success stays: production was not restored by an older deployment.
        old = self._update(key, build(True), returns="ALL_OLD",
                           condition=f"{newer} AND (attribute_not_exists(failed_since) OR failed_since <= :t)")
        restored = old is not None and old.get("failed_since")
        if old is None:
            old = self._update(key, build(False), condition=newer, returns="ALL_OLD")
        if old is None or old.get("execution_id") == view["execution_id"]:
            return []
        metrics: list[Metric] = []
        if production and view.get("execution_type") != "ROLLBACK":
            metrics.append(Metric("Deployments", "Count", 1))
            if view.get("author_date"):
                lead = (at - clock.parse_iso(view["author_date"])).total_seconds()
                metrics.append(Metric("LeadTimeForChanges", "Seconds", lead))
        if production and restored:
            restore = (at - clock.parse_iso(old["failed_since"])).total_seconds()
            metrics.append(Metric("TimeToRestore", "Seconds", restore))
        return metrics

    def _production_failure(self, view: dict[str, Any], stage: str, at: datetime) -> list[Metric]:
        """Mark production as failing since `at` (a failed production stage, or a rollback reaching it)."""
        key, t = current_key(view["pipeline"], stage), clock.iso(at)
        update = _Update()
        for name, value in self._current_identity(view, stage).items():
            update.set(name, value)
        update.set("failed_since", t, if_absent=True)
        update.set("failed_execution", view["execution_id"], if_absent=True)
        update.values[":t"] = to_av(t)
        old = self._update(key, update, condition="attribute_not_exists(deployed_at) OR deployed_at < :t",
                           returns="ALL_OLD")
        if old is None:
            return []
        metrics = [Metric("ProductionFailures", "Count", 1)]
        window = self._config().change_failure_window_hours * 3600
        deployed = old.get("deployed_at")
        if deployed and not old.get("failed_since") and (at - clock.parse_iso(deployed)).total_seconds() <= window:
            metrics.append(Metric("ChangeFailures", "Count", 1))
        return metrics

    def _approval_event(self, event: Any) -> Recorded:
        detail = event.detail
        key = execution_key(detail.pipeline, detail.execution_id)
        runs = self._codepipeline.action_executions(event.account, event.region, detail.pipeline,
                                                    detail.execution_id)
        approval = (_approval(detail, runs, event.time) if not isinstance(runs, Unknown) else None) or {
            "stage": detail.stage, "action": detail.action, "status": detail.state, "at": clock.iso(event.time),
            "comment": (detail.execution_result.external_execution_summary if detail.execution_result else None),
            # Partial when CodePipeline could not say who approved; not when the account cannot be read.
            "partial": None if isinstance(runs, Unknown) and runs.code == "no_role" else True}
        update = self._execution_update(event)
        update.set(approval_attr(detail.stage, detail.action), approval)
        old = self._update(key, update, returns="ALL_OLD") or {}
        merged = old | {approval_attr(detail.stage, detail.action): approval}
        ref = self.ref(event)
        self._refresh_current(old, merged, ref)
        return Recorded("approval", ref, detail.execution_id, True, partial=bool(approval.get("partial")))

    def _refresh_current(self, old: dict[str, Any], new: dict[str, Any], ref: str) -> None:
        """Stages this execution already made current (of pipeline `ref`) get the facts that reached it since."""
        for stage in sorted(old.get("current_stages") or ()):
            before = current_fields(execution_view(old), stage)
            after = current_fields(execution_view(new), stage)
            changed = {k: v for k, v in after.items() if k in CURRENT_FACTS and before.get(k) != v}
            if not changed:
                continue
            update = _Update()
            for name, value in changed.items():
                update.set(name, value)
            update.values[":id"] = to_av(new["execution_id"])
            self._update(current_key(ref, stage), update, condition="execution_id = :id")


def _approval(detail: Any, runs: list[dict[str, Any]], at: datetime) -> dict[str, Any] | None:
    """The approval the event reports, with what ListActionExecutions adds (`updatedBy`: the approver's
    ARN, the comment). Its time is the event's: CodePipeline stamped the outcome there, and a lookup made
    later (a redelivery, a late event) must not move it. The run is the one that ended in the event's
    outcome and started by the event's time, so a later attempt of the action does not answer for it."""
    outcome = detail.state.capitalize()  # SUCCEEDED -> Succeeded, the API's spelling
    started = [a for a in runs if (a.get("stageName"), a.get("actionName")) == (detail.stage, detail.action)
               and a.get("status") == outcome
               and not (isinstance(a.get("startTime"), datetime) and a["startTime"] > at)]
    if not started:
        return None
    run = max(started, key=lambda a: a.get("startTime") or at)
    result = (run.get("output") or {}).get("executionResult") or {}
    return {"stage": detail.stage, "action": detail.action, "status": run.get("status"),
            "by": run.get("updatedBy"), "comment": result.get("externalExecutionSummary"), "at": clock.iso(at),
            # When the approval began to wait (the action's start): how long the execution waited for a person.
            **({"waited_since": clock.iso(run["startTime"])} if isinstance(run.get("startTime"), datetime) else {})}


def _approval_waits(record: dict[str, Any], started: datetime, ended: datetime) -> float:
    """Seconds the execution waited for its manual approvals, each wait within the execution's own time."""
    total = 0.0
    for name, value in record.items():
        if not (name.startswith(APPROVAL_PREFIX) and isinstance(value, dict) and value.get("waited_since")
                and value.get("at")):
            continue
        try:
            since, decided = clock.parse_iso(value["waited_since"]), clock.parse_iso(value["at"])
        except (TypeError, ValueError):
            continue
        total += max(0.0, (min(decided, ended) - max(since, started)).total_seconds())
    return total


def _git_date(value: str | None) -> str | None:
    """CodeCommit dates are "<epoch seconds> <offset>"; the ledger keeps ISO 8601 UTC."""
    if not value:
        return None
    try:
        return clock.iso(datetime.fromtimestamp(int(value.split()[0]), tz=UTC))
    except ValueError:
        return value
