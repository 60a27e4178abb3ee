"""The `approvers` document: validated as `warden config validate` and the functions validate it."""

from __future__ import annotations

import pytest

from warden.approvals.policy import ApproversConfig
from warden.runtime.documents import ConfigError, parse_document


def test_no_document_means_nobody_approves_from_chat():
    assert ApproversConfig().rule_for("payments", "Prod", "Approve") is None


def test_the_first_rule_that_fits_decides():
    doc = parse_document("approvers", {"rules": [
        {"name": "prod", "pipelines": ["pay*"], "stages": ["Prod"], "users": ["U0RELEASE"], "required": 1},
        {"name": "rest", "emails": ["Lead@Example.com"]}]})
    assert doc.rule_for("payments", "Prod", "Approve").name == "prod"
    assert doc.rule_for("payments", "Staging", "Approve").name == "rest"
    assert doc.rule_for("payments", "Staging", "Approve").emails == ["lead@example.com"]


@pytest.mark.parametrize(("rule", "fragment"), [
    ({"name": "x"}, "at least one approver"),
    ({"name": "x", "users": ["alice"]}, "not Slack user ids"),
    ({"name": "x", "groups": ["U123"]}, "not Slack user group ids"),
    ({"name": "x", "emails": ["not-an-address"]}, "not e-mail addresses"),
    ({"name": "x", "users": ["U1AAA"], "required": 2}, "required 2 is more than"),
    ({"name": "x", "users": ["U1AAA"], "required": 0}, "greater than or equal to 1"),
    ({"name": "x", "users": ["U1AAA"], "approvers": []}, "Extra inputs are not permitted"),
])
def test_bad_rules_are_refused_naming_the_rule(rule, fragment):
    with pytest.raises(ConfigError) as error:
        parse_document("approvers", {"rules": [rule]})
    assert "approvers.rules[0] (name 'x')" in str(error.value) and fragment in str(error.value)


def test_groups_admit_any_required_count():
    doc = parse_document("approvers", {"rules": [{"name": "g", "groups": ["S0RELEASE"], "required": 2}]})
    assert doc.rules[0].required == 2


def test_warden_config_validate_knows_the_approvers_document(tmp_path, capsys):
    from warden_local.cli import main

    path = tmp_path / "approvers.json"
    path.write_text('{"rules": [{"name": "prod", "users": ["U0ALICE"], "required": 1}]}')
    assert main(["config", "validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: valid (approvers)\n"
    path.write_text('{"rules": [{"name": "prod", "users": ["alice"]}]}')
    assert main(["config", "validate", str(path)]) == 2
    assert "approvers.rules[0] (name 'prod').users" in capsys.readouterr().err
