"""The Makefile finds a Python 3.13 that runs, instead of naming one machine's path: a `python3.13` on PATH
that fails (pyenv's shim when 3.13 is not selected) is passed over for pyenv's own 3.13, then the usual
install places; with none, one message says what to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

SHIM = "#!/bin/sh\necho \"pyenv: python3.13: command not found\" >&2\nexit 127\n"


def make_python(tmp_path: Path, *, pyenv_versions: list[str] = (), places: list[Path] = ()) -> tuple[int, str, str]:
    """`make -s python` in a clean environment: PATH holds a failing python3.13 shim and a `pyenv` that
    knows its root (tmp/pyenv), with these versions installed there."""
    shims, root = tmp_path / "shims", tmp_path / "pyenv"
    shims.mkdir()
    (shims / "python3.13").write_text(SHIM)
    (shims / "pyenv").write_text(f"#!/bin/sh\n[ \"$1\" = root ] && echo {root}\n")
    for script in shims.iterdir():
        script.chmod(0o755)
    for version in pyenv_versions:
        bin_dir = root / "versions" / version / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "python").symlink_to(sys.executable)
    env = {"PATH": f"{shims}:/usr/bin:/bin", "HOME": str(tmp_path), "PY_PLACES": " ".join(map(str, places))}
    done = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT), "python"], env=env,
                          capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout.strip(), done.stderr.strip()


def test_a_failing_shim_is_passed_over_for_pyenvs_own_3_13(tmp_path):
    status, out, err = make_python(tmp_path, pyenv_versions=["3.12.1", "3.13.0"])
    assert (status, out) == (0, str(tmp_path / "pyenv/versions/3.13.0/bin/python")), err


def test_an_installed_version_that_does_not_run_is_passed_over(tmp_path):
    broken = tmp_path / "pyenv/versions/3.13.9/bin"
    broken.mkdir(parents=True)
    (broken / "python").write_text("#!/bin/sh\nexit 1\n")
    (broken / "python").chmod(0o755)
    status, out, err = make_python(tmp_path, pyenv_versions=["3.13.0"])
    assert (status, out) == (0, str(tmp_path / "pyenv/versions/3.13.0/bin/python")), err


def test_then_the_usual_install_places(tmp_path):
    usr_bin = tmp_path / "usr/bin"
    usr_bin.mkdir(parents=True)
    (usr_bin / "python3.13").symlink_to(sys.executable)
    status, out, err = make_python(tmp_path, places=[tmp_path / "usr/local/bin", usr_bin])
    assert (status, out) == (0, str(usr_bin / "python3.13")), err


def test_none_found_says_what_to_install(tmp_path):
    status, out, err = make_python(tmp_path, places=[tmp_path / "nowhere"])
    assert status != 0 and out == ""
    [line, *_] = err.splitlines()
    assert line.startswith("make: no Python 3.13 found") and "install Python 3.13" in line and "PY=" in line


def test_building_an_environment_without_one_fails_with_that_message(tmp_path):
    """Bootstrapping uv (the first step of every target) stops with the message, not `Error 127`."""
    uv = tmp_path / "uv/bin/uv"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PY_PLACES": ""}
    done = subprocess.run(["make", "-s", "--no-print-directory", "-C", str(ROOT), f"UV_VENV={tmp_path / 'uv'}",
                           str(uv)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and done.stderr.startswith("make: no Python 3.13 found"), done.stderr
    assert not (tmp_path / "uv").exists()
