"""`warden artifacts`: the audit of every bucket of the embedded world, as a table or JSON (read only).

The world is the demo's after its replay (or the `--replay` inputs'); the pipelines using a bucket are read
from its CodePipeline (and the map of workload pipelines ArtifactGuard keeps). Every bucket is judged with the
`artifacts` configuration the scenario set (or the defaults) by the same checks ArtifactGuard runs;
nothing is written and nobody is told. Buckets that no pipeline names are shown as such.
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("artifacts", help="audit the embedded world's buckets (read only)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--replay", metavar="INPUT", action="append",
                        help="replay these inputs instead of the demo (repeatable)")


def audit(world: Any) -> list[dict[str, Any]]:
    from warden.artifacts import checks
    from warden.artifacts.config import ArtifactsConfig
    from warden.artifacts.discovery import ArtifactMap, artifacts_of, stores_of
    from warden.runtime.documents import ConfigStore
    from warden_local.world import ACCOUNT

    config: ArtifactsConfig = ConfigStore(world.client("ssm"), world.parameter("ConfigPrefix")).get("artifacts")
    # The pipelines of the world, read as ArtifactGuard's scheduled pass reads them (no map written here).
    snapshot = ArtifactMap(world.client("dynamodb"), world.physical["StateTable"]["TableName"]).load()
    codepipeline = world.client("codepipeline")
    for page in codepipeline.get_paginator("list_pipelines").paginate():
        for summary in page["pipelines"]:
            definition = codepipeline.get_pipeline(name=summary["name"])["pipeline"]
            snapshot.pipelines[f"local#{summary['name']}"] = {
                "sk": f"local#{summary['name']}", "pipeline": summary["name"], "account": ACCOUNT,
                "stores": stores_of(definition, world.session.region_name), "artifacts": artifacts_of(definition)}
    known = snapshot.buckets()
    s3, kms = world.client("s3"), world.client("kms")

    def customer_managed(key: str) -> bool | None:
        try:
            return kms.describe_key(KeyId=key)["KeyMetadata"].get("KeyManager") == "CUSTOMER"
        except Exception:  # noqa: BLE001 (an unknown key is reported as unconfirmed)
            return None

    rows = []
    for name in sorted(b["Name"] for b in s3.list_buckets().get("Buckets", [])):
        bucket = known.get((ACCOUNT, name))
        rules = config.for_bucket(name)
        row: dict[str, Any] = {"bucket": name, "pipelines": bucket.pipelines if bucket else [],
                               "artifact_bucket": bucket is not None, "mode": rules.mode if rules else "excluded"}
        if rules is not None:
            judged = checks.judge(checks.read_state(s3, name, ACCOUNT), name, rules, customer_managed=customer_managed,
                                  prefixes=bucket.prefixes if bucket else ())
            row["compliant"] = not judged.failed
            row["checks"] = {c.id: {"ok": c.ok, "text": c.text} for c in judged.checks}
        rows.append(row)
    return rows


def run(args: argparse.Namespace) -> int:
    from warden_local.demo import STORY
    from warden_local.replay import load, replay, world_for

    inputs = args.replay or [str(STORY)]
    with world_for([load(p) for p in inputs]) as world:
        replay(inputs, world=world)
        rows = audit(world)
    if args.json:
        print(json.dumps({"buckets": rows}, indent=2))
        return 0
    print(render(rows))
    return 0


def render(rows: list[dict[str, Any]]) -> str:
    table = [["BUCKET", "PIPELINES", "MODE", "RESULT"]]
    for row in rows:
        if "checks" not in row:
            result = "not audited"
        elif row["compliant"]:
            result = "compliant"
        else:
            failed = [c for c, v in row["checks"].items() if not v["ok"]]
            result = f"{len(failed)} failed: {', '.join(failed)}"
        pipelines = ", ".join(row["pipelines"]) or ("-" if row["artifact_bucket"] else "(no pipeline)")
        table.append([row["bucket"], pipelines, row["mode"], result])
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:3], widths, strict=True)) + "  " + r[3] for r in table]
    failing = [(row["bucket"], c, v["text"]) for row in rows for c, v in (row.get("checks") or {}).items()
               if not v["ok"]]
    lines += [""] + [f"{b}: {c}: {t}" for b, c, t in failing] if failing else []
    return "\n".join(lines)
