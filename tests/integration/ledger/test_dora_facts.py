"""Change failure from what RollbackTrigger knows: an alarm in a release's bake window that Warden did not roll
back (alarm_in_bake), and CodeDeploy's own rollback of a pipeline's deployment (codedeploy_rollback), each fed
through the routes template.yaml declares and read back from the ledger by `warden ledger dora`."""

from __future__ import annotations

import json

from tests.integration.ledger.test_dora_story import A02, ACCOUNT, WEEK, story
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


def test_an_alarm_in_the_bake_window_warden_did_not_roll_back_fails_the_deployment(warden_cli, tmp_path):
    from warden_local.world import SLACK_APP, World

    # Given checkout-api's A02 in production and RollbackTrigger only observing (dry_run)
    path = tmp_path / "observe.json"
    path.write_text(json.dumps(observe_mode_story()))
    # When the guarding alarm fires 20 minutes after A02's production stage ended (its 60-minute bake window)
    with World(parameters={"SlackSecretArn": SLACK_APP}) as world:  # the demo's approval is decided in Slack
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
    run = warden_cli("ledger", "dora", "--explain", "checkout-api", "--week", WEEK, "--replay", str(path))
    assert run.returncode == 0, run.stderr
    row = next(line for line in run.stdout.splitlines() if f"{A02[:8]}…{A02[-4:]}" in line)  # its id shortened
    assert "alarm_in_bake" in row
    detail = next(line for line in run.stdout.splitlines() if A02 in line)  # the failure's line under the table
    assert "fired in its bake window" in detail


def codedeploy_rollback_story() -> tuple[list, list]:
    """(world calls, steps): E2's deployment fails its hook and CodeDeploy rolls it back on its own."""
    from datetime import timedelta

    from tests import rollback_story as rs
    from tests.integration.rollback.test_rollback import C1, C2, E1, E2, T0, T1, codedeploy_world, deploy_step

    # Given checkout-api's group rolls back on a failed deployment, and E2's Deploy action runs deployment d
    calls = codedeploy_world()
    group = next(c for c in calls if c["call"] == "codedeploy:CreateDeploymentGroup")
    group["params"]["autoRollbackConfiguration"] = {"enabled": True, "events": ["DEPLOYMENT_FAILURE"]}
    deployment, kind = "${d.deploymentId}", {"owner": "AWS", "provider": "CodeDeploy", "category": "Deploy",
                                             "version": "1"}
    result = {"execution-result": {"external-execution-id": deployment,
                                   "external-execution-summary": "Deployment failed"}}
    failed_at = T1 + timedelta(minutes=6)
    rollback_start = {
        "version": "0", "id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "detail-type": "CodeDeploy Deployment State-change Notification", "source": "aws.codedeploy",
        "account": rs.ACCOUNT, "time": rs.clock.iso(failed_at + timedelta(seconds=10)), "region": rs.REGION,
        "resources": [f"arn:aws:codedeploy:{rs.REGION}:{rs.ACCOUNT}:deploymentgroup:checkout/prod"],
        "detail": {"region": rs.REGION, "application": "checkout", "deploymentGroup": "prod",
                   "deploymentId": "${rb.deploymentInfo.rollbackInfo.rollbackDeploymentId}", "state": "START",
                   "instanceGroupId": "b7e2f1c4-3a9d-4e8b-a6c5-0d1f2e3a4b5c"}}
    steps = [
        *rs.release(E1, T0, commit=C1, author="Ana Lima"),
        *rs.release(E2, T1, commit=C2, author="Bo Chen", finish=False),
        deploy_step(T1 + timedelta(minutes=2)),
        rs.step(rs._pipeline_event("Action", E2, "STARTED", T1 + timedelta(minutes=2), stage=rs.STAGE,
                                   action="Deploy", type=kind, **{"execution-result": {
                                       "external-execution-id": deployment}})),
        # When its validation hook fails the deployment and CodeDeploy starts its own rollback deployment
        {"at": rs.clock.iso(failed_at), "call": "codedeploy:PutLifecycleEventHookExecutionStatus", "params": {
            "deploymentId": deployment, "lifecycleEventHookExecutionId": "hook-1", "status": "Failed"}},
        {"at": rs.clock.iso(failed_at), "call": "codedeploy:GetDeployment", "save": "rb",
         "params": {"deploymentId": deployment}},
        rs.step(rollback_start),
        # and CodePipeline's Deploy action, stage and execution fail with it
        rs.step(rs._pipeline_event("Action", E2, "FAILED", failed_at + timedelta(minutes=1), stage=rs.STAGE,
                                   action="Deploy", type=kind, **result)),
        rs.step(rs.stage_event(E2, "FAILED", failed_at + timedelta(minutes=1))),
        rs.step(rs.pipeline_event(E2, "FAILED", failed_at + timedelta(minutes=1))),
    ]
    return calls, steps


def test_codedeploy_rolling_a_pipelines_deployment_back_on_its_own_is_the_cause(world, tmp_path):
    from datetime import timedelta

    from tests import rollback_story as rs
    from tests.integration.rollback.test_rollback import E2, T0, T1, play
    from warden.ledger.changes import classify

    # Given E2's deployment, whose group rolls back on failure; When its hook fails it (codedeploy_rollback_story)
    calls, steps = codedeploy_rollback_story()
    doc = play(world, tmp_path, steps, calls=calls)
    assert not [e for s in doc["steps"] for e in s["effects"] if e["kind"] == "dead_letter"]
    reader = LedgerReader(world.client("dynamodb"), world.physical["LedgerTable"]["TableName"], rs.ACCOUNT)
    records = reader.for_dora(T0 - timedelta(hours=1), T1 + timedelta(hours=2)).items
    # Then E2 failed because CodeDeploy rolled its deployment back, not merely because its stage failed
    changes = classify(records)
    e2 = next(d for d in changes.deployments if d.execution_id == E2)
    assert e2.failure is not None and e2.failure.cause == "rolled_back:codedeploy", e2.failure
    assert "HOOK_EXECUTION_FAILURE" in e2.failure.detail
    assert [d.execution_id for d in changes.deployments if d.failure] == [E2]
    note = next(r for r in records if r["execution_id"] == E2)["codedeploy_rollback"]
    assert note["rollback_deployment_id"] != note["deployment_id"] and note["code"] == "HOOK_EXECUTION_FAILURE"
