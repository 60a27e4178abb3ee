"""`warden config validate` takes what goes into SSM, in the forms a person has at hand, parses it exactly as
the functions parse the parameter's value, and reports every error of every file, one line each, with exit
status 2. What it accepts is what runs; what it refuses, the functions refuse too."""

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


def test_aws_ssm_get_parameter_output_names_its_document(tmp_path, capsys):
    path = tmp_path / "deployed.json"
    path.write_text(json.dumps({"Parameter": {"Name": "/pipeline-warden/prod/escalation", "Type": "String",
                                              "Value": json.dumps({"tiers": [{"name": "late", "after": "soon"}]})}}))
    status, out, err = validate(capsys, path)
    assert status == 2 and out == ""
    assert err and all(line.startswith(f"warden: {path}: escalation.tiers[0] (name 'late')") for line in err), err
    path.write_text(json.dumps({"Parameter": {"Name": "/pipeline-warden/prod/rollback",
                                              "Value": '{"mode": "dry_run"}'}}))
    assert validate(capsys, path) == (0, f"{path}: valid (rollback, /pipeline-warden/prod/rollback)\n", [])


def test_several_documents_at_once_are_refused(tmp_path, capsys):
    """`get-parameters-by-path` over two environments: each document is its own parameter, validated alone
    (it used to say "valid (rollback)" and keep one of the two)."""
    path = tmp_path / "by-path.json"
    path.write_text(json.dumps({"Parameters": [
        {"Name": "/pipeline-warden/staging/rollback", "Type": "String", "Value": json.dumps({"mode": "dry_run"})},
        {"Name": "/pipeline-warden/prod/rollback", "Type": "String", "Value": json.dumps({"mode": "enforce"})}]}))
    status, out, err = validate(capsys, path)
    assert status == 2 and out == "" and len(err) == 1
    assert "2 parameters (/pipeline-warden/staging/rollback, /pipeline-warden/prod/rollback)" in err[0]
    assert "one document at a time" in err[0]
    bundle = tmp_path / "warden.json"
    bundle.write_text(json.dumps({"routing": {"rules": []}, "escalation": {"tiers": []}}))
    status, out, err = validate(capsys, bundle)
    assert status == 2 and len(err) == 1 and "documents keyed by kind (routing, escalation)" in err[0]


def test_a_wrapped_document_is_refused_as_the_functions_refuse_it(tmp_path, capsys):
    """`{"routing": {...}}` saved as routing.json: stored in SSM, the function would not read it, so neither
    does validate; the error is the function's, and the next line says what to store."""
    path = tmp_path / "routing.json"
    path.write_text(json.dumps({"routing": {"rules": [{"name": "quiet", "mute": True}]}}))
    status, out, err = validate(capsys, path)
    assert status == 2 and out == ""
    assert err == [f"warden: {path}: routing.routing: Extra inputs are not permitted",
                   f'warden: {path}: routing: the value is wrapped in {{"routing": ...}}, as in a scenario\'s '
                   '"config"; the parameter holds the document itself: store the value of "routing"']


def test_the_parameter_name_says_which_document(tmp_path, capsys):
    path = tmp_path / "doc.json"
    path.write_text(json.dumps({"mode": "audit"}))  # artifacts or rollback: the parameter says
    assert validate(capsys, path, "--name", "/pipeline-warden/prod/artifacts") == (
        0, f"{path}: valid (artifacts, /pipeline-warden/prod/artifacts)\n", [])
    status, _, err = validate(capsys, path, "--name", "/pipeline-warden/prod/rollback")
    assert status == 2 and err == [f"warden: {path}: rollback.mode: Input should be 'enforce' or 'dry_run'"]
    status, _, err = validate(capsys, path, "--name", "/pipeline-warden/prod/rolback")
    assert status == 2 and "not a configuration document" in err[0]
    status, _, err = validate(capsys, path, "--name", "/pipeline-warden/prod/rollback", "--kind", "artifacts")
    assert status == 2 and "--kind artifacts but parameter /pipeline-warden/prod/rollback" in err[0]


VALUES = [  # (kind, stored value, valid)
    ("routing", {"rules": [{"name": "quiet", "match": {"pipelines": ["sandbox-*"]}, "mute": True}]}, True),
    ("routing", {"routing": {"rules": []}}, False),
    ("routing", {"rules": [{"name": "x", "severity": "loud"}]}, False),
    ("escalation", {"tiers": [{"name": "remind", "after": "4h", "audiences": ["approvers"]}]}, True),
    ("escalation", {"escalation": {"tiers": []}}, False),
    ("rollback", {"mode": "dry_run"}, True),
    ("rollback", {"rollback": {"mode": "dry_run"}}, False),
    ("artifacts", {"mode": "audit"}, True),
    ("artifacts", {"mode": "dry_run"}, False),
    ("ledger", {"production": [{"pipelines": ["payments-*"], "stages": ["Deploy-Prod"]}]}, True),
    ("ledger", "{not json", False),
]


@pytest.mark.parametrize(("kind", "value", "valid"), VALUES, ids=[f"{k}-{i}" for i, (k, *_) in enumerate(VALUES)])
def test_validate_accepts_exactly_what_the_functions_read(world, tmp_path, capsys, kind, value, valid):
    """The same value, saved under its natural name and validated, then stored in SSM and read by the
    functions' configuration store: both accept it, or both refuse it."""
    from warden.runtime.documents import ConfigStore

    raw = value if isinstance(value, str) else json.dumps(value)
    path = tmp_path / f"{kind}.json"
    path.write_text(raw)
    status = validate(capsys, path)[0]
    assert status == (0 if valid else 2)
    prefix = world.parameter("ConfigPrefix")
    world.client("ssm").put_parameter(Name=f"{prefix}/{kind}", Type="String", Value=raw, Overwrite=True)
    store = ConfigStore(world.client("ssm"), prefix, max_age=0)
    store.get(kind)
    assert store.fallback(kind) == (None if valid else "invalid")


@pytest.mark.parametrize(("content", "expected"), [
    (None, "no such file"),
    ("{not json", "invalid JSON"),
    ('{"Parameter": {"Name": "/pipeline-warden/prod/routng", "Value": "{}"}}', "not a configuration document"),
    ('{"Parameter": {"Name": "/pipeline-warden/prod/routing", "Value": "{rules"}}', "the value is not JSON"),
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
