"""What RollbackTrigger's state says about a stage or deployment group now, for others to read (the deployment
gate's automatic freeze): a rollback in progress, and the alarms its rules say guard the stage.

Read only, never written: the keys stay this feature's (warden.rollback.state, warden.rollback.mapping). A
rollback is in progress from Warden's claim that acted until its success resolved it; a claim older than
`STALE` that never resolved (the rollback failed, and its incident stays open for people to see) no longer
counts as one in progress here: the open incident freezes the stage instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from warden.core import clock
from warden.rollback.config import RollbackConfig
from warden.rollback.hook import GLOB
from warden.rollback.mapping import Target
from warden.rollback.state import RollbackState

STALE = timedelta(hours=6)


class RollbackStatus:
    def __init__(self, state: RollbackState, *, cloudwatch: Callable[[], Any],
                 config: Callable[[], RollbackConfig]) -> None:
        self._state = state
        self._make_cloudwatch = cloudwatch
        self._client: Any = None  # made on the first alarm to read, then kept for the container's life
        self._config = config

    def _cloudwatch(self) -> Any:
        if self._client is None:
            self._client = self._make_cloudwatch()
        return self._client

    def in_progress(self, account: str, *, pipeline: str | None = None, stage: str | None = None,
                    application: str | None = None, group: str | None = None, at: datetime) -> str | None:
        """Why a rollback of the stage (or group) is in progress at `at`, or None."""
        target = Target(account, pipeline, stage, application=application, group=group)
        item = self._state.get(target.key)
        if not item.get("acted") or item.get("resolved_at") or not item.get("claimed_at"):
            return None
        claimed = clock.parse_iso(item["claimed_at"])
        if not claimed <= at < claimed + STALE:
            return None
        what = item.get("rollback_execution_id") or item.get("deployment_id") or item.get("pending_execution")
        return (f"Warden is rolling back {target.name} (alarm {item.get('alarm', '?')}, since "
                f"{clock.iso(claimed)}" + (f", {what}" if what else "") + ")")

    def alarms_in_alarm(self, account: str, pipeline: str, stage: str) -> list[str]:
        """The alarms the `rollback` document maps to the stage that CloudWatch has in ALARM now."""
        names: set[str] = set()
        for rule in self._config().rules:
            if rule.pipeline != pipeline or (rule.stage and rule.stage != stage) or (
                    rule.accounts and account not in rule.accounts):
                continue
            cloudwatch = self._cloudwatch()
            for glob in rule.alarms:
                if not GLOB.search(glob):
                    names.add(glob)
                    continue
                prefix = GLOB.split(glob, 1)[0]
                for page in cloudwatch.get_paginator("describe_alarms").paginate(
                        AlarmTypes=["MetricAlarm", "CompositeAlarm"], StateValue="ALARM",
                        **({"AlarmNamePrefix": prefix} if prefix else {})):
                    names |= {a["AlarmName"] for a in page.get("MetricAlarms", []) + page.get("CompositeAlarms", [])
                              if fnmatchcase(a["AlarmName"], glob)}
        firing: list[str] = []
        ordered = sorted(names)
        for start in range(0, len(ordered), 100):
            answer = self._cloudwatch().describe_alarms(AlarmNames=ordered[start:start + 100],
                                               AlarmTypes=["MetricAlarm", "CompositeAlarm"])
            firing += [a["AlarmName"] for a in answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])
                       if a.get("StateValue") == "ALARM"]
        return sorted(firing)
