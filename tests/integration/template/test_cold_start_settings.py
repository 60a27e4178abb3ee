"""Deploy-time settings that keep a cold start short, as the functions of template.yaml run with them."""

from __future__ import annotations

import subprocess
import sys

from warden_local.world import World


def test_given_the_template_when_a_function_builds_its_first_model_then_pydantic_scans_no_plugin_entry_points():
    """pydantic looks for plugins in every installed distribution's entry points when it builds its first
    model, on every cold start; the template turns that off for every function, with a value pydantic reads
    as "off" (it accepts only `__all__`, `1` and `true`)."""
    with World() as world:
        envs = {fid: world.environment(fn) for fid, fn in world.functions.items()}
    assert len(envs) >= 7 and {env.get("PYDANTIC_DISABLE_PLUGINS") for env in envs.values()} == {"true"}
    code = ("import importlib.metadata, sys\n"
            "scanned = []\n"
            "real = importlib.metadata.entry_points\n"
            "importlib.metadata.entry_points = lambda **kw: scanned.append(kw) or real(**kw)\n"
            "import pydantic.plugin._loader as loader\n"
            "loader.entry_points = importlib.metadata.entry_points\n"
            "from pydantic import BaseModel\n"
            "class First(BaseModel):\n"
            "    name: str\n"
            "First(name='x')\n"
            "print(scanned)\n")
    for env in envs.values():
        done = subprocess.run([sys.executable, "-c", code], env={"PATH": "", **env}, capture_output=True, text=True,
                              check=True)
        assert done.stdout.strip() == "[]"
