"""One version: pyproject.toml's `version`, the layer's `warden.__version__`, the template's `Metadata.Version`,
the newest release of CHANGELOG.md and the footer of every message agree."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import yaml

import warden
from warden.notify.notice import Notice
from warden.notify.render import render, render_chat
from warden.notify.rules import Decision

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def _template() -> dict:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # !Ref, !Sub...: not needed here
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=Loader)


def test_pyproject_the_layer_the_template_and_the_changelog_name_one_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION)
    assert warden.__version__ == VERSION  # the layer ships without pyproject.toml
    assert _template()["Metadata"]["Version"] == VERSION
    releases = re.findall(r"^## \[?(\d+\.\d+\.\d+)\]? - \d{4}-\d{2}-\d{2}$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert releases[0] == VERSION and releases == sorted(releases, key=lambda v: tuple(map(int, v.split("."))),
                                                         reverse=True)


def test_the_readme_says_the_version_a_message_carries():
    assert f"(`Sent by Pipeline Warden {VERSION}.`)" in (ROOT / "README.md").read_text()


def test_the_lock_records_the_projects_version():
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    [project] = [p for p in lock["package"] if p["name"] == "pipeline-warden"]
    assert project["version"] == VERSION


def test_every_message_says_the_version_in_its_footer():
    notice = Notice(event="pipeline.failed", event_id="e-1", time=datetime(2026, 12, 6, tzinfo=UTC),
                    account="111122223333", region="us-east-1", pipeline="payments-api", state="FAILED")
    body = json.loads(render(notice, Decision(("oncall",), "critical")).message)
    assert body["default"].splitlines()[-1] == f"Sent by Pipeline Warden {VERSION}."
    assert body["email"].splitlines()[-1].endswith(f"Sent by Pipeline Warden {VERSION}.")
    chat = json.loads(render_chat(notice, Decision(("chat",), "critical")).message)
    assert chat["content"]["description"].splitlines()[-1] == f"*Sent by:* Pipeline Warden {VERSION}"
