"""In-memory fakes behind the seams the domain is written against: the CodePipeline client under the
gateway (so the gateway's own error policy is exercised), the approval store, and the notifier.

They keep state and answer with the real shapes, so unit tests assert outcomes (what was resolved,
what was told, with which words), not which methods were called.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from warden.approvals.store import PENDING_STATUS, TIER
from warden.aws.codepipeline import CodePipelineGateway


def client_error(code: str, message: str = "", operation: str = "Call") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message or code}}, operation)


class FakeCodePipeline:
    """A CodePipeline client of one account and region: pipelines, their state, action executions."""

    def __init__(self) -> None:
        self.pipelines: dict[str, dict[str, Any]] = {}  # name -> {"stages": [...]} (GetPipeline's shape)
        self.states: dict[str, dict[str, Any]] = {}  # name -> GetPipelineState answer
        self.runs: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (name, execution) -> action executions
        self.executions: dict[tuple[str, str], dict[str, Any]] = {}
        self.fail_with: str | None = None  # every call raises this error code (AccessDenied, Throttling...)
        self.calls = 0

    # the reads the gateway makes
    def _check(self, name: str) -> None:
        self.calls += 1
        if self.fail_with:
            raise client_error(self.fail_with)
        if name not in self.pipelines:
            raise client_error("PipelineNotFoundException", f"no pipeline {name}")

    def get_pipeline_state(self, name: str) -> dict[str, Any]:
        self._check(name)
        return copy.deepcopy(self.states.get(name, {"pipelineName": name, "stageStates": []}))

    def get_pipeline(self, name: str) -> dict[str, Any]:
        self._check(name)
        return {"pipeline": {"name": name, **copy.deepcopy(self.pipelines[name])}}

    def get_pipeline_execution(self, pipelineName: str, pipelineExecutionId: str) -> dict[str, Any]:  # noqa: N803
        self._check(pipelineName)
        if (pipelineName, pipelineExecutionId) not in self.executions:
            raise client_error("PipelineExecutionNotFoundException")
        return {"pipelineExecution": copy.deepcopy(self.executions[(pipelineName, pipelineExecutionId)])}

    def get_paginator(self, operation: str) -> Any:
        assert operation == "list_action_executions"
        fake = self

        class Pages:
            def paginate(self, pipelineName: str, filter: dict[str, str]) -> list[dict[str, Any]]:  # noqa: A002, N803
                fake._check(pipelineName)
                runs = fake.runs.get((pipelineName, filter["pipelineExecutionId"]), [])
                # Two pages, as a long execution gives: the gateway must read them all.
                return [{"actionExecutionDetails": runs[:1]}, {"actionExecutionDetails": runs[1:]}]

        return Pages()

    # setting the scene
    def approval_waiting(self, pipeline: str, execution: str, token: str, *, stage: str = "Approve",
                         action: str = "ProdGate", status: str = "InProgress") -> None:
        self.pipelines.setdefault(pipeline, {"stages": [{"name": "Source"}, {"name": stage}, {"name": "Deploy"}]})
        self.states[pipeline] = {"pipelineName": pipeline, "stageStates": [{
            "stageName": stage, "latestExecution": {"pipelineExecutionId": execution, "status": status},
            "actionStates": [{"actionName": action, "latestExecution": {"status": status, "token": token}}]}]}
        self.runs[(pipeline, execution)] = [{"stageName": stage, "actionName": action, "status": status,
                                             "lastUpdateTime": datetime(2026, 11, 27, 9, 6, 49)}]


class FakeGateway(CodePipelineGateway):
    """The real gateway, with in-memory clients per (account, region) instead of boto3's."""

    def __init__(self, *, own_account: str = "111122223333", own_region: str = "us-east-1",
                 role_name: str = "") -> None:
        super().__init__(clients=None, own_account=own_account, own_region=own_region,  # type: ignore[arg-type]
                         role_name=role_name)
        self.fakes: dict[tuple[str, str], FakeCodePipeline] = {}

    def in_(self, account: str, region: str) -> FakeCodePipeline:
        return self.fakes.setdefault((account, region), FakeCodePipeline())

    def _assumed_client(self, account: str, region: str | None) -> Any:
        return self.in_(account, region or self.own_region)


# the gateway builds own-account clients through Clients.client(service, region)
class _FakeClients:
    def __init__(self, gateway: FakeGateway) -> None:
        self._gateway = gateway

    def client(self, service: str, region: str | None = None) -> Any:
        assert service == "codepipeline"
        return self._gateway.in_(self._gateway.own_account, region or self._gateway.own_region)


def gateway(**kwargs: Any) -> FakeGateway:
    made = FakeGateway(**kwargs)
    made._clients = _FakeClients(made)  # type: ignore[assignment]
    return made


class InMemoryApprovals:
    """The approval store's contract (warden.approvals.store.Approvals), in memory: pending items, one-time
    claims per owner, resolution once."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}

    def add(self, **item: Any) -> dict[str, Any]:
        item.setdefault("status", PENDING_STATUS)
        item.setdefault("needed_sent", True)  # announced by the tracker, as every tracked approval is
        self.items[(item["pk"], item["sk"])] = item
        return item

    def pending(self) -> list[dict[str, Any]]:
        found = [copy.deepcopy(i) for i in self.items.values() if i["status"] == PENDING_STATUS]
        return sorted(found, key=lambda i: i["since"])

    def claim(self, key: dict[str, str], flag: str, owner: str) -> dict[str, Any] | None:
        item = self.items[(key["pk"], key["sk"])]
        if item["status"] != PENDING_STATUS:
            return None
        held = item.get(f"{flag}_owner")
        if held is not None and not (held == owner and not item.get(f"{flag}_sent")):
            return None
        item[f"{flag}_owner"], item[f"{flag}_sent"] = owner, False
        return copy.deepcopy(item)

    def effects(self, key: dict[str, str], flag: str, item: dict[str, Any]) -> Any:
        from warden.notify.effects import MemoryLog

        return MemoryLog()

    def claim_many(self, keys: list[dict[str, str]], flag: str, owner: str) -> list[dict[str, str]]:
        return [k for k in keys if self.claim(k, flag, owner) is not None]

    def mark_paged(self, key: dict[str, str], page: str | None = None) -> None:
        self.items[(key["pk"], key["sk"])]["paged"] = True
        if page:
            self.items[(key["pk"], key["sk"])]["page_key"] = page

    def sent_many(self, keys: list[dict[str, str]], flag: str, **fields: Any) -> None:
        for key in keys:
            self.sent(key, flag, **fields)

    def of_execution(self, account: str, region: str, pipeline: str, execution_id: str, *,
                     pk: str | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(i) for i in self.items.values() if i["status"] == PENDING_STATUS
                and i.get("execution_id") == execution_id and (pk is None or i["pk"] == pk)]

    def sent(self, key: dict[str, str], flag: str, **fields: Any) -> None:
        item = self.items[(key["pk"], key["sk"])]
        item[f"{flag}_sent"] = True
        item.update(fields)
        if flag.startswith(TIER):
            item.setdefault("fired", set()).add(flag.removeprefix(TIER))

    def resolve(self, key: dict[str, str], outcome: str, fields: dict[str, Any], *, owner: str,
                tell: bool) -> dict[str, Any] | None:
        item = self.items[(key["pk"], key["sk"])]
        if item["status"] != PENDING_STATUS:
            return None
        before = copy.deepcopy(item)
        item.update({k: v for k, v in fields.items() if v is not None}, status=outcome, resolved_by=owner)
        return before


class Configs:
    """The configuration store's contract: the documents' defaults, or the ones given."""

    def __init__(self, **documents: Any) -> None:
        self._documents = documents

    def get(self, kind: str) -> Any:
        if kind not in self._documents:
            from warden.runtime.documents import parse_documents

            self._documents[kind] = parse_documents({kind: {}})[kind]
        return self._documents[kind]


class RecordingNotifier:
    """The notifier's contract: routing (nothing muted), what was sent to whom, pages and their resolution."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, tuple[str, ...]]] = []
        self.pages: dict[str, str] = {}  # dedup key -> "triggered" | "resolved"

    def decide(self, notice: Any) -> Any:
        from warden.notify.rules import Decision

        return Decision(("approvers",), "info")

    def send(self, notice: Any, decision: Any = None) -> list[str]:
        return self.deliver(notice, decision).sent

    def deliver(self, notice: Any, decision: Any = None, *, log: Any = None, page: str | None = None,
                summary: str | None = None) -> Any:
        from warden.notify.effects import Delivery

        audiences = tuple(decision.audiences) if decision else ("approvers",)
        self.sent.append((notice, audiences))
        delivery = Delivery(sent=list(audiences))
        if page and decision is not None:
            delivery.paged = self.page(page, notice, decision, summary)
        return delivery

    def settle(self, key: str, *, log: Any = None) -> Any:
        from warden.notify.effects import Delivery

        self.resolve(key)
        return Delivery(resolved=True)

    def page(self, key: str, notice: Any, decision: Any, summary: str | None = None) -> bool:
        if "oncall" not in decision.audiences:
            return False
        self.pages[key] = "triggered"
        return True

    def resolve(self, key: str) -> None:
        self.pages[key] = "resolved"


class InMemoryIncidents:
    """The incident store's contract (warden.notify.incidents.Incidents), in memory."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def open(self, key: str, *, event_id: str, execution_id: str | None, at: Any, summary: str,
             failure: Any = None) -> Any:
        from warden.notify.incidents import Failure, Incident

        failure = failure or Failure(execution_id or event_id)
        item = self.items.get(key)
        if item and item.get("last_success_at") is not None and item["last_success_at"] >= at:
            return None
        if item and item.get("status") == "open" and not (item["owner"] == event_id and not item["notified"]):
            self.record(key, failure, at=at)
            return None
        if item and item.get("status") == "open":  # this event's retry: its claim, and its record added
            self.record(key, failure, at=at)
            return Incident(key, key, item["execution_id"], str(item["opened_at"]))
        self.items[key] = (item or {}) | {"status": "open", "owner": event_id, "notified": False,
                                           "execution_id": execution_id, "summary": summary, "opened_at": at,
                                           "failures": {failure}}
        return Incident(key, key, execution_id, str(at))

    def record(self, key: str, failure: Any, *, at: Any) -> bool:
        item = self.items.get(key) or {}
        if item.get("status") != "open" or (item.get("last_success_at") is not None and item["last_success_at"] >= at):
            return False
        item.setdefault("failures", set()).add(failure)
        return True

    def effects(self, incident: Any) -> Any:
        from warden.notify.effects import MemoryLog

        return MemoryLog()

    def event_effects(self, event_id: str) -> Any:
        from warden.notify.effects import MemoryLog

        return MemoryLog()

    def notified(self, key: str) -> None:
        self.items[key]["notified"] = True

    def succeeded(self, key: str, *, at: Any) -> Any:
        from warden.notify.incidents import Incident

        item = self.items.setdefault(key, {})
        if item.get("last_success_at") is not None and item["last_success_at"] > at:
            return None
        item["last_success_at"] = at
        if item.get("status") != "open" or item["opened_at"] > at:
            return None
        return Incident(key, key, item["execution_id"], str(item["opened_at"]))

    def close(self, incident: Any, *, event_id: str) -> None:
        self.items[incident.key]["status"] = "resolved"
        self.items[incident.key].pop("failures", None)


def keyed_table(name: str) -> Any:
    """A DynamoDB table keyed like Warden's (`pk`, `sk`), in the embedded AWS (call inside `mock_aws`)."""
    import boto3

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}])
    return ddb
