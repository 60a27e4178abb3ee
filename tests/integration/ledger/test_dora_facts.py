"""Change failure from what RollbackTrigger knows: an alarm in a release's bake window that Warden did not roll
back (alarm_in_bake), and CodeDeploy's own rollback of a pipeline's deployment (codedeploy_rollback), each fed
through the routes template.yaml declares and read back from the ledger by `warden ledger dora`."""

from __future__ import annotations

import json

from tests.integration.ledger.test_dora_story import A02, ACCOUNT, WEEK, story, warden
from warden.ledger.dora import dora, explain, parse_period
from warden.ledger.view import LedgerReader
from warden_local.replay import replay


def observe_mode_story() -> dict:
    """The story with RollbackTrigger in dry_run: the alarm at 19:32 in A02's bake window rolls nothing back, so
    neither the rollback execution nor the alarm's later transitions happen."""
    doc = story()
    doc["config"]["rollback"] = {**doc["config"].get("rollback", {}), "mode": "dry_run"}
    doc["steps"] = [s for s in doc["steps"] if not ("2026-11-27T19:32:40Z" <= s["at"] <= "2026-11-27T19:39:00Z")]
    return doc


def test_an_alarm_in_the_bake_window_warden_did_not_roll_back_fails_the_deployment(tmp_path):
    from warden_local.world import World

    # Given checkout-api's A02 in production and RollbackTrigger only observing (dry_run)
    path = tmp_path / "observe.json"
    path.write_text(json.dumps(observe_mode_story()))
    # When the guarding alarm fires 20 minutes after A02's production stage ended (its 60-minute bake window)
    with World() as world:
        replay([str(path)], world=world)
        reader = LedgerReader(world.client("dynamodb"), world.physical["LedgerTable"]["TableName"], ACCOUNT)
        start, end, _ = parse_period(WEEK)
        items = reader.for_dora(start, end).items
    # Then A02 failed, by the alarm in its bake window, from the alarm's time
    shown = explain(items, service="checkout-api", start=start, end=end, window_hours=24)
    a02 = next(d for d in shown["deployments"] if d["execution_id"] == A02)
    assert (a02["failure"]["cause"], a02["failure"]["since"]) == ("alarm_in_bake", "2026-11-27T19:32:00Z")
    assert "checkout-api-prod-5xx" in a02["failure"]["detail"]
    week = dora(items, start=start, end=end, window_hours=24)["pipelines"]["checkout-api"]
    assert week["failures_by_cause"] == {"alarm_in_bake": 1, "production_stage_failed": 1}
    assert shown["rollbacks"] == []
    # And `warden ledger dora --explain` lists it with its cause
    run = warden("ledger", "dora", "--explain", "checkout-api", "--week", WEEK, "--replay", str(path))
    assert run.returncode == 0, run.stderr
    line = next(line for line in run.stdout.splitlines() if A02 in line)
    assert "alarm_in" in line  # the cause column, clipped to its width
