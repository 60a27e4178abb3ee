"""Telling the team about health against each pipeline's own history (warden.health.history), on the
ApprovalEscalator schedule, from the ledger only (no polling of CodePipeline).

Each sweep reads the pipelines (the ledger's current index, one query), each pipeline's recent executions (one
query per pipeline: proportional to the pipelines, never to the ledger's size) and what is told already (one
query on the state table's `pipeline-warden/health` partition). Then:
- a sustained slowdown is told to the team once, with its numbers, and its recovery is told once when the
  pipeline or stage is back under the bar;
- a stuck stage is told to the team once; still stuck at twice its limit, it is told again as a page to
  on-call, which the one paging policy (the routing document's `paging` rules) lets through or not;
- a stuck stage whose execution is no longer running (the ledger's running index no longer holds it: it ended,
  whichever way) has its page resolved, once: the resolve is claimed like a notice, and the item is deleted
  after it, so a retry resolves again (harmless) and a later sweep finds nothing to resolve;
- the first sweep of an ISO week that gets through tells the team the previous week's flaky stages, once
  (the weekly digest).
Each notice is claimed on its state item with a conditional write before it is sent (two sweeps at once send
it once); the claim names the sweep, so Lambda's retry of the same scheduled event (the same sweep id) takes
its own claim again and sends what did not go out; the item records `sent` after the notice went out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from warden.core import clock
from warden.core.scope import PipelineScope
from warden.health.history import HealthRules, Slowdown, slowdowns, stuck, weekly_flaky
from warden.ledger.running import RunningExecutions
from warden.ledger.view import LedgerReader, current_items, execution_view, recent_executions
from warden.notify.notice import Notice
from warden.notify.notifier import Notifier
from warden.notify.rules import Decision

PARTITION = "pipeline-warden/health"


@dataclass(frozen=True)
class Told:
    key: str
    item: dict[str, Any]


class HealthState:
    """What was told, one item per slowdown (`slowdown#<ref>#<stage>`) and stuck stage (`stuck#<ref>#<id>#<stage>`)."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def open(self) -> dict[str, dict[str, Any]]:
        items, request = {}, {"TableName": self._table, "KeyConditionExpression": "pk = :pk",
                              "ExpressionAttributeValues": {":pk": {"S": PARTITION}}}
        while True:
            page = self._ddb.query(**request)
            for raw in page.get("Items", []):
                items[raw["sk"]["S"]] = {k: next(iter(v.values())) for k, v in raw.items()}
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def claim(self, key: str, phase: str, owner: str) -> bool:
        """The right to tell `phase` (opened, paged, recovered) of `key`: False when told, or another sweep has it."""
        try:
            self._ddb.update_item(
                TableName=self._table, Key=self._key(key),
                UpdateExpression="SET #phase = :me, #sent = :false",
                ConditionExpression="attribute_not_exists(#phase) OR (#phase = :me AND #sent = :false)",
                ExpressionAttributeNames={"#phase": phase, "#sent": f"{phase}_sent"},
                ExpressionAttributeValues={":me": {"S": owner}, ":false": {"BOOL": False}})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def sent(self, key: str, phase: str, **facts: str) -> None:
        values = {":true": {"BOOL": True}, **{f":{k}": {"S": v} for k, v in facts.items()}}
        self._ddb.update_item(TableName=self._table, Key=self._key(key),
                              UpdateExpression="SET #sent = :true" + "".join(f", {k} = :{k}" for k in facts),
                              ExpressionAttributeNames={"#sent": f"{phase}_sent"}, ExpressionAttributeValues=values)

    def close(self, key: str) -> None:
        """Recovered and told: the next slowdown of the same row is news again."""
        self._ddb.delete_item(TableName=self._table, Key=self._key(key))

    @staticmethod
    def _key(key: str) -> dict[str, Any]:
        return {"pk": {"S": PARTITION}, "sk": {"S": key}}


class HistoryWatch:
    def __init__(self, *, dynamodb: Any, ledger_table: str, state: HealthState, notifier: Notifier,
                 rules: Callable[[], HealthRules], scope: PipelineScope | None = None) -> None:
        self._ddb = dynamodb
        self._ledger = ledger_table
        self._state = state
        self._notifier = notifier
        self._rules = rules
        self._scope = scope or PipelineScope()

    def sweep(self, sweep_id: str, waiting: frozenset[str] = frozenset()) -> dict[str, Any]:
        """`waiting`: executions waiting for a manual approval now (never stuck)."""
        rules, at = self._rules(), clock.now()
        told = self._state.open()
        refs = sorted({i.get("pipeline_ref") or i["pipeline"] for i in current_items(self._ddb, self._ledger)
                       if i.get("pipeline")})
        history: dict[str, list[dict[str, Any]]] = {}
        result: dict[str, list[str]] = {"slowdowns": [], "recovered": [], "stuck": [], "stuck_paged": [],
                                        "digest": []}
        slow_now: dict[str, Slowdown] = {}
        for ref in refs:
            if not self._scope.covers(ref.rpartition("/")[2]):
                continue
            history[ref] = [r for r in recent_executions(self._ddb, self._ledger, ref, 2 * (rules.window + rules.k))
                            if r.get("ended_at")]
            for slow in slowdowns(history[ref], rules):
                slow_now[f"slowdown#{ref}#{slow.stage}"] = slow
        for key, slow in slow_now.items():
            if key in told and told[key].get("opened_sent") is True:
                continue
            if self._state.claim(key, "opened", sweep_id):
                self._notifier.send(_slowdown_notice(slow, at, sweep_id))
                self._state.sent(key, "opened", since=clock.iso(at))
                result["slowdowns"].append(key)
        for key, item in told.items():
            ref = key.split("#")[1] if key.startswith("slowdown#") else None
            if ref is None or key in slow_now or ref not in history or item.get("opened_sent") is not True:
                continue
            if self._state.claim(key, "recovered", sweep_id):
                self._notifier.send(_recovered_notice(key, item, at, sweep_id))
                self._state.close(key)
                result["recovered"].append(key)
        digest = self._digest(sweep_id, at, told)
        if digest:
            result["digest"] = [digest]
        running = RunningExecutions(self._ddb, self._ledger).started_before(clock.iso(at))
        self._resolve_ended(told, {i.get("execution_id") for i in running}, sweep_id, result)
        for view in (execution_view(i) for i in running):
            if view.get("execution_id") in waiting or not self._scope.covers(view.get("pipeline_name")):
                continue
            ref = view["pipeline"]
            if ref not in history:
                history[ref] = [r for r in recent_executions(self._ddb, self._ledger, ref,
                                                              2 * (rules.window + rules.k)) if r.get("ended_at")]
            found = stuck(view, history[ref], at, rules)
            if found is None:
                continue
            key = f"stuck#{ref}#{view['execution_id']}#{found['stage']}"
            if self._state.claim(key, "opened", sweep_id):
                self._notifier.send(_stuck_notice(view, found, at, sweep_id, paged=False))
                self._state.sent(key, "opened")
                result["stuck"].append(key)
            elif found["running_seconds"] > 2 * found["limit_seconds"] and self._state.claim(key, "paged", sweep_id):
                notice = _stuck_notice(view, found, at, sweep_id, paged=True)
                decision = Decision(("oncall", "team"), "high", rule="stuck execution")
                self._notifier.deliver(notice, decision, page=f"pipeline-warden/stuck/{ref}/{view['execution_id']}",
                                       summary=notice.error).check()
                self._state.sent(key, "paged")
                result["stuck_paged"].append(key)
        return result


    def _resolve_ended(self, told: dict[str, dict[str, Any]], running: set[Any], sweep_id: str,
                       result: dict[str, list[str]]) -> None:
        """Resolve the page of each stuck execution that no longer runs; forget what was told of it."""
        for key, item in told.items():
            if not key.startswith("stuck#"):
                continue
            _, ref, execution_id, _stage = key.split("#", 3)
            if execution_id in running:
                continue
            if item.get("paged_sent") is True or item.get("paged"):
                if not self._state.claim(key, "resolved", sweep_id):
                    continue
                self._notifier.settle(f"pipeline-warden/stuck/{ref}/{execution_id}").check()
                result.setdefault("stuck_resolved", []).append(key)
            self._state.close(key)

    def _digest(self, sweep_id: str, at: datetime, told: dict[str, dict[str, Any]]) -> str | None:
        """The first sweep of an ISO week that gets through tells the team the previous week's flaky stages,
        once (not only the sweeps of Monday's first minutes: a week whose early sweeps all failed still gets its
        digest). From the executions started in that week and the one before (the time index, one query per
        month partition: proportional to those executions), each counted in the week it succeeded. A week
        without any is marked done too, so that the week's later sweeps do not ask again."""
        this_week = (at - timedelta(days=at.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        last_week = this_week - timedelta(days=7)
        iso = last_week.isocalendar()
        name = f"{iso.year}-W{iso.week:02d}"
        key = f"digest#{name}"
        if told.get(key, {}).get("opened_sent") is True:
            return None
        records = LedgerReader(self._ddb, self._ledger).started_between(last_week - timedelta(days=7), this_week).items
        counts = weekly_flaky([r for r in records if self._scope.covers(r.get("pipeline_name"))]).get(name, {})
        if not self._state.claim(key, "opened", sweep_id):
            return None
        if not counts:
            self._state.sent(key, "opened")  # nothing to tell this week: done
            return None
        notice = Notice(event="pipeline.slow", event_id=f"{sweep_id}:digest:{name}", time=at, account="",
                        region="", state="Digest", stage=name)
        notice.error = (f"Stages that failed, then succeeded for the same revision, in {name}: "
                        + ", ".join(f"{row} x{n}" for row, n in sorted(counts.items())))
        self._notifier.send(notice)
        self._state.sent(key, "opened")
        return key


def _minutes(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds / 60:.0f} min"


def _slowdown_notice(slow: Slowdown, at: datetime, sweep_id: str) -> Notice:
    name = slow.pipeline.rpartition("/")[2]
    notice = Notice(event="pipeline.slow", event_id=f"{sweep_id}:slowdown:{slow.pipeline}:{slow.stage}", time=at,
                    account=slow.pipeline.partition("/")[0] if "/" in slow.pipeline else "", region="",
                    state="Slowdown", pipeline=name, stage=slow.stage, execution_id=slow.streak[-1].execution_id,
                    duration=", ".join(_minutes(r.seconds) for r in slow.streak))
    notice.error = slow.describe()
    return notice


def _recovered_notice(key: str, item: dict[str, Any], at: datetime, sweep_id: str) -> Notice:
    _, ref, stage = key.split("#", 2)
    notice = Notice(event="pipeline.slow", event_id=f"{sweep_id}:recovered:{ref}:{stage}", time=at, account="",
                    region="", state="Recovered", pipeline=ref.rpartition("/")[2], stage=stage)
    notice.error = f"{ref} {stage}: back under its bar (slow since {item.get('since', '?')})"
    return notice


def _stuck_notice(view: dict[str, Any], found: dict[str, Any], at: datetime, sweep_id: str, *,
                  paged: bool) -> Notice:
    notice = Notice(event="pipeline.slow", event_id=f"{sweep_id}:stuck:{view['execution_id']}:{paged}", time=at,
                    account=view.get("account", ""), region=view.get("region", ""), state="Stuck",
                    pipeline=view.get("pipeline_name") or view["pipeline"], stage=found["stage"],
                    execution_id=view["execution_id"], commit=view.get("commit_id"), author=view.get("author"),
                    duration=f"running for {_minutes(found['running_seconds'])}")
    history = (f"its history's maximum {_minutes(found['history_max_seconds'])} over {found['history_runs']} runs"
               if found["history_max_seconds"] is not None else "no history yet")
    notice.error = (f"{found['stage']} has run {_minutes(found['running_seconds'])}, over its limit of "
                    f"{_minutes(found['limit_seconds'])} ({history})")
    return notice
