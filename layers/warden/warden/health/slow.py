"""The slow-execution sweep: `pipeline.slow` once per execution still running past its threshold.

It reads the ledger's sparse running index (gsi4: an execution is in it from its STARTED status until
a terminal one, see warden.ledger.recorder), sorted by start, and only the part started before the
shortest threshold: the cost follows what is running long, never how many pipelines or executions exist.
Each notice is claimed on the execution item with a conditional write that also requires the item to
be still in the running index, so two sweeps at once send it once, a finished execution is never
called slow, and a sweep that failed after its claim is retried by the same sweep id (Lambda's retry of
the same scheduled event) instead of being lost. Executions whose end was never seen leave the index
after STALE_AFTER, with a log line: Warden says it lost track instead of calling them slow forever.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from warden.core import links
from warden.core.clock import iso, now, parse_iso
from warden.core.errors import Skip, one_by_one
from warden.core.log import logger
from warden.core.scope import PipelineScope
from warden.ledger.keys import APPROVAL_PREFIX, RUNNING_GSI4PK, RUNNING_INDEX, from_item
from warden.notify.notice import Notice
from warden.notify.notifier import Notifier
from warden.notify.rules import RoutingConfig

STALE_AFTER = timedelta(days=8)  # longer than any execution can run (an approval waits 7 days at most)


class SlowExecutions:
    def __init__(self, *, dynamodb: Any, table: str, notifier: Notifier, config: Any,
                 skip: Skip | None = None, scope: PipelineScope | None = None) -> None:
        """`table`: the ledger; `config`: the ConfigStore (routing holds the thresholds); `skip(item, error)`:
        what happens to an item the sweep cannot read (dead-lettered with its reason); the others go on."""
        self._skip = skip
        self._scope = scope or PipelineScope()  # the pipelines this stack owns: no other is called slow
        self._ddb = dynamodb
        self._table = table
        self._notifier = notifier
        self._config = config

    def sweep(self, sweep_id: str, waiting: frozenset[str] = frozenset()) -> dict[str, Any]:
        """`waiting`: executions waiting for a manual approval now; the approval's own escalation tiers
        speak for them, and their clock restarts when the approval is decided."""
        routing: RoutingConfig = self._config.get("routing")  # type: ignore[assignment]
        at = now()
        before = iso(at - timedelta(minutes=routing.earliest_slow()))
        slow: list[str] = []
        running_long: list[str] = []
        forgotten: list[str] = []

        def one(item: dict[str, Any]) -> None:
            started = parse_iso(item["gsi4sk"].split("#", 1)[0])
            if at - started > STALE_AFTER:
                forgotten.extend([item["execution_id"]] if self._forget(item) else [])
                return
            if item["execution_id"] in waiting or not self._scope.covers(item.get("pipeline")):
                return
            since = max([started, *_approvals_decided(item)])
            if at - since <= timedelta(minutes=routing.slow_after(item.get("pipeline", ""))):
                return
            running_long.append(item["execution_id"])
            if item.get("slow_sent") is True:
                return  # told already (the index read is eventually consistent: the claim decides)
            if self._claim(item, sweep_id):
                self._notifier.send(slow_notice(item, since, at, sweep_id))
                self._sent(item)
                slow.append(item["execution_id"])

        # An item that cannot be read is skipped, dead-lettered with its reason and counted; the others go on.
        skipped = one_by_one(self._running_since(before), one, self._set_aside if self._skip else None)
        return {"slow": slow, "running_past_threshold": len(running_long), "forgotten": forgotten,
                "skipped": len(skipped)}

    def _set_aside(self, item: dict[str, Any], error: BaseException) -> None:
        """An item that cannot be read leaves the running index (once), then is dead-lettered with why."""
        if isinstance(item.get("pk"), str) and isinstance(item.get("sk"), str):
            self._ddb.update_item(TableName=self._table, Key=_key(item), UpdateExpression="REMOVE gsi4pk, gsi4sk")
        if self._skip is not None:
            self._skip(item, error)

    def _running_since(self, before: str) -> list[dict[str, Any]]:
        """Running executions started before `before`, oldest first (one Query page per 1 MB)."""
        request: dict[str, Any] = {
            "TableName": self._table, "IndexName": RUNNING_INDEX,
            "KeyConditionExpression": "gsi4pk = :running AND gsi4sk < :before",
            "ExpressionAttributeValues": {":running": {"S": RUNNING_GSI4PK}, ":before": {"S": before}}}
        items = []
        while True:
            page = self._ddb.query(**request)
            items += [from_item(i) for i in page.get("Items", [])]
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _claim(self, item: dict[str, Any], owner: str) -> bool:
        try:
            self._ddb.update_item(
                TableName=self._table, Key=_key(item), UpdateExpression="SET slow_owner = :me, slow_sent = :false",
                ConditionExpression="gsi4pk = :running AND (attribute_not_exists(slow_owner) OR "
                                    "(slow_owner = :me AND slow_sent = :false))",
                ExpressionAttributeValues={":me": {"S": owner}, ":false": {"BOOL": False},
                                           ":running": {"S": RUNNING_GSI4PK}})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False  # another sweep has it, or the execution has just finished
        return True

    def _sent(self, item: dict[str, Any]) -> None:
        self._ddb.update_item(TableName=self._table, Key=_key(item), UpdateExpression="SET slow_sent = :true",
                              ExpressionAttributeValues={":true": {"BOOL": True}})

    def _forget(self, item: dict[str, Any]) -> bool:
        logger.warning("execution end never seen: no longer watched for slowness",
                       extra={"pipeline": item.get("pipeline_ref"), "execution_id": item["execution_id"],
                              "started_at": item.get("started_at")})
        try:
            self._ddb.update_item(TableName=self._table, Key=_key(item), UpdateExpression="REMOVE gsi4pk, gsi4sk",
                                  ConditionExpression="gsi4sk = :sk",
                                  ExpressionAttributeValues={":sk": {"S": item["gsi4sk"]}})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False  # it moved on meanwhile (a late event)
        return True


def _approvals_decided(item: dict[str, Any]) -> list[datetime]:
    """When the execution's manual approvals were decided (ledger `approval:<stage>:<action>` attributes)."""
    return [parse_iso(v["at"]) for k, v in item.items()
            if k.startswith(APPROVAL_PREFIX) and isinstance(v, dict) and v.get("at")]


def _key(item: dict[str, Any]) -> dict[str, Any]:
    return {"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}}


def _running_for(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"running for {minutes // 60}h {minutes % 60:02d}m" if minutes >= 60 else f"running for {minutes}m"


def slow_notice(item: dict[str, Any], started: datetime, at: datetime, sweep_id: str) -> Notice:
    """The notice of a slow execution (running since `started`, or since its last approval), its release
    from the ledger (or why it is unknown)."""
    region, pipeline, execution_id = item.get("region", ""), item["pipeline"], item["execution_id"]
    notice = Notice(
        event="pipeline.slow", event_id=f"{sweep_id}:slow:{execution_id}", time=at, account=item.get("account", ""),
        region=region, state="InProgress", pipeline=pipeline, execution_id=execution_id,
        trigger=item.get("trigger_type"), commit=item.get("commit_id"), commit_message=item.get("commit_message"),
        author=item.get("author"), duration=_running_for(at - started),
    )
    if not (notice.commit and notice.author):
        notice.release_unknown = (item.get("partial_reason") or
                                  "not in the execution's start event, and not yet read from CodePipeline")
    notice.links["execution"] = links.execution(region, pipeline, execution_id)
    commit_link = item.get("revision_url") or links.commit(item.get("provider"), item.get("repository"),
                                                           item.get("commit_id"), region)
    if commit_link:
        notice.links["commit"] = commit_link
    return notice
