"""ArtifactGuard in `make bench`: the handler on a CloudTrail event, and the calls of a compliant pass.

A scheduled pass reads the pipeline -> bucket map with one Query and audits each bucket once, so with 10 or
100 pipelines sharing 3 buckets a compliant pass must make the same calls, and no write at all. The pass
figures come from a fresh embedded world in a subprocess (the shared one holds other benchmarks' pipelines).
"""

from __future__ import annotations

import contextlib
import copy
import json
import subprocess
import sys
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from tests.benchmarks.bench import ROOT, CallMeter
from warden.core.clock import iso, parse_iso

T0 = parse_iso("2026-11-27T06:00:00Z")
BUCKETS = [f"codepipeline-us-east-1-11112222333{n}" for n in range(3)]
WRITE_PREFIXES = ("s3:Put", "s3:Delete", "s3:CopyObject", "dynamodb:PutItem", "dynamodb:UpdateItem",
                  "dynamodb:DeleteItem", "dynamodb:BatchWriteItem")


def _definition(name: str, bucket: str, key: str) -> dict[str, Any]:
    demo = json.loads((ROOT / "events" / "scenarios" / "demo.json").read_text())
    definition = copy.deepcopy(next(c for c in demo["world"] if c["call"] == "codepipeline:CreatePipeline"))
    pipeline = definition["params"]["pipeline"] | {"name": name}
    pipeline["artifactStore"] = {"type": "S3", "location": bucket, "encryptionKey": {"id": key, "type": "KMS"}}
    return pipeline


def _setup(world: Any, pipelines: int) -> None:
    from warden_local.fakes import moto_model
    from warden_local.world import ACCOUNT, REGION

    iam, s3, kms = world.client("iam"), world.client("s3"), world.client("kms")
    role = json.loads((ROOT / "events" / "scenarios" / "demo.json").read_text())["world"][0]["params"]
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):  # the shared world: made already
        iam.create_role(**role)
    key = kms.create_key(Description="bench artifacts")["KeyMetadata"]["Arn"]
    for bucket in BUCKETS:
        s3.create_bucket(Bucket=bucket)
    moto_model.create_pipelines(ACCOUNT, REGION, [_definition(f"bench-{n:04d}", BUCKETS[n % 3], key)
                                                  for n in range(pipelines)])


def _sweep(world: Any, at: str) -> Any:
    return world.invoke("ArtifactGuard", {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                                          "source": "aws.events", "account": "111122223333", "time": at,
                                          "region": "us-east-1", "resources": [], "detail": {}})


def compliant_pass(pipelines: int) -> dict[str, Any]:
    """In a fresh world: a first pass (fills the map, fixes the buckets), then the measured compliant pass."""
    from warden_local.world import World

    with World() as world:
        _setup(world, pipelines)
        world.set_time(T0)
        first = _sweep(world, iso(T0))
        world.set_time(T0 + timedelta(days=1))
        with CallMeter() as meter:
            second = _sweep(world, iso(T0 + timedelta(days=1)))
        for outcome in (first, second):
            if outcome.error:
                raise RuntimeError(f"ArtifactGuard failed during the benchmark: {outcome.error}")
    calls: Counter[str] = meter.calls
    return {"calls": sum(calls.values()), "writes": sum(v for k, v in calls.items() if k.startswith(WRITE_PREFIXES)),
            "by_api": dict(sorted(calls.items())), "first_pass_writes": first.result["writes"],
            "buckets": second.result["audited"]}


def _bucket_event(world: Any) -> dict[str, Any]:
    """A CloudTrail PutBucketPolicy on a compliant artifact bucket: the event Warden's own writes bring back."""
    _setup(world, 3)
    world.set_time(T0)
    _sweep(world, iso(T0))
    event = json.loads((ROOT / "events" / "cloudtrail" / "put-bucket-policy.json").read_text())
    event["detail"]["requestParameters"]["bucketName"] = BUCKETS[0]
    return event


def measure(world: Any, warm: Any) -> dict[str, Any]:
    handler = warm(world, "ArtifactGuard", [_bucket_event(world)])
    out = subprocess.run([sys.executable, "-m", "tests.benchmarks.artifacts"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    passes = json.loads(out.strip().splitlines()[-1])
    ten, hundred = passes["10"], passes["100"]
    return {"handlers": {"ArtifactGuard": handler},
            "artifacts": {"calls_10": ten["calls"], "calls_100": hundred["calls"],
                          "writes_compliant_10": ten["writes"], "writes_compliant_100": hundred["writes"],
                          "buckets": hundred["buckets"], "calls_by_api_100": hundred["by_api"]}}


if __name__ == "__main__":
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        found = {str(n): compliant_pass(n) for n in (10, 100)}
    print(json.dumps(found))
