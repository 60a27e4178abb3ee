"""The deployment gate's bench section: its cold first answer (a fresh interpreter importing DeploymentGate's
handler and answering one stage condition's job, over a fresh interpreter that imports boto3 and makes the
same AWS calls with plain clients, as tests/benchmarks/first_event.py measures every handler) and its warm
answer time (the handler's own time, AWS calls subtracted), on payments-api of the freeze story during a
Berlin holiday (a deny: the calendar, the automatic freeze's reads, the override lookup, the answer).

Run alone: `.venv/bin/python -m tests.benchmarks.bench --only gate`.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
STORY = ROOT / "events" / "scenarios" / "freeze.json"
ANSWERS = 100
HOLIDAY = "2026-12-25T12:00:00+00:00"


def _setup(world: Any) -> str:
    from botocore import xform_name

    story = json.loads(STORY.read_text())
    for call in story["world"]:
        service, _, operation = call["call"].partition(":")
        getattr(world.client(service), xform_name(operation))(**call["params"])
    for kind, doc in story["config"].items():
        world.client("ssm").put_parameter(Name=f"{world.parameter('ConfigPrefix')}/{kind}", Type="String",
                                          Overwrite=True, Value=json.dumps(doc))
    return world.client("codepipeline").start_pipeline_execution(name="payments-api")["pipelineExecutionId"]


def _job(execution_id: str) -> dict[str, Any]:
    from warden_local.fakes.codepipeline import codepipeline_state

    return codepipeline_state().issue_rule_job("payments-api", "Deploy-Prod", execution_id)


def measure(world: Any, _warm: Any = None) -> dict[str, Any]:
    from datetime import datetime

    from tests.benchmarks import first_event
    from tests.benchmarks.bench import CallMeter
    from tests.benchmarks.first_event import RECORD, RUNS, _run

    execution = _setup(world)
    world.set_time(datetime.fromisoformat(HOLIDAY))
    # Warm: every answer a new job (a redelivered one would find its answer given), all denied by the holiday.
    for _ in range(5):
        world.invoke("DeploymentGate", _job(execution))
    samples = []
    with CallMeter() as meter:
        for _ in range(ANSWERS):
            before = meter.seconds
            outcome = world.invoke("DeploymentGate", _job(execution))
            if outcome.error or outcome.result.get("status") != "denied":
                raise RuntimeError(f"DeploymentGate did not deny during the bench: {outcome.error or outcome.result}")
            samples.append(outcome.seconds - (meter.seconds - before))
    warm = {"warm_ms": round(statistics.median(samples) * 1000, 3),
            "calls_per_event": round(sum(meter.calls.values()) / ANSWERS, 2),
            "calls": {k: round(v / ANSWERS, 2) for k, v in sorted(meter.calls.items())}}
    # Cold: fresh interpreters against the same embedded AWS over HTTP (first_event.py's method).
    import logging

    from moto.server import ThreadedMotoServer

    from warden_local.world import local_env

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    built = Path(tempfile.mkdtemp(prefix="warden-layer-"))
    try:
        first_event.runtime_bytecode()
        layer = first_event.deployed_layer(built)  # the handler loads the layer as deployed, bytecode included
        base_env = {**os.environ, **local_env(world.account, world.region),
                    "AWS_ENDPOINT_URL": f"http://{host}:{port}", "PYTHONDONTWRITEBYTECODE": "1"}
        env = first_event.deployed_env({**base_env, **world.environment(world.functions["DeploymentGate"])}, layer)
        path = str(world.functions["DeploymentGate"].module_path)
        calls = _run(RECORD.format(name="DeploymentGate", event=json.dumps(_job(execution)), path=path), env, "CALLS")
        runs = [first_event.cold_run("DeploymentGate", _job(execution), path, calls, env, base_env)
                for _ in range(RUNS)]
    finally:
        server.stop()
        shutil.rmtree(built, ignore_errors=True)
    cold = first_event.ratios(runs, calls)
    return {"handlers": {"DeploymentGate": {**warm, **cold}},
            "gate": {"warm_answer_ms": warm["warm_ms"], "cold_first_answer_ratio": cold["cold_first_event_ratio"],
                     "calls_per_answer": warm["calls_per_event"]}}
