"""The shared layer ships bytecode for every module (layers/warden/Makefile): Lambda's /opt is read-only, so a
layer without it compiles every module it imports from source at every cold start and keeps nothing.

The .pyc are unchecked hash-based (PEP 552): Python loads them without reading the source, which is right
for a layer version, immutable once published. These tests run the real build (`sam build`, what `make build`
and `make deploy` run) and the real loader.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

LAYER_SOURCE = ROOT / "layers" / "warden"
SAM = ROOT / ".venv-sam" / "bin" / "sam"


def pyc_problem(source: Path) -> str | None:
    """Why the bytecode beside a module is not what the layer must ship, or None."""
    cached = Path(importlib.util.cache_from_source(str(source)))
    if not cached.exists():
        return "no .pyc"
    data = cached.read_bytes()
    if data[:4] != importlib.util.MAGIC_NUMBER:
        return "compiled by another Python than 3.13"
    flags = int.from_bytes(data[4:8], "little")
    if flags != 0b01:
        return f"not unchecked hash-based (flags {flags:#b})"
    if data[8:16] != importlib.util.source_hash(source.read_bytes()):
        return "compiled from another source"
    marshal.loads(data[16:])  # a code object, or it raises
    return None


def sam_build(build_dir: Path) -> Path:
    if not SAM.exists():
        pytest.skip("needs the SAM CLI: make .venv-sam/.installed (make test builds it first)")
    python = subprocess.run(["sh", "tools/find-python"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1",
           "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([str(SAM), "build", "--template-file", "template.yaml", "--build-dir", str(build_dir)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return build_dir / "WardenLayer" / "python"


def test_sam_build_ships_a_valid_unchecked_hash_pyc_for_every_module_of_the_layer(tmp_path):
    # Given the template and the layer's locked requirements
    # When sam build builds the stack
    layer = sam_build(tmp_path / "build")
    # Then Warden's package is in the layer whole, beside its dependencies
    ours = {p.relative_to(LAYER_SOURCE).as_posix() for p in (LAYER_SOURCE / "warden").rglob("*.py")}
    shipped = {p.relative_to(layer).as_posix() for p in (layer / "warden").rglob("*.py")}
    assert shipped == ours
    for package in ("aws_lambda_powertools", "pydantic", "pydantic_core", "typing_extensions.py", "tzdata"):
        assert (layer / package).exists(), package
    # And every module in it, Warden's and every dependency's, has bytecode Python 3.13 loads without its source
    modules = sorted(p for p in layer.rglob("*.py") if "__pycache__" not in p.parts)
    assert len(modules) > 500
    problems = {str(p.relative_to(layer)): why for p in modules if (why := pyc_problem(p))}
    assert problems == {}


def test_the_layer_bytecode_step_makes_python_load_bytecode_without_compiling_or_reading_the_source(tmp_path):
    # Given a copy of Warden's package, with bytecode from the layer build's own step
    layer = tmp_path / "python"
    shutil.copytree(LAYER_SOURCE / "warden", layer / "warden", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(["make", "--no-print-directory", "-s", "-C", str(LAYER_SOURCE), "bytecode", f"LAYER={layer}",
                    f"PYTHON={sys.executable}"], check=True, capture_output=True)
    assert pyc_problem(layer / "warden" / "core" / "lazy.py") is None
    # When a source changes after the build (which a published layer version never does)
    (layer / "warden" / "core" / "lazy.py").write_text("raise SystemExit('compiled from source')\n")
    # Then a fresh interpreter that may not write bytecode (as on /opt) still runs the shipped bytecode
    done = subprocess.run([sys.executable, "-B", "-c", "import warden.core.lazy as m; print(m.__spec__.cached)"],
                          env={**os.environ, "PYTHONPATH": str(layer)}, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(layer))
