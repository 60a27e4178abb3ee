"""README.md is executable: a reader who follows it top to bottom meets no broken step, and every
configuration example runs as it validates.

A configuration example is a ```json block right after a `<!-- config: KIND -->` marker: the value of the
SSM parameter `<ConfigPrefix>/KIND`, which the README asks the reader to save as KIND.json. An unmarked
```json block must not look like configuration, so a new example cannot slip past this test. The shell
blocks are followed by tests/readme_steps.py (what each command must satisfy is written there).
"""

from __future__ import annotations

import json
import os
import re

import pytest

from tests.conftest import ROOT
from tests.readme import blocks as readme_blocks
from tests.readme_steps import follow
from warden.runtime.documents import is_bundle, kinds_fitting
from warden_local.cli import main

BLOCK = re.compile(r"(?:<!-- config(?::\s*(?P<kind>\w+))?\s*-->\n)?```json\n(?P<body>.*?)\n```", re.S)


def blocks() -> list[tuple[int, str | None, bool, str]]:
    """(line, kind, marked, body) of every ```json block of the README."""
    text = (ROOT / "README.md").read_text()
    found = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("body"))
        marked = match.group(0).startswith("<!--")
        found.append((line, match.group("kind"), marked, match.group("body")))
    return found


CONFIG = [(line, kind, body) for line, kind, marked, body in blocks() if marked]


def test_the_readme_has_an_example_of_every_document():
    kinds = [kind for _, kind, _ in CONFIG]
    assert None not in kinds, "each example is one parameter's value: <!-- config: KIND -->"
    assert set(kinds) == {"routing", "escalation", "ledger", "rollback", "artifacts", "approvers", "freeze"}


@pytest.mark.parametrize(("line", "kind", "body"), CONFIG, ids=[f"README.md:{c[0]}" for c in CONFIG])
def test_every_configuration_example_validates_and_runs_as_written(world, tmp_path, capsys, line, kind, body):
    """Saved under its natural name and validated as a person does, then stored at its parameter and read
    by the functions' configuration store: valid, and read as written (no defaults, no older version)."""
    from warden.runtime.documents import ConfigStore, parse_value

    path = tmp_path / f"{kind}.json"
    path.write_text(body)
    status = main(["config", "validate", str(path)])
    out = capsys.readouterr()
    assert status == 0, f"README.md:{line}: {out.err}"
    assert out.out == f"{path}: valid ({kind})\n"
    prefix = world.parameter("ConfigPrefix")
    world.client("ssm").put_parameter(Name=f"{prefix}/{kind}", Type="String", Value=body, Overwrite=True)
    heard = []
    store = ConfigStore(world.client("ssm"), prefix, max_age=0, on_invalid=heard.append)
    assert store.require(kind) == parse_value(kind, body) and heard == []


def test_unmarked_json_blocks_are_not_configuration():
    for line, _, marked, body in blocks():
        if marked:
            continue
        try:
            data = json.loads(body)
        except ValueError:
            continue  # an outline with "..." placeholders, not a document
        assert not is_bundle(data) and not kinds_fitting(data), f"README.md:{line}: mark it <!-- config... -->"


def test_a_broken_example_would_be_caught(tmp_path, capsys):
    path = tmp_path / "example.json"
    path.write_text('{"mode": "enforced", "rules": [{"name": "x", "alarms": []}]}')
    assert main(["config", "validate", str(path), "--kind", "rollback"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"warden: {path}: rollback.mode: Input should be 'enforce' or 'dry_run'",
                   f"warden: {path}: rollback.rules[0] (name 'x').alarms: List should have at least 1 item "
                   "after validation, not 0"]  # every error, one line each


def test_the_start_in_audit_and_dry_run_commands_write_valid_documents(tmp_path, capsys):
    """The first screen's `echo '{...}' > KIND.json` lines: what they put in SSM is valid, and is the
    cautious mode of each document that changes resources."""
    text = (ROOT / "README.md").read_text()
    written = dict((kind, body) for body, kind in re.findall(r"echo '(\{[^']*\})'\s+> (\w+)\.json", text))
    assert written == {"artifacts": '{"mode": "audit"}', "rollback": '{"mode": "dry_run"}'}
    for kind, body in written.items():
        path = tmp_path / f"{kind}.json"
        path.write_text(body)
        assert main(["config", "validate", str(path)]) == 0, capsys.readouterr().err


def test_following_the_readme_top_to_bottom_works():
    assert follow() == []


ROUTING_PUT = "aws ssm put-parameter --name /pipeline-warden/prod/routing --type String --overwrite"
BREAKAGES = {
    "the dry-run document where no stack reads it": (
        "--name /pipeline-warden/prod/rollback --type String --overwrite \\\n  --value",
        "--name /pipeline-warden/rollback --type String --overwrite \\\n  --value"),
    "a put-parameter without --overwrite": (ROUTING_PUT, ROUTING_PUT.replace(" --overwrite", "")),
    ".venv used before anything builds it": ("make venv    # .venv", "# .venv"),
    "an environment samconfig.toml lacks": ("make deploy ENV=staging   #", "make deploy ENV=production   #"),
    "a make target that does not exist": ("make demo   #", "make demos   #"),
    "a warden option that does not exist": ("ledger history REF [--limit N]", "ledger history REF [--last N]"),
    "a value the functions would not read": (
        "echo '{\"mode\": \"audit\"}'", "echo '{\"mode\": \"audited\"}'"),
    "a file no step writes": ("--value file://routing.json", "--value file://routes.json"),
    "a filter on an attribute Warden does not set": ('{\\"severity\\": [\\"critical\\"]}',
                                                     '{\\"sev\\": [\\"critical\\"]}'),
    "a sam option that does not exist": ("sam deploy --guided --config-env staging",
                                         "sam deploy --guided --config-environment staging"),
    "an aws operation that does not exist": ("aws cloudtrail start-logging --name",
                                             "aws cloudtrail start-trail --name"),
    "an aws option its operation does not have": ("aws dynamodb delete-table --table-name",
                                                  "aws dynamodb delete-table --force --table-name"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_readme_edit_that_breaks_a_step_fails(breakage):
    old, new = BREAKAGES[breakage]
    text = (ROOT / "README.md").read_text()
    assert text.count(old) == 1, f"the README no longer has {old!r}: update this test"
    problems = follow(text.replace(old, new))
    assert len(problems) >= 1, breakage


def test_the_validate_transcript_is_what_validate_prints(tmp_path, capsys):
    """The README shows validate's errors for its routing example with `"stage"` for `"stages"` in the second
    rule and `"severity": "urgent"` in the third: those lines, exactly."""
    text = (ROOT / "README.md").read_text()
    [transcript] = [b for b in readme_blocks(text) if b.body.startswith("$ .venv/bin/warden config validate")]
    command, *expected = transcript.body.strip().splitlines()
    [routing] = [body for _, kind, body in CONFIG if kind == "routing" and '"stages"' in body]
    doc = json.loads(routing)
    doc["rules"][1]["match"]["stage"] = doc["rules"][1]["match"].pop("stages")
    doc["rules"][2]["severity"] = "urgent"
    name = command.split()[-1]
    (tmp_path / name).write_text(json.dumps(doc))
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(command.split()[2:]) == 2
    finally:
        os.chdir(cwd)
    assert capsys.readouterr().err.strip().splitlines() == expected
