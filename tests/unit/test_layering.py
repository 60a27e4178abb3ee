"""The layering, written down and enforced (README: layout). No exceptions are listed here, on purpose.

runtime imports features; features import notify, ledger, aws, models and core; notify and ledger import
aws, models and core; aws imports only core; a function's app.py imports runtime and core; nothing deployable
imports warden_local; only warden.runtime.settings reads the environment; no module is imported by a string.
Every import counts, at the top of a module, inside a function or under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "warden" / "warden"
FUNCTIONS = ROOT / "functions"

BASE = {"core"}
ADAPTERS = BASE | {"models", "aws"}
SHARED = ADAPTERS | {"notify", "ledger"}
FEATURES = ("router", "approvals", "health", "artifacts", "rollback", "freeze")
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "models": BASE,
    "aws": BASE,
    "notify": ADAPTERS,
    "ledger": ADAPTERS,
    **{feature: SHARED for feature in FEATURES},
}
PACKAGES = {path.name for path in LAYER.iterdir() if (path / "__init__.py").exists()}


def imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute import of a module: (line, dotted name); `from a import b` counts as a.b too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path}:{node.lineno}: relative import"
            found += [(node.lineno, node.module)]
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def layer_of(path: Path) -> str:
    """The package of the layer a module is in ("" for a function's app.py or the layer's top)."""
    if not path.is_relative_to(LAYER) or path.parent == LAYER:
        return ""
    return path.relative_to(LAYER).parts[0]


def deployable() -> list[Path]:
    return sorted(LAYER.rglob("*.py")) + sorted(FUNCTIONS.rglob("*.py"))


def test_every_package_of_the_layer_has_its_place_in_the_layering():
    assert set(ALLOWED) | {"runtime"} == PACKAGES


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_beneath_it(package):
    arrows = []
    for path in sorted((LAYER / package).rglob("*.py")):
        for line, name in imports(path):
            parts = name.split(".")
            if parts[0] == "warden" and len(parts) > 1 and parts[1] in PACKAGES and parts[1] != package \
                    and parts[1] not in ALLOWED[package]:
                arrows.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert arrows == [], f"{package} may import only {sorted(ALLOWED[package]) or 'itself'}"


def test_a_function_is_a_handler_on_the_runtime_and_nothing_else():
    arrows = []
    for path in sorted(FUNCTIONS.glob("*/app.py")):
        for line, name in imports(path):
            parts = name.split(".")
            if parts[0] == "warden" and len(parts) > 1 and parts[1] not in ("runtime", "core"):
                arrows.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
        assert len(path.read_text().splitlines()) < 40, f"{path.relative_to(ROOT)}: wiring belongs in runtime"
    assert arrows == []


def test_a_feature_owns_its_keys():
    """The ledger's item layout is the ledger's: others read and write through its functions."""
    found = [f"{path.relative_to(ROOT)}:{line} imports {name}" for path in deployable()
             if layer_of(path) not in ("ledger", "runtime") for line, name in imports(path)
             if name == "warden.ledger.keys" or name.startswith("warden.ledger.keys.")]
    assert found == []


def test_nothing_deployable_imports_the_local_tooling():
    found = [f"{path.relative_to(ROOT)}:{line}" for path in deployable() for line, name in imports(path)
             if name.split(".")[0] == "warden_local"]
    assert found == []


def test_only_the_settings_read_the_environment():
    reads = []
    for path in deployable():
        if path == LAYER / "runtime" / "settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
                reads.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module == "os" and \
                    {a.name for a in node.names} & {"environ", "getenv", "environb"}:
                reads.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert reads == []


def test_no_module_is_imported_by_a_string():
    """Arrows an AST cannot see would escape every rule above."""
    found = [f"{path.relative_to(ROOT)}:{line}" for path in deployable() for line, name in imports(path)
             if name in ("importlib", "importlib.import_module") or name.startswith("importlib.")]
    assert found == []


def test_the_contract_sees_an_upward_arrow(tmp_path):
    """The rule catches what it is meant to: an import from inside a function counts."""
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from warden.runtime.container import Container\n")
    assert (2, "warden.runtime.container.Container") in imports(module)
