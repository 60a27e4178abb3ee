"""ApprovalGateway in `make bench`: its cold import, its first request in a fresh container, and its warm time.

A stack with a Slack app is deployed beside the bench's world (one embedded account), payments-api waits at
its approval, posted in Slack. Requests are signed as Slack signs them and handed to the handler as its
function URL would (payload format 2.0). `first_request_ms`: the first click after the handler module is loaded
afresh (its clients, the Slack secret and the approvers document are read then); `warm_click_ms`: a click (the
confirmation opened: users.info, the policy, CodePipeline's state, the ledger's people), median, with the time
inside AWS and Slack calls subtracted as for the other handlers; `decide_ms`: one confirmation that decides.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.benchmarks.bench import RUNS, CallMeter, _cold
from tests.integration.approvals.slack_story import APPROVERS, PEOPLE, ROUTING, approval_started, started
from warden.core import clock
from warden_local.function_url import url_event
from warden_local.replay import Replayer, load
from warden_local.world import SLACK_APP, World

WARM_REQUESTS = 50


def _request(world: World, slack: Any, payload: dict[str, Any]) -> Any:
    headers, body = slack.signed(payload, timestamp=int(clock.now().timestamp()))
    event = url_event("POST", "/", headers, body, account=world.account)
    outcome = world.request("ApprovalGateway", event)
    if outcome.error or outcome.result.get("statusCode") != 200:
        raise RuntimeError(f"ApprovalGateway failed during the benchmark: {outcome.error or outcome.result}")
    return outcome


def measure(world: World, _warm: Any = None) -> dict[str, Any]:
    gateway = World(parameters={"SlackSecretArn": SLACK_APP, "Environment": "staging",
                                "ConfigPrefix": "/pipeline-warden/staging"},
                    beside=world, stack="pipeline-warden-slack")
    gateway.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "story.json"
            world_calls = json.loads((Path(__file__).resolve().parents[2] / "events" / "scenarios"
                                      / "approval-escalation.json").read_text())["world"]
            path.write_text(json.dumps({"world": world_calls, "config": {"routing": ROUTING, "approvers": APPROVERS},
                                        "steps": [{"event": started()}, {"event": approval_started()}]}))
            slack = gateway.slack
            for user in PEOPLE:
                slack.users[user["id"]] = user
            replayer = Replayer(gateway)
            replayer.run(load(path))
        [(channel, ts)] = list(slack.messages)
        env = {**gateway.environment(gateway.functions["ApprovalGateway"])}
        module = str(gateway.functions["ApprovalGateway"].module_path)
        body = (f"spec = importlib.util.spec_from_file_location('app', {module!r})\n"
                "spec.loader.exec_module(importlib.util.module_from_spec(spec))")
        ratios = []
        for _ in range(RUNS):
            base = _cold("import boto3", dict(os.environ))
            ratios.append(_cold(body, {**os.environ, **env}) / base)
        gateway.redeploy()  # a fresh container: the module, its clients, its secret and documents read again
        with CallMeter() as meter:
            start = time.perf_counter()
            _request(gateway, slack, slack.click("U0ALICE", "approve", channel, ts))
            first = time.perf_counter() - start
            samples = []
            for _ in range(WARM_REQUESTS):
                before = meter.seconds
                outcome = _request(gateway, slack, slack.click("U0ALICE", "approve", channel, ts))
                samples.append(outcome.seconds - (meter.seconds - before))
            calls = sum(meter.calls.values())
            before = meter.seconds
            decided = _request(gateway, slack, slack.submit("U0ALICE", "bench"))
            decide = decided.seconds - (meter.seconds - before)
        per_click = round((calls - 1) / (WARM_REQUESTS + 1), 2)  # AWS and Slack calls of one click
        return {"handlers": {"ApprovalGateway": {"cold_import_ratio": round(statistics.median(ratios), 2),
                                                 "warm_ms": round(statistics.median(samples) * 1000, 3),
                                                 "calls_per_event": per_click}},
                "gateway": {"first_request_ms": round(first * 1000, 1),
                            "warm_click_ms": round(statistics.median(samples) * 1000, 3),
                            "decide_ms": round(decide * 1000, 3), "calls_per_click": per_click}}
    finally:
        gateway.stop()
