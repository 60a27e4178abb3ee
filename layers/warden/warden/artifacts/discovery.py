"""Which buckets are artifact buckets: the pipeline -> bucket map, kept in the state table.

One item per pipeline (`pk ARTIFACTS`, `sk PIPELINE#<account>#<region>#<name>`) holds the artifact stores
its definition names (every region of `artifactStores`, or `artifactStore`) and the names of the output
artifacts its actions declare (what CodePipeline writes there, under `artifact_prefix`), with the
pipeline's version and update time. A pass reads the whole map with one Query, lists the account's
pipelines (one page per 1,000) and calls GetPipeline only for pipelines that are new or changed since, so a pass over an
unchanged account costs the same whether 10 or 100 pipelines share its buckets. The same items are
written from CreatePipeline / UpdatePipeline CloudTrail events, with the definition the event carries;
a write happens only when the stored stores differ, so redelivered or reordered events converge (the
higher pipeline version wins; equal versions carry equal definitions).
Findings already told (`sk FINDINGS#<account>#<bucket>`, and `...#<bucket>#rollback-targets` for the
rollback targets Warden could not keep there) live under the same key, read by the same Query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warden.aws.dynamodb import from_item, to_av

PK = "ARTIFACTS"
PIPELINE_PREFIX = "PIPELINE#"
FINDINGS_PREFIX = "FINDINGS#"


def pipeline_sk(account: str, region: str, name: str) -> str:
    return f"{PIPELINE_PREFIX}{account}#{region}#{name}"


def findings_sk(account: str, bucket: str, part: str = "") -> str:
    """`part`: a story of the bucket told apart from its configuration (bucket names hold no '#')."""
    return f"{FINDINGS_PREFIX}{account}#{bucket}" + (f"#{part}" if part else "")


PIPELINE_FOLDER_CHARS = 20  # CodePipeline names an artifact's folder after the pipeline's first 20 characters
ARTIFACT_FOLDER_CHARS = 10  # and its subfolder after the output artifact name's first 10 (SourceArtifact: SourceArti)


def artifact_prefix(pipeline: str, artifact: str) -> str:
    """Where CodePipeline writes an output artifact of `pipeline` in its store: `<pipeline, 20 chars>/<artifact
    name, 10 chars>/`, each object named by 7 random letters and digits (for example
    `CodeBuild-Python-Pip/SourceArti/1TspnN3`)."""
    return f"{pipeline[:PIPELINE_FOLDER_CHARS]}/{artifact[:ARTIFACT_FOLDER_CHARS]}/"


def artifacts_of(definition: dict[str, Any]) -> list[str]:
    """The output artifact names the pipeline's actions declare (every stage, every action)."""
    def listed(value: Any) -> list[dict[str, Any]]:  # (an event's definition is whatever its caller sent)
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    return sorted({out["name"] for stage in listed(definition.get("stages"))
                   for action in listed(stage.get("actions"))
                   for out in listed(action.get("outputArtifacts")) if isinstance(out.get("name"), str)})


def stores_of(definition: dict[str, Any], region: str) -> list[dict[str, str]]:
    """`[{bucket, region, key?}]` from a pipeline structure (GetPipeline's or a CloudTrail event's)."""
    found = []
    stores = definition.get("artifactStores") or {}
    if definition.get("artifactStore"):
        stores = {region: definition["artifactStore"]} | dict(stores)
    for store_region, store in sorted(stores.items()):
        if (store or {}).get("type", "S3") != "S3" or not store.get("location"):
            continue
        entry = {"bucket": store["location"], "region": store_region}
        key = (store.get("encryptionKey") or {}).get("id")
        if key:
            entry["key"] = key
        found.append(entry)
    return found


@dataclass
class Bucket:
    """An artifact bucket and what is known about it from the pipelines that use it."""

    name: str
    account: str
    region: str
    pipelines: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # the pipelines' artifact encryption keys
    named: dict[str, str] = field(default_factory=dict)  # pipeline -> the key it names for this store
    prefixes: list[str] = field(default_factory=list)  # where the pipelines' actions write their artifacts
    unknown: list[str] = field(default_factory=list)  # pipelines whose artifacts the map does not know yet


@dataclass
class Snapshot:
    pipelines: dict[str, dict[str, Any]]  # sk -> item
    findings: dict[str, dict[str, Any]]  # sk -> item

    def buckets(self) -> dict[tuple[str, str], Bucket]:
        """(account, bucket) -> Bucket, from every stored pipeline."""
        found: dict[tuple[str, str], Bucket] = {}
        for item in sorted(self.pipelines.values(), key=lambda i: i["sk"]):
            for store in item.get("stores") or []:
                bucket = found.setdefault((item["account"], store["bucket"]),
                                          Bucket(store["bucket"], item["account"], store["region"]))
                if item["pipeline"] not in bucket.pipelines:
                    bucket.pipelines.append(item["pipeline"])
                if store.get("key") and store["key"] not in bucket.keys:
                    bucket.keys.append(store["key"])
                if store.get("key"):
                    bucket.named[item["pipeline"]] = store["key"]
                if "artifacts" not in item:
                    bucket.unknown.append(item["pipeline"])
                for name in item.get("artifacts") or []:
                    prefix = artifact_prefix(item["pipeline"], name)
                    if prefix not in bucket.prefixes:
                        bucket.prefixes.append(prefix)
        for bucket in found.values():
            bucket.prefixes.sort()
        return found


class ArtifactMap:
    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def load(self) -> Snapshot:
        pipelines, findings, start = {}, {}, None
        while True:
            request: dict[str, Any] = {"TableName": self._table, "KeyConditionExpression": "pk = :pk",
                                       "ExpressionAttributeValues": {":pk": {"S": PK}}}
            if start:
                request["ExclusiveStartKey"] = start
            page = self._ddb.query(**request)
            for raw in page.get("Items", []):
                item = from_item(raw)
                (pipelines if item["sk"].startswith(PIPELINE_PREFIX) else findings)[item["sk"]] = item
            start = page.get("LastEvaluatedKey")
            if not start:
                return Snapshot(pipelines, findings)

    def put_pipeline(self, snapshot: Snapshot, *, account: str, region: str, name: str, version: int | None,
                     updated: str | None, stores: list[dict[str, str]], source: str,
                     artifacts: list[str] | None = None) -> bool:
        """Store a pipeline's stores (and output artifact names) unless they are stored already; an older
        version never overwrites. `artifacts` None: not known (an item written before they were kept)."""
        sk = pipeline_sk(account, region, name)
        old = snapshot.pipelines.get(sk)
        if old and old.get("stores") == stores and old.get("version") == version and old.get("updated") == updated \
                and old.get("artifacts") == artifacts:
            return False
        item = {"pk": PK, "sk": sk, "pipeline": name, "account": account, "region": region, "stores": stores,
                "source": source, "version": version or 0, "updated": updated or "",
                **({"artifacts": artifacts} if artifacts is not None else {})}
        condition = "attribute_not_exists(version) OR version <= :v"
        try:
            self._ddb.put_item(TableName=self._table, Item={k: to_av(v) for k, v in item.items()},
                               ConditionExpression=condition, ExpressionAttributeValues={":v": to_av(version or 0)})
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False  # a newer definition is stored already
            raise
        snapshot.pipelines[sk] = item
        return True

    def delete_pipeline(self, snapshot: Snapshot, sk: str) -> None:
        self._ddb.delete_item(TableName=self._table, Key={"pk": {"S": PK}, "sk": {"S": sk}})
        snapshot.pipelines.pop(sk, None)

    def claim(self, snapshot: Snapshot, account: str, bucket: str, fingerprint: str, *, resolved: bool,
              at: datetime, lines: list[str], pipelines: list[str], region: str, found: list[str] | None = None,
              quiet: bool = False, part: str = "") -> bool:
        """Record what is to be told about a bucket, as pending (an outbox: `sent` clears it); False when
        another run recorded something since this pass read the map (it tells, this one stays quiet).
        `resolved`: every finding was fixed; `found`: the findings themselves; `quiet`: remembered, not told."""
        sk = findings_sk(account, bucket, part)
        previous = snapshot.findings.get(sk)
        item = {"fingerprint": fingerprint, "resolved": resolved, "told_at": at.isoformat(), "lines": lines,
                "pipelines": pipelines, "region": region, "pending": bool(lines) and not quiet,
                "found": found or []}
        values = {f":{k}": to_av(v) for k, v in item.items()}
        names = {f"#{k}": k for k in item}
        condition = "attribute_not_exists(sk)"
        if previous is not None:
            condition = "#told_at = :prev"
            values[":prev"] = to_av(previous.get("told_at", ""))
        try:
            self._ddb.update_item(TableName=self._table, Key={"pk": {"S": PK}, "sk": {"S": sk}},
                                  UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in item),
                                  ConditionExpression=condition, ExpressionAttributeNames=names,
                                  ExpressionAttributeValues=values)
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            # Refused: another run claimed since, or this very write succeeded and its answer was lost (the
            # SDK's retry then finds its own item). Only the second is this run's claim.
            stored = self._item(sk)
            if not stored or stored.get("told_at") != item["told_at"] or stored.get("fingerprint") != fingerprint:
                return False
            item = {k: stored.get(k, v) for k, v in item.items()}
        snapshot.findings[sk] = {**(previous or {}), "sk": sk, **item}  # (other attributes stay, as in the table)
        return True

    def _item(self, sk: str) -> dict[str, Any] | None:
        page = self._ddb.query(TableName=self._table, ConsistentRead=True,
                               KeyConditionExpression="pk = :pk AND sk = :sk",
                               ExpressionAttributeValues={":pk": {"S": PK}, ":sk": {"S": sk}})
        return from_item(page["Items"][0]) if page.get("Items") else None

    def record_policy_writes(self, snapshot: Snapshot, account: str, bucket: str,
                             records: list[dict[str, Any]]) -> None:
        """What Warden read and wrote in its recent policy writes of a bucket, with when (`policy_writes`,
        newest last, already pruned by the caller): the CloudTrail event of an edit that landed in between can
        then be recognised and re-applied, even after later writes. Kept on the findings item (written before
        any fix), so it is read by the same Query."""
        sk = findings_sk(account, bucket)
        try:
            self._ddb.update_item(TableName=self._table, Key={"pk": {"S": PK}, "sk": {"S": sk}},
                                  UpdateExpression="SET #pw = :pw REMOVE #old",
                                  ConditionExpression="attribute_exists(sk)",
                                  ExpressionAttributeNames={"#pw": "policy_writes", "#old": "policy_write"},
                                  ExpressionAttributeValues={":pw": to_av(records)})
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return
        if sk in snapshot.findings:
            snapshot.findings[sk]["policy_writes"] = records
            snapshot.findings[sk].pop("policy_write", None)

    @staticmethod
    def policy_writes(snapshot: Snapshot, account: str, bucket: str) -> list[dict[str, Any]]:
        item = snapshot.findings.get(findings_sk(account, bucket)) or {}
        return list(item.get("policy_writes") or ([item["policy_write"]] if item.get("policy_write") else []))

    def settle(self, snapshot: Snapshot, account: str, bucket: str, found: list[str]) -> None:
        """The findings still open after a run's fixes, when a run that told nothing (a message left pending
        by a failed attempt was sent instead) fixed some: a fixed one that comes back is then told again."""
        sk = findings_sk(account, bucket)
        try:
            self._ddb.update_item(TableName=self._table, Key={"pk": {"S": PK}, "sk": {"S": sk}},
                                  UpdateExpression="SET #found = :found", ConditionExpression="#told_at = :at",
                                  ExpressionAttributeNames={"#found": "found", "#told_at": "told_at"},
                                  ExpressionAttributeValues={":found": to_av(found),
                                                             ":at": to_av(snapshot.findings[sk]["told_at"])})
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return
        snapshot.findings[sk]["found"] = found

    def sent(self, snapshot: Snapshot, account: str, bucket: str, *, lines: list[str], resolved: bool,
             found: list[str] | None = None, part: str = "") -> None:
        """The pending message went out, saying `lines`; `resolved`: every finding was fixed; `found`: the
        findings still open after this run's fixes (a fixed one that comes back is then told again)."""
        sk = findings_sk(account, bucket, part)
        told_at = snapshot.findings[sk]["told_at"]
        values = {":no": to_av(False), ":at": to_av(told_at), ":lines": to_av(lines), ":resolved": to_av(resolved)}
        names = {"#pending": "pending", "#lines": "lines", "#resolved": "resolved", "#told_at": "told_at"}
        update = "SET #pending = :no, #lines = :lines, #resolved = :resolved"
        if found is not None:
            update += ", #found = :found"
            names["#found"], values[":found"] = "found", to_av(found)
        try:
            self._ddb.update_item(
                TableName=self._table, Key={"pk": {"S": PK}, "sk": {"S": sk}}, UpdateExpression=update,
                ConditionExpression="#told_at = :at", ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        snapshot.findings[sk].update(pending=False, lines=lines, resolved=resolved,
                                     **({"found": found} if found is not None else {}))


def refresh(codepipeline: Any, store: ArtifactMap, snapshot: Snapshot, account: str, region: str) -> int:
    """Bring the map of this account and region up to date with ListPipelines; returns GetPipeline calls."""
    listed: dict[str, dict[str, Any]] = {}
    for page in codepipeline.get_paginator("list_pipelines").paginate(PaginationConfig={"PageSize": 1000}):
        for summary in page.get("pipelines", []):
            listed[pipeline_sk(account, region, summary["name"])] = summary
    reads = 0
    for sk, summary in listed.items():
        old = snapshot.pipelines.get(sk)
        updated = _iso(summary.get("updated"))
        if old and old.get("version") == summary.get("version") and old.get("updated") == updated \
                and "artifacts" in old:
            continue  # (an item without the artifact names, from before they were kept, is read once more)
        definition = codepipeline.get_pipeline(name=summary["name"])["pipeline"]
        reads += 1
        store.put_pipeline(snapshot, account=account, region=region, name=summary["name"],
                           version=definition.get("version"), updated=updated,
                           stores=stores_of(definition, region), source="list", artifacts=artifacts_of(definition))
    prefix = f"{PIPELINE_PREFIX}{account}#{region}#"
    for sk in [sk for sk in snapshot.pipelines if sk.startswith(prefix) and sk not in listed]:
        store.delete_pipeline(snapshot, sk)  # deleted pipelines no longer make a bucket an artifact bucket
    return reads


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value) if value else None
