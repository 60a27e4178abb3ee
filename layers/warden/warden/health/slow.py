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
from warden.core.clock import iso, now
from warden.core.errors import Skip, one_by_one
from warden.core.log import logger
from warden.ledger.running import RunningExecutions, approvals_decided, started_of
from warden.notify.notice import Notice
from warden.notify.notifier import Notifier
from warden.notify.rules import RoutingConfig

STALE_AFTER = timedelta(days=8)  # longer than any execution can run (an approval waits 7 days at most)


class SlowExecutions:
    def __init__(self, *, running: RunningExecutions, notifier: Notifier, config: Any,
                 skip: Skip | None = None) -> None:
        """`running`: the ledger's running index; `config`: the configuration documents (routing holds the
        thresholds); `skip(item, error)`: what happens to an item the sweep cannot read (dead-lettered with
        its reason); the others go on."""
        self._skip = skip
        self._running = running
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
            started = started_of(item)
            if at - started > STALE_AFTER:
                forgotten.extend([item["execution_id"]] if self._forget(item) else [])
                return
            if item["execution_id"] in waiting:
                return
            since = max([started, *approvals_decided(item)])
            if at - since <= timedelta(minutes=routing.slow_after(item.get("pipeline", ""))):
                return
            running_long.append(item["execution_id"])
            if item.get("slow_sent") is True:
                return  # told already (the index read is eventually consistent: the claim decides)
            if self._running.claim_slow(item, sweep_id):
                self._notifier.send(slow_notice(item, since, at, sweep_id))
                self._running.slow_sent(item)
                slow.append(item["execution_id"])

        # An item that cannot be read is skipped, dead-lettered with its reason and counted; the others go on.
        skipped = one_by_one(self._running.started_before(before), one, self._set_aside if self._skip else None)
        return {"slow": slow, "running_past_threshold": len(running_long), "forgotten": forgotten,
                "skipped": len(skipped)}

    def _set_aside(self, item: dict[str, Any], error: BaseException) -> None:
        """An item that cannot be read leaves the running index (once), then is dead-lettered with why."""
        self._running.set_aside(item)
        if self._skip is not None:
            self._skip(item, error)

    def _forget(self, item: dict[str, Any]) -> bool:
        logger.warning("execution end never seen: no longer watched for slowness",
                       extra={"pipeline": item.get("pipeline_ref"), "execution_id": item["execution_id"],
                              "started_at": item.get("started_at")})
        return self._running.forget(item)


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
