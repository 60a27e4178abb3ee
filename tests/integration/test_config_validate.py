"""`warden config validate` takes what goes into SSM, in the forms a person has at hand, and reports every
error of every file, one line each, with exit status 2."""

from __future__ import annotations

import json

import pytest

from warden_local.cli import main


def validate(capsys, *args):
    status = main(["config", "validate", *map(str, args)])
    out = capsys.readouterr()
    return status, out.out, out.err.strip().splitlines()


def test_the_ssm_value_named_after_its_parameter(tmp_path, capsys):
    path = tmp_path / "routing.json"
    path.write_text(json.dumps({"rules": [{"name": "quiet", "match": {"pipelines": ["sandbox-*"]}, "mute": True}]}))
    assert validate(capsys, path) == (0, f"{path}: valid (routing)\n", [])


def test_the_kind_is_given_or_the_only_one_the_keys_fit(tmp_path, capsys):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"tiers": []}))
    assert validate(capsys, path)[0] == 0  # only `escalation` has `tiers`
    path.write_text(json.dumps({"mode": "audit"}))  # artifacts or rollback?
    status, _, err = validate(capsys, path)
    assert status == 2 and len(err) == 1 and "it fits artifacts, rollback" in err[0] and "--kind" in err[0]
    assert validate(capsys, path, "--kind", "artifacts")[0] == 0
    status, _, err = validate(capsys, path, "--kind", "rollback")
    assert status == 2 and err == [f"warden: {path}: rollback.mode: Input should be 'enforce' or 'dry_run'"]


def test_aws_ssm_output_of_a_deployed_prefix(tmp_path, capsys):
    path = tmp_path / "deployed.json"
    path.write_text(json.dumps({"Parameters": [
        {"Name": "/pipeline-warden/prod/routing", "Type": "String", "Value": json.dumps({"rules": []})},
        {"Name": "/pipeline-warden/prod/escalation", "Type": "String",
         "Value": json.dumps({"tiers": [{"name": "late", "after": "soon"}]})},
        {"Name": "/pipeline-warden/prod/rollback", "Type": "String", "Value": json.dumps({"bake_minutes": 0})}]}))
    status, out, err = validate(capsys, path)
    assert status == 2 and out == ""
    assert len(err) >= 2 and all(line.startswith(f"warden: {path}: ") for line in err)
    assert any("escalation.tiers[0] (name 'late')" in line for line in err)
    assert any("rollback.bake_minutes: Input should be greater than 0" in line for line in err)


@pytest.mark.parametrize(("content", "expected"), [
    (None, "no such file"),
    ("{not json", "invalid JSON"),
    ('{"Parameter": {"Name": "/pipeline-warden/prod/routng", "Value": "{}"}}', "not a configuration document"),
    ('{"Parameter": {"Name": "/pipeline-warden/prod/routing", "Value": "{rules"}}', "its value is not JSON"),
    ('{"steps": []}', "its keys fit none"),
])
def test_bad_files_are_one_line_each(tmp_path, capsys, content, expected):
    path = tmp_path / "input.json"
    if content is not None:
        path.write_text(content)
    status, out, err = validate(capsys, path)
    assert status == 2 and out == "" and len(err) == 1 and expected in err[0], err


def test_every_file_is_checked_even_after_a_bad_one(tmp_path, capsys):
    bad, missing, good = tmp_path / "ledger.json", tmp_path / "routing.json", tmp_path / "escalation.json"
    bad.write_text(json.dumps({"change_failure_window_hours": "a day"}))
    good.write_text(json.dumps({"tiers": []}))
    status, out, err = validate(capsys, bad, missing, good)
    assert status == 2 and out == f"{good}: valid (escalation)\n"
    assert len(err) == 2 and "ledger.change_failure_window_hours" in err[0] and "no such file" in err[1]
