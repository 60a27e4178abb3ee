"""The CLI's inputs, fuzzed (issue 12, item 7): whatever the file holds, `warden` answers with its
output and exit 0, or with one line on stderr and exit 2; never a traceback."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import DEMO, EVENTS, ROOT
from warden_local.cli import main

SAMPLES = [json.loads(p.read_text()) for p in sorted(EVENTS.glob("*/*.json")) if p.parent.name != "scenarios"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8)
KEYS = ["steps", "world", "config", "event", "at", "schedule", "call", "params", "approval", "detail",
        "detail-type", "source", "account", "region", "Records", "Sns", "Message", "DeploymentId",
        "LifecycleEventHookExecutionId", "consoleLink", "pipelineName", "token", "as", "save"]


def _set(doc, path, value):
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


def _paths(doc, prefix=()):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_sample(draw):
    """A real input (event, approval message, hook, demo scenario step) with one part replaced."""
    doc = copy.deepcopy(draw(st.sampled_from(SAMPLES + [{"steps": DEMO["steps"][:3]}])))
    paths = list(_paths(doc))
    if paths:
        _set(doc, draw(st.sampled_from(paths)), draw(JSON))
    return doc


@st.composite
def shaped(draw):
    """Documents built from the keys the CLI looks at, with values of any type."""
    return draw(st.dictionaries(st.sampled_from(KEYS), JSON | st.lists(
        st.dictionaries(st.sampled_from(KEYS), JSON, max_size=4), max_size=3), max_size=4))


INPUTS = mutated_sample() | shaped() | JSON


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=INPUTS, json_output=st.booleans())
def test_any_input_gives_output_or_one_line_and_exit_2(tmp_path, capsys, doc, json_output):
    path = tmp_path / "input.json"
    path.write_text(json.dumps(doc))
    code = main(["replay", *(["--json"] if json_output else []), str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 2), (code, doc)
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and err.startswith("warden: "), err
    else:
        assert out.strip(), doc
        if json_output:
            json.loads(out)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=JSON | shaped())
def test_any_config_file_validates_or_fails_in_one_line(tmp_path, capsys, doc):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    code = main(["config", "validate", str(path)])
    out, err = capsys.readouterr()
    assert code in (0, 2) and (code == 0 or (len(err.strip().splitlines()) == 1 and err.startswith("warden: ")))


def test_an_approval_message_whose_approval_is_a_string_is_one_line_and_exit_2(tmp_path):
    body = json.loads((EVENTS / "approval-sns" / "approval-message.json").read_text())
    body["approval"] = "please approve"
    path = tmp_path / "approval.json"
    path.write_text(json.dumps(body))
    run = subprocess.run([sys.executable, "-m", "warden_local.cli", "replay", str(path)], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip() == (f"warden: {path}: an approval message's 'approval' must be an object, got str")
