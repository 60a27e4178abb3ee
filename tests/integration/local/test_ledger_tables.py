"""`warden ledger` tables are for people (issue 29): approvers shortened to role/session (the full ARN with
--json), execution ids short but unambiguous, and every line within 100 columns over a realistic ledger."""

import json

from tests.helpers import ROOT
from warden_local.ledger_cli import WIDTH, _render

SSO = ("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_ReleaseApprovers_0f1e2d3c4b5a6978/"
       "maria.fernanda.garcia@example.com")


def realistic(n: int = 12) -> list[dict]:
    """A busy ledger: long pipeline names, long author names, SSO approvers, rollbacks, partial records."""
    rows = []
    for i in range(n):
        rows.append({
            "pipeline": f"payments-settlement-eu-central-{i:02d}", "stage": "Deploy-Production-Canary",
            "production": i % 2 == 0, "commit_id": f"{i:02d}c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5",
            "author": "Maria Fernanda Garcia-Lopez de la Vega", "approver": SSO if i % 3 else None,
            "deployed_at": "2026-11-27T17:52:00Z", "started_at": "2026-11-27T09:30:00Z",
            "status": "SUCCEEDED" if i % 4 else "FAILED", "duration_s": 30120 + i,
            "execution_type": "ROLLBACK" if i == 5 else "STANDARD",
            "release_from": "3c59dc04-8c6e-4b5a-9d1f-000000000a01" if i == 5 else None,
            # Random ids, as CodePipeline's are, but for two that share their first 8 characters
            "execution_id": (f"3c59dc04-8c6e-4b5a-9d1f-0000000000{i:02d}" if i in (1, 2) else
                             f"{i:02d}{i * 7919:06x}-8c6e-4b5a-9d1f-{i * 104729:012x}"),
            "enrichment": "partial" if i == 7 else None,
        })
    return rows


def test_every_table_fits_100_columns_over_a_realistic_ledger():
    rows = realistic()
    one_pipeline = [dict(r, pipeline="payments-settlement-eu-central-01") for r in rows]
    one_commit = [dict(r, commit_id=rows[0]["commit_id"]) for r in rows]
    for command, result in (("history", rows), ("commit", rows)):  # (one ref, one commit: never so mixed)
        assert max(len(line) for line in _render(command, result).splitlines()) <= WIDTH
    for command, result in (("current", rows), ("history", one_pipeline), ("commit", one_commit)):
        text = _render(command, result)
        wide = [line for line in text.splitlines() if len(line) > WIDTH]
        assert not wide, (command, wide)
        # The approver is its role/session, clipped from the left if it must be: the person stays visible
        assert "maria.fernanda.garcia " in text and "arn:aws:sts" not in text, command
        assert "AWSReservedSSO" not in text  # an Identity Center role is named by its permission set
        # Execution ids that share their first 8 characters stay distinct
        assert "3c59dc04…0001" in text and "3c59dc04…0002" in text, command


def test_history_and_commit_name_the_approver_by_role_and_session_and_json_keeps_the_arn():
    full = "arn:aws:sts::111122223333:assumed-role/release-approver/maria.garcia"
    row = realistic(1)[0] | {"approver": full}
    for command in ("history", "commit"):
        text = _render(command, [row])
        assert "release-approver/maria.garcia" in text and full not in text, text


def test_the_demos_approver_from_slack_is_named_by_name_and_slack_id_and_json_keeps_the_rest(warden_cli):
    # Given the demo, whose release Maria Garcia approved from Slack
    full = "Maria Garcia <maria.garcia@example.com> (Slack U0MARIA) in #payments"
    for args in (("ledger", "history", "payments-api"), ("ledger", "commit", "c7d8e9f"), ("ledger", "current")):
        table = warden_cli(*args, cwd=ROOT)
        assert table.returncode == 0, table.stderr
        # Then the tables name her, whole, within 100 columns; --json keeps her e-mail and the channel
        assert "Maria Garcia (Slack U0MARIA)" in table.stdout and full not in table.stdout, table.stdout
        assert max(len(line) for line in table.stdout.splitlines()) <= WIDTH
        if args[1] != "current":
            document = warden_cli(*args, "--json", cwd=ROOT)
            assert full in {r.get("approver") for r in json.loads(document.stdout)}
