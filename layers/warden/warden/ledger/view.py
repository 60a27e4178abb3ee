"""Reading the ledger: stored items -> plain records, and the queries behind `warden ledger`.

Every read is a Query on a key or an index (never a Scan), and reports the capacity it consumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from warden.aws.dynamodb import from_item
from warden.core import clock
from warden.ledger.approvers import PERSON_PREFIX
from warden.ledger.keys import (
    APPROVAL_PREFIX,
    COMMIT_PREFIX,
    CURRENT_GSI1PK,
    STAGE_PREFIX,
    commit_pk,
    execution_key,
    history_pk,
    legacy_commit_pk,
    month_pk,
)
from warden.ledger.refs import normalize_ref

# Storage details a reader never needs.
_HIDDEN = {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk",
           "status_order", "started_s", "ended_s", "current_stages", "kind", "pipeline_ref", "slow_owner", "slow_sent"}
CURRENT_FACTS = ("execution_id", "execution_type", "commit_id", "commit_message", "branch", "tag", "repository",
                 "author", "author_email", "approver", "approved_at")
SUCCEEDED_APPROVALS = {"Succeeded", "SUCCEEDED", "Approved"}
# An execution can wait in a manual approval for up to 7 days before it reaches production.
MAX_EXECUTION_DAYS = 7


def displayed(item: dict[str, Any]) -> dict[str, Any]:
    """A record's `pipeline` is the pipeline's ref (`NAME`, or `ACCOUNT/NAME` for a workload account's);
    the plain name stays as `pipeline_name`. Items written before refs existed have no `pipeline_ref`:
    their name is their ref."""
    shown = {k: v for k, v in item.items() if k not in _HIDDEN}
    if "pipeline" in item:
        shown["pipeline"] = item.get("pipeline_ref") or item["pipeline"]
        shown["pipeline_name"] = item["pipeline"]
    return shown


def execution_view(item: dict[str, Any]) -> dict[str, Any]:
    """A plain execution record from a deserialized item: stage attributes folded into `stages`,
    approvals into a list (newest last); `pipeline` is the ref (see `displayed`)."""
    view: dict[str, Any] = {"stages": {}, "approvals": []}
    people: dict[str, Any] = {}  # "<stage>:<action>" -> who decided it from chat (warden.ledger.approvers)
    for name, value in displayed(item).items():
        if name.startswith(STAGE_PREFIX):
            stage, _, attr = name[len(STAGE_PREFIX):].rpartition(":")
            if attr not in ("order", "started_s", "ended_s"):
                view["stages"].setdefault(stage, {})[attr] = value
            elif attr == "order" and isinstance(value, str) and value[:4].isdigit() and int(value[:4]) > 1:
                view["stages"].setdefault(stage, {})["attempt"] = int(value[:4])  # a retry (order_key's attempt)
        elif name.startswith(APPROVAL_PREFIX):
            view["approvals"].append(value)
        elif name.startswith(PERSON_PREFIX):
            people[name[len(PERSON_PREFIX):]] = value
        elif name == "history":
            entries = [h.split("|") for h in value]
            view["history"] = [{"at": at, "state": state, "attempt": int(attempt)}
                               for at, state, attempt in sorted(entries)]
        else:
            view[name] = value
    for stage in view["stages"].values():
        if "ended_at" not in stage:
            stage.pop("duration_s", None)  # still running: a duration would be made up
    if "ended_at" not in view:
        view.pop("duration_s", None)
    _with_people(view["approvals"], people)
    view["approvals"].sort(key=lambda a: a.get("at") or "")
    view["stages"] = dict(sorted(view["stages"].items(), key=lambda kv: kv[1].get("started_at") or "~"))
    view["approver"], view["approved_at"] = approver_of(view)
    return view


def approver_of(view: dict[str, Any]) -> tuple[str | None, str | None]:
    """The principal of the latest approval that let the execution through: the person, when it was decided
    from chat (`Name <e-mail> (Slack U…) in #channel`), else CodePipeline's `updatedBy`."""
    granted = [a for a in view.get("approvals", []) if a.get("status") in SUCCEEDED_APPROVALS]
    if not granted:
        return None, None
    person = granted[-1].get("person")
    return (person_text(person) if person else granted[-1].get("by")), granted[-1].get("at")


def person_text(person: dict[str, Any]) -> str:
    channel = f" in #{person['channel']}" if person.get("channel") else ""
    return f"{person.get('name') or person.get('slack_id')} <{person.get('email') or '?'}> " \
           f"(Slack {person.get('slack_id')}){channel}"


def _with_people(approvals: list[dict[str, Any]], people: dict[str, Any]) -> None:
    """Each approval decided from chat gets its `person`; one whose event has not arrived yet is shown from the
    person's record alone (its status the decision made)."""
    for gate, person in people.items():
        stage, _, action = gate.partition(":")
        mine = [a for a in approvals if (a.get("stage"), a.get("action")) == (stage, action)]
        if mine:
            mine[-1]["person"] = person
        else:
            approvals.append({"stage": stage, "action": action, "at": person.get("at"), "person": person,
                              "status": "Approved" if person.get("decision") == "approve" else "Rejected"})


def current_fields(view: dict[str, Any], stage: str) -> dict[str, Any]:
    """What a stage's "current deployment" item repeats from the execution that succeeded there."""
    fields = {name: view.get(name) for name in CURRENT_FACTS}
    fields["production"] = view.get("prod_stage") == stage
    return {k: v for k, v in fields.items() if v is not None}


class AmbiguousCommit(LookupError):
    """A short SHA that more than one recorded commit starts with."""

    def __init__(self, prefix: str, commits: list[str]) -> None:
        super().__init__(f"commit {prefix} is ambiguous: it starts {len(commits)} recorded commits "
                         f"({', '.join(c[:12] for c in commits)}); give more of the SHA")
        self.commits = commits


# What `current` fills from the execution, and from a rollback's target, when the stage's item lacks it.
RELEASE_FACTS = ("commit_id", "commit_message", "branch", "tag", "repository", "author", "author_email")


@dataclass
class Page:
    items: list[dict[str, Any]]
    consumed_capacity: float = 0.0
    scanned: int = 0
    queries: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class LedgerReader:
    def __init__(self, dynamodb: Any, table: str, own_account: str = "") -> None:
        """`own_account`: the tools account, so that `ACCOUNT/NAME` of its own pipelines means `NAME`."""
        self._ddb = dynamodb
        self._table = table
        self._own_account = own_account

    def _query(self, limit: int | None = None, **kwargs: Any) -> Page:
        page, start = Page([]), None
        while True:
            request = {"TableName": self._table, "ReturnConsumedCapacity": "TOTAL", **kwargs}
            if limit is not None:
                request["Limit"] = limit - len(page.items)
            if start:
                request["ExclusiveStartKey"] = start
            answer = self._ddb.query(**request)
            page.items += [from_item(i) for i in answer.get("Items", [])]
            page.consumed_capacity += (answer.get("ConsumedCapacity") or {}).get("CapacityUnits", 0.0)
            page.scanned += answer.get("ScannedCount", 0)
            page.queries += 1
            start = answer.get("LastEvaluatedKey")
            if not start or (limit is not None and len(page.items) >= limit):
                return page

    def _index(self, index: str, pk: str, *, limit: int | None = None, newest_first: bool = True,
               between: tuple[str, str] | None = None) -> Page:
        condition, values = "#pk = :pk", {":pk": {"S": pk}}
        names = {"#pk": f"{index}pk"}
        if between:
            condition += " AND #sk BETWEEN :lo AND :hi"
            names["#sk"] = f"{index}sk"
            values |= {":lo": {"S": between[0]}, ":hi": {"S": between[1]}}
        return self._query(limit, IndexName=index, KeyConditionExpression=condition,
                           ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                           ScanIndexForward=not newest_first)

    def current(self) -> Page:
        """Every stage's current deployment, across pipelines (one query). A stage whose item lacks the
        release (commit, author) gets it from its execution and, for a rollback, from the execution it
        redeployed (`release_from`): a rollback runs the target's revision, and a rollback execution's own
        events carry no commit. One GetItem per such execution, none when the items are complete."""
        page = self._index("gsi1", CURRENT_GSI1PK, newest_first=False)
        page.items = [displayed(i) for i in page.items if i.get("execution_id")]  # failure-only markers aside
        executions: dict[tuple[str, str], dict[str, Any]] = {}
        for item in page.items:
            if item.get("commit_id") and item.get("author"):
                continue
            name = item.get("pipeline_name") or item["pipeline"]
            execution = self._execution(name, item["execution_id"], executions, page)
            item |= {k: execution[k] for k in RELEASE_FACTS if execution.get(k) and not item.get(k)}
            target = execution.get("rollback_target")
            if execution.get("execution_type") == "ROLLBACK" and target and not (
                    item.get("commit_id") and item.get("author")):
                release = self._execution(name, target, executions, page)
                found = {k: release[k] for k in RELEASE_FACTS if release.get(k) and not item.get(k)}
                if found and (not item.get("commit_id") or item["commit_id"] == release.get("commit_id")):
                    item |= found | {"release_from": target}
        return page

    def _execution(self, pipeline: str, execution_id: str, seen: dict[tuple[str, str], dict[str, Any]],
                   page: Page) -> dict[str, Any]:
        if (pipeline, execution_id) not in seen:
            answer = self._ddb.get_item(TableName=self._table, Key={
                k: {"S": v} for k, v in execution_key(pipeline, execution_id).items()},
                ReturnConsumedCapacity="TOTAL")
            page.consumed_capacity += (answer.get("ConsumedCapacity") or {}).get("CapacityUnits", 0.0)
            page.queries += 1
            seen[(pipeline, execution_id)] = from_item(answer.get("Item"))
        return seen[(pipeline, execution_id)]

    def ref(self, text: str) -> str:
        """The ledger's ref of a pipeline as a person names it (`NAME` or `ACCOUNT/NAME`)."""
        return normalize_ref(text, self._own_account)

    def history(self, ref: str, limit: int = 20) -> Page:
        """A pipeline's executions, newest first. `ref`: `NAME` (this account's pipeline) or `ACCOUNT/NAME`."""
        page = self._index("gsi1", history_pk(normalize_ref(ref, self._own_account)), limit=limit)
        page.items = [execution_view(i) for i in page.items]
        return page

    def by_commit(self, sha: str) -> Page:
        """Every execution of the commit that `sha` (7 or more characters) starts; AmbiguousCommit when
        several recorded commits do."""
        prefix = sha.strip().lower()
        if len(prefix) < COMMIT_PREFIX:
            raise ValueError(f"a commit is named by at least {COMMIT_PREFIX} characters of its SHA: {sha!r}")
        page = self._index("gsi2", commit_pk(prefix))
        if len(prefix) == 40:  # recorded before the prefix layout
            legacy = self._index("gsi2", legacy_commit_pk(prefix))
            page.items += legacy.items
            page.consumed_capacity += legacy.consumed_capacity
            page.queries += legacy.queries
        unique = {(i.get("pipeline"), i.get("execution_id")): i for i in page.items
                  if str(i.get("commit_id", "")).lower().startswith(prefix)}
        page.items = sorted((execution_view(i) for i in unique.values()), key=lambda v: v.get("started_at") or "",
                            reverse=True)
        commits = sorted({str(i["commit_id"]).lower() for i in page.items})
        if len(commits) > 1:
            raise AmbiguousCommit(prefix, commits)
        return page

    def running(self) -> Page:
        """Executions running now, oldest first (the sparse running index: its size is what runs)."""
        from warden.ledger.keys import RUNNING_GSI4PK, RUNNING_INDEX

        page = self._index(RUNNING_INDEX, RUNNING_GSI4PK, newest_first=False)
        page.items = [execution_view(i) for i in page.items]
        return page

    def started_between(self, start: datetime, end: datetime) -> Page:
        """Executions that started in [start, end], oldest first, through the monthly time index."""
        total, month = Page([]), start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        bounds = (clock.iso(start), clock.iso(end) + "~")
        while month <= end:
            part = self._index("gsi3", month_pk(month), newest_first=False, between=bounds)
            total.items += [execution_view(i) for i in part.items]
            total.consumed_capacity += part.consumed_capacity
            total.scanned += part.scanned
            total.queries += part.queries
            month = (month + timedelta(days=32)).replace(day=1)
        return total

    def for_dora(self, start: datetime, end: datetime) -> Page:
        """Executions that may have reached production in [start, end]: they started at most
        MAX_EXECUTION_DAYS before it."""
        return self.started_between(start - timedelta(days=MAX_EXECUTION_DAYS), end)


# -- plain reads for other features (ArtifactGuard's rollback protection): no capacity accounting --------
def _all(ddb: Any, table: str, limit: int | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    start = None
    while True:
        request = {"TableName": table, **kwargs}
        if start:
            request["ExclusiveStartKey"] = start
        page = ddb.query(**request)
        items += [from_item(i) for i in page.get("Items", [])]
        start = page.get("LastEvaluatedKey")
        if not start or (limit is not None and len(items) >= limit):
            return items


def current_items(ddb: Any, table: str) -> list[dict[str, Any]]:
    """Every stage's current-deployment item, as stored (one query, every page)."""
    return _all(ddb, table, IndexName="gsi1", KeyConditionExpression="gsi1pk = :pk",
                ExpressionAttributeValues={":pk": {"S": CURRENT_GSI1PK}})


def recent_executions(ddb: Any, table: str, ref: str, limit: int) -> list[dict[str, Any]]:
    """A pipeline's newest `limit` (about) executions by its ledger ref, newest first, as `execution_view`s."""
    return [execution_view(i) for i in _all(
        ddb, table, limit=limit, IndexName="gsi1", KeyConditionExpression="gsi1pk = :pk",
        ExpressionAttributeValues={":pk": {"S": history_pk(ref)}}, ScanIndexForward=False, Limit=limit)]
