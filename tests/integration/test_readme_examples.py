"""Every configuration example in README.md validates, with `warden config validate` as a person runs it.

A configuration example is a ```json block right after a `<!-- config -->` marker (documents keyed by
kind) or `<!-- config: KIND -->` (the value of the SSM parameter `<ConfigPrefix>/KIND`). An unmarked
```json block must not look like configuration, so a new example cannot slip past this test.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ROOT
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
    kinds = set()
    for _, kind, body in CONFIG:
        kinds |= {kind} if kind else set(json.loads(body))
    assert kinds == {"routing", "escalation", "ledger", "rollback", "artifacts"}


@pytest.mark.parametrize(("line", "kind", "body"), CONFIG, ids=[f"README.md:{c[0]}" for c in CONFIG])
def test_every_configuration_example_validates(tmp_path, capsys, line, kind, body):
    path = tmp_path / "example.json"
    path.write_text(body)
    status = main(["config", "validate", str(path), *(["--kind", kind] if kind else [])])
    out = capsys.readouterr()
    assert status == 0, f"README.md:{line}: {out.err}"
    assert "valid" in out.out


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
