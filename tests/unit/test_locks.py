"""What `make` installs is fixed by lock files: exact versions, hashes, and the layer matching the tests."""

import re
import tomllib

from tests.helpers import ROOT

LAYER = ROOT / "layers" / "warden" / "requirements.txt"
TOOLS = [ROOT / "tools" / "sam.txt", ROOT / "tools" / "checkov.txt"]


def _pins(path):
    """{name: version} of a compiled requirements file; every requirement must be `name==version` with hashes."""
    pins, text = {}, path.read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        line = block.strip()
        if not line or line.startswith("#"):
            continue
        found = re.match(r"^([A-Za-z0-9_.\-\[\],]+)==([^ \\;]+)", line)
        assert found, f"{path.name}: not an exact pin: {line.splitlines()[0]}"
        assert "--hash=sha256:" in block, f"{path.name}: {found[1]} has no hash"
        pins[re.sub(r"\[.*\]", "", found[1]).lower().replace("_", "-")] = found[2]
    return pins


def _locked():
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return {p["name"]: p.get("version") for p in lock["package"]}


def test_the_layer_ships_the_versions_the_tests_ran():
    layer, locked = _pins(LAYER), _locked()
    assert {"aws-lambda-powertools", "pydantic", "pydantic-core", "tzdata"} <= set(layer)
    assert {name: version for name, version in layer.items() if locked.get(name) != version} == {}


def test_sam_cli_and_checkov_are_pinned_with_hashes():
    sam, checkov = (_pins(path) for path in TOOLS)
    assert sam["aws-sam-cli"] and checkov["checkov"]
    assert len(sam) > 50 and len(checkov) > 50  # the whole tree, not just the top package


def test_the_lock_matches_the_project_and_makefile_installs_only_from_locks():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    own = next(p for p in lock["package"] if p["name"] == project["project"]["name"])
    wanted = {re.split(r"[\[=<>; ]", d)[0] for d in project["project"]["dependencies"]}
    assert wanted <= {d["name"] for d in own["dependencies"]}
    makefile = (ROOT / "Makefile").read_text()
    assert "uv sync --frozen" in makefile.replace("$(UV)", "uv")
    assert "--require-hashes tools/sam.txt" in makefile and "--require-hashes tools/checkov.txt" in makefile
    # pip appears once: bootstrapping the pinned uv.
    assert re.findall(r"pip install [^\n]*", makefile) == ['pip install -q "uv==$(UV_VERSION)"']
