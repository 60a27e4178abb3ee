"""The story the Slack approval tests share: payments-api waits at Approve/ProdGate, its request posted in
#payments by the Slack app, the gateway served on a function URL on 127.0.0.1, people in the workspace."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.helpers import EVENTS, sample
from warden.core import clock
from warden_local.fakes.codepipeline import codepipeline_state
from warden_local.function_url import FunctionUrlServer
from warden_local.replay import Replayer, load
from warden_local.slack import person
from warden_local.world import SLACK_APP, World

RUN = "8f14e45f-ceea-467a-9a36-dedd4bea2543"
CHANNEL = "C0PAYMENTS"
PEOPLE = [person("U0ALICE", "Alice Approver", "alice@example.com"),
          person("U0BOB", "Bob Builder", "Bob@Example.com"),
          person("U0CAROL", "Carol Release", "carol@example.com"),
          person("U0MARIA", "Maria Garcia", "maria.garcia@example.com"),  # the commit's author
          person("U0EVE", "Eve Onlooker", "eve@example.com"),
          person("U0GONE", "Gone Person", "gone@example.com", deleted=True)]
ROUTING = {"rules": [{"name": "payments-approvals", "match": {"pipelines": ["payments-*"],
                                                              "events": ["approval.needed"]},
                      "slack_channel": CHANNEL}]}
APPROVERS = {"rules": [{"name": "prod", "pipelines": ["payments-*"], "stages": ["Approve"],
                        "users": ["U0ALICE", "U0MARIA"], "emails": ["bob@example.com"], "groups": ["S0RELEASE"]}]}


def pipeline_world() -> list[dict[str, Any]]:
    return json.loads((EVENTS / "scenarios" / "approval-escalation.json").read_text())["world"]


def started(at: str = "2026-11-27T09:00:02Z") -> dict[str, Any]:
    event = sample("codepipeline/pipeline-started.json", **{"execution-id": RUN})
    event["time"] = at
    return event


def approval_started(at: str = "2026-11-27T09:06:49Z") -> dict[str, Any]:
    event = sample("codepipeline/action-started-approval.json", **{"execution-id": RUN})
    event["time"] = at
    return event


class Story:
    """A world with a Slack app, the approval waiting and posted; `click` and `confirm` act as a person."""

    def __init__(self, tmp_path: Path, *, approvers: dict[str, Any] | None = APPROVERS,
                 steps: list[dict[str, Any]] | None = None, world_calls: list[dict[str, Any]] | None = None,
                 parameters: dict[str, str] | None = None) -> None:
        config: dict[str, Any] = {"routing": ROUTING}
        if approvers is not None:
            config["approvers"] = approvers
        doc = {"world": world_calls if world_calls is not None else pipeline_world(), "config": config,
               "steps": steps if steps is not None else [{"event": started()}, {"event": approval_started()}]}
        path = tmp_path / "slack-story.json"
        path.write_text(json.dumps(doc))
        self.world = World(parameters={"SlackSecretArn": SLACK_APP} | (parameters or {}))
        self.world.start()
        self.slack = self.world.slack
        for user in PEOPLE:
            self.slack.users[user["id"]] = user
        self.slack.groups["S0RELEASE"] = ["U0CAROL"]
        self.slack.channels[CHANNEL] = "payments"
        self.replayer = Replayer(self.world)
        scenario = load(path)
        self.replayer.check(scenario)
        self.steps = self.replayer.run(scenario)
        self.url = FunctionUrlServer(self.world, "ApprovalGateway").start()

    def close(self) -> None:
        self.url.stop()
        self.world.stop()

    # -- the channel ---------------------------------------------------------------------------------------
    @property
    def request_ts(self) -> str:
        [(channel, ts)] = [k for k, m in self.slack.messages.items() if not m.get("thread_ts")]
        assert channel == CHANNEL
        return ts

    def message(self) -> dict[str, Any]:
        return self.slack.messages[(CHANNEL, self.request_ts)]

    # -- a person's requests, signed as Slack signs them, over HTTP -----------------------------------------
    def send(self, payload: dict[str, Any], *, timestamp: int | None = None, secret: str | None = None,
             body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        kwargs = {"timestamp": int(clock.now().timestamp()) if timestamp is None else timestamp}
        if secret is not None:
            kwargs["secret"] = secret
        signed_headers, signed_body = self.slack.signed(payload, **kwargs)
        request = urllib.request.Request(self.url.url, data=body if body is not None else signed_body,
                                         headers=signed_headers | (headers or {}), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                data = response.read()
                return response.status, json.loads(data) if data else None
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def click(self, user: str, decision: str = "approve", **kwargs: Any) -> tuple[int, Any]:
        return self.send(self.slack.click(user, decision, CHANNEL, self.request_ts), **kwargs)

    def confirm(self, user: str, reason: str | None = None, **kwargs: Any) -> tuple[int, Any]:
        return self.send(self.slack.submit(user, reason), **kwargs)

    def decide(self, user: str, decision: str = "approve", reason: str | None = None) -> Any:
        status, _ = self.click(user, decision)
        assert status == 200
        status, answer = self.confirm(user, reason)
        assert status == 200
        return answer

    # -- what CodePipeline and the ledger say --------------------------------------------------------------
    def approval_results(self) -> list[dict[str, Any]]:
        return codepipeline_state(self.world.account, self.world.region).approval_results

    def counted(self, code: str) -> int:
        """How many refusals of `code` the gateway's EMF metrics counted."""
        return self.world.logs.getvalue().count(f'"ChatApprovalRefused_{code}"') // 2  # name in the map and list
