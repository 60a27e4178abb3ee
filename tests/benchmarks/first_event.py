"""`cold_first_event_ratio`: a fresh interpreter importing a handler and handling its first event, over
a fresh interpreter that imports boto3 and makes the same AWS calls with plain clients.

Both talk to the same embedded AWS, served over HTTP by moto's ThreadedMotoServer from this process
(so the stack the bench deployed, and the CodePipeline extension, answer both). The calls of the
baseline are the ones the handler made, recorded in a separate run: same services, regions,
operations and parameters, each through a plain client. A call that fails the second time (a
conditional write already done) still costs its round trip, which is what is compared. Each run gets
its own event (fresh ids), so idempotency and the approval store see a first delivery every time.

Each side loads what it loads in Lambda. The handler imports the layer as deployed: a copy of Warden's package
and of the layer's requirements (the versions layers/warden/requirements.txt pins, from this environment),
given bytecode by the layer build's own step (`make -C layers/warden bytecode`), first on the path; no process
may write bytecode (PYTHONDONTWRITEBYTECODE, as on Lambda's read-only /opt). boto3, which the Lambda runtime
provides, is this environment's on both sides, with its bytecode compiled beforehand: the baseline is plain
boto3 at its fastest.
"""

from __future__ import annotations

import compileall
import importlib.metadata
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RUNS = 5

CONTEXT = """
class Context:
    function_name = {name!r}
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:" + {name!r}
    memory_limit_in_mb = 256
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/" + {name!r}
    log_stream_name = "bench"
    def get_remaining_time_in_millis(self):
        return 30000
"""

HANDLER = CONTEXT + """
import importlib.util, json, sys, time
event = json.loads({event!r})
t = time.perf_counter()
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.handler(event, Context())
elapsed = time.perf_counter() - t
import os
layer = os.environ.get("PYTHONPATH")  # the deployed layer's copy, when the bench gives one (deployed_env)
for name in ("warden", "pydantic", "aws_lambda_powertools"):
    loaded = getattr(sys.modules.get(name), "__file__", None) or ""
    if layer and name in sys.modules and not loaded.startswith(layer):
        sys.exit(f"{{name}} was loaded from {{loaded}}, not from the layer {{layer}}")
print("ELAPSED", elapsed)
"""

RECORD = CONTEXT + """
import importlib.util, json, sys
import botocore.client
calls = []
original = botocore.client.BaseClient._make_api_call
def recorded(client, operation, params):
    calls.append([client.meta.service_model.service_name, client.meta.region_name, operation, params])
    return original(client, operation, params)
botocore.client.BaseClient._make_api_call = recorded
event = json.loads({event!r})
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.handler(event, Context())
print("CALLS", json.dumps(calls, default=str))
"""

# The recorded calls with plain clients, one per service and region (no braces: the templates below are
# str.format'ed around it).
CALL_ALL = """
def call_all(calls):
    import boto3
    from botocore import xform_name
    clients = dict()
    for service, region, operation, params in calls:
        key = (service, region)
        if key not in clients:
            clients[key] = boto3.client(service, region_name=region)
        try:
            getattr(clients[key], xform_name(operation))(**params)
        except Exception:
            pass  # a conditional write already done: the round trip is what counts
"""

BASELINE = CALL_ALL + """
import json, time
calls = json.loads({calls!r})
t = time.perf_counter()
call_all(calls)
elapsed = time.perf_counter() - t
print("ELAPSED", elapsed)
"""

# What every function on this stack loads before any of Warden's code: pydantic (imported, one model defined and
# validated) and powertools' Logger and Metrics (one log line with the Lambda context, one metric flushed), from
# the deployed layer, around the same calls with plain clients. Its ratio to BASELINE is the least a handler can
# reach with these libraries; the handler's ratio minus it is Warden's own share.
FLOOR = CONTEXT + CALL_ALL + """
import json, time
calls = json.loads({calls!r})
event = json.loads({event!r})
t = time.perf_counter()
import boto3
from pydantic import BaseModel
from aws_lambda_powertools import Logger, Metrics
logger, metrics = Logger(), Metrics()
class Event(BaseModel):
    id: str | None = None
@metrics.log_metrics
@logger.inject_lambda_context
def handler(event, context):
    Event.model_validate(event)
    call_all(calls)
    metrics.add_metric(name="Handled", unit="Count", value=1)
    logger.info("handled")
handler(event, Context())
elapsed = time.perf_counter() - t
print("ELAPSED", elapsed)
"""

# boto3 and what it imports: the Lambda runtime's part, loaded from this environment on both sides.
RUNTIME_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")


def _layer_requirements() -> dict[str, str]:
    text = (ROOT / "layers" / "warden" / "requirements.txt").read_text()
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^ \\]+)", text, re.MULTILINE))


def deployed_layer(into: Path, root: Path = ROOT, bytecode: bool = True) -> Path:
    """A copy of the layer as `sam build` ships it (layers/warden/Makefile), at into/python: Warden's package
    from `root` and the pinned requirements' files from this environment (the same versions: uv.lock and the
    layer's lock agree), with the build's bytecode unless `bytecode` is False (what SAM's python builder shipped)."""
    layer = into / "python"
    shutil.copytree(root / "layers" / "warden" / "warden", layer / "warden",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name, version in _layer_requirements().items():
        dist = importlib.metadata.distribution(name)
        if dist.version != version:
            raise RuntimeError(f"{name} {dist.version} here, {version} in the layer's lock: run make venv")
        for file in dist.files or []:
            if "__pycache__" in file.parts or file.parts[0].endswith((".data", "bin")) or file.parts[0] == "..":
                continue
            (layer / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(dist.locate_file(file), layer / file)
    if bytecode:
        subprocess.run(["make", "--no-print-directory", "-s", "-C", str(ROOT / "layers" / "warden"), "bytecode",
                        f"LAYER={layer}", f"PYTHON={sys.executable}"], check=True, capture_output=True)
    return layer


def runtime_bytecode() -> None:
    """Bytecode for boto3 and its dependencies in this environment (a no-op when it is there already)."""
    for name in RUNTIME_DISTRIBUTIONS:
        dist = importlib.metadata.distribution(name)
        for file in dist.files or []:
            if file.suffix == ".py" and "__pycache__" not in file.parts:
                compileall.compile_file(str(dist.locate_file(file)), quiet=2)


def deployed_env(env: dict[str, str], layer: Path) -> dict[str, str]:
    """A handler's environment with the deployed layer first on the path."""
    return {**env, "PYTHONPATH": str(layer)}


def _run(code: str, env: dict[str, str], marker: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith(marker + " ")]
    if done.returncode or not lines:
        raise RuntimeError(f"first-event run failed ({marker}): {done.stderr[-2000:]}")
    return lines[-1].split(" ", 1)[1]


def cold_run(fid: str, event: dict[str, Any], path: str, calls: str, env: dict[str, str],
             base_env: dict[str, str]) -> tuple[float, float]:
    """One run: (the handler's first event, the stack's floor), each over plain boto3 making the same calls."""
    handled = float(_run(HANDLER.format(name=fid, event=json.dumps(event), path=path), env, "ELAPSED"))
    baseline = float(_run(BASELINE.format(calls=calls), base_env, "ELAPSED"))
    floor = float(_run(FLOOR.format(name=fid, event=json.dumps(event), calls=calls), env, "ELAPSED"))
    return handled / baseline, floor / baseline


def ratios(runs: list[tuple[float, float]], calls: str) -> dict[str, Any]:
    return {"cold_first_event_ratio": round(statistics.median(r[0] for r in runs), 2),
            "stack_floor_ratio": round(statistics.median(r[1] for r in runs), 2),
            "first_event_calls": len(json.loads(calls))}


def first_events(world: Any) -> dict[str, Callable[[], dict[str, Any]]]:
    """Per handler, a factory of its first event (fresh ids every time)."""
    from warden_local import fakes

    def sample(name: str, **detail: Any) -> dict[str, Any]:
        event = json.loads((ROOT / "events" / "codepipeline" / name).read_text())
        event["id"] = str(uuid.uuid4())
        event["detail"].update(detail)
        return event

    def router() -> dict[str, Any]:
        return sample("pipeline-succeeded.json", **{"execution-id": str(uuid.uuid4())})

    def tracker() -> dict[str, Any]:
        event = sample("action-started-approval.json", **{"execution-id": str(uuid.uuid4())})
        fakes.apply_event(event)  # CodePipeline shows it pending, with a token
        return event

    def ledger() -> dict[str, Any]:
        return sample("pipeline-started.json", **{"execution-id": str(uuid.uuid4())})

    def sweep() -> dict[str, Any]:
        return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                "account": world.account, "time": "2026-11-27T09:00:00Z", "region": world.region,
                "resources": [f"arn:aws:events:{world.region}:{world.account}:rule/ApprovalEscalator"],
                "detail": {}}

    def alarm() -> dict[str, Any]:
        event = json.loads((ROOT / "events" / "cloudwatch" / "alarm-5xx-alarm.json").read_text())
        event["id"] = str(uuid.uuid4())
        # A transition of its own (idempotency keys on the alarm and CloudWatch's time), so every run is a first.
        event["detail"]["state"]["timestamp"] = datetime.now(UTC).isoformat(timespec="milliseconds")
        return event

    def hook() -> dict[str, Any]:
        event = json.loads((ROOT / "events" / "lifecycle-hook" / "after-allow-traffic.json").read_text())
        event["DeploymentId"] = "d-" + uuid.uuid4().hex[:9].upper()
        return event

    def scheduled(function: str) -> Callable[[], dict[str, Any]]:
        def event() -> dict[str, Any]:
            return sweep() | {"resources": [f"arn:aws:events:{world.region}:{world.account}:rule/{function}"]}

        return event

    return {"NotificationRouter": router, "ApprovalTracker": tracker, "DeploymentTracker": ledger,
            "ApprovalEscalator": sweep, "RollbackTrigger": alarm, "DeploymentValidationHook": hook,
            "ArtifactGuard": scheduled("ArtifactGuard")}


def measure(world: Any, _warm: Any = None) -> dict[str, Any]:
    """{"handlers": {id: {"cold_first_event_ratio": r}}}: medians over RUNS, interleaved run by run."""
    from moto.server import ThreadedMotoServer

    from warden_local.world import local_env

    scenario = json.loads((ROOT / "events" / "scenarios" / "approval-escalation.json").read_text())
    for call in scenario["world"]:  # payments-api, so that the handlers' CodePipeline reads answer
        from botocore import xform_name

        service, _, operation = call["call"].partition(":")
        getattr(world.client(service), xform_name(operation))(**call["params"])
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    built = Path(tempfile.mkdtemp(prefix="warden-layer-"))
    try:
        runtime_bytecode()
        layer = deployed_layer(built)
        base_env = {**os.environ, **local_env(world.account, world.region),
                    "AWS_ENDPOINT_URL": f"http://{host}:{port}", "PYTHONDONTWRITEBYTECODE": "1"}
        factories = {fid: f for fid, f in first_events(world).items() if fid in world.functions}
        envs = {fid: deployed_env({**base_env, **world.environment(world.functions[fid])}, layer)
                for fid in factories}
        paths = {fid: str(world.functions[fid].module_path) for fid in factories}
        calls = {fid: _run(RECORD.format(name=fid, event=json.dumps(factories[fid]()), path=paths[fid]),
                           envs[fid], "CALLS") for fid in factories}
        runs: dict[str, list[tuple[float, float]]] = {fid: [] for fid in factories}
        for _ in range(RUNS):
            for fid, factory in factories.items():
                runs[fid].append(cold_run(fid, factory(), paths[fid], calls[fid], envs[fid], base_env))
    finally:
        server.stop()
        shutil.rmtree(built, ignore_errors=True)
    return {"handlers": {fid: ratios(r, calls[fid]) for fid, r in runs.items()}}
