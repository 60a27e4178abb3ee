"""What an alarm about a stage calls for (warden.rollback.decide.plan_stage), from ledger views and the live
stage, on CloudWatch's transition time. Given / When / Then, with the ledger's execution views as data."""

from datetime import timedelta

from warden.core.clock import parse_iso
from warden.rollback.decide import plan_stage, succeeded_in, target_before

BAKE = timedelta(minutes=30)
STAGE = "Deploy"


def execution(execution_id, started, ended=None, status="SUCCEEDED", kind="STANDARD", **extra):
    stage = {"status": status, "started_at": started}
    if ended:
        stage["ended_at"] = ended
    return {"execution_id": execution_id, "execution_type": kind, "status": status, "started_at": started,
            "stages": {STAGE: stage}, **extra}


OLD = execution("e-old", "2026-11-27T08:00:00Z", "2026-11-27T08:10:00Z")
NEW = execution("e-new", "2026-11-27T09:00:00Z", "2026-11-27T09:10:00Z")


def at(text):
    return parse_iso(text)


def test_an_alarm_inside_the_bake_window_rolls_the_stage_back_to_the_release_before():
    # Given a stage that finished deploying e-new at 09:10, after e-old
    # When its alarm goes off at 09:20, inside the 30-minute bake window
    plan = plan_stage(history=[NEW, OLD], stage=STAGE, at=at("2026-11-27T09:20:00Z"), bake=BAKE, live=None)
    # Then the stage is rolled back from e-new to e-old
    assert (plan.action, plan.release_id, plan.target_id, plan.skip) == ("rollback_stage", "e-new", "e-old", None)
    assert plan.deployed_at == "2026-11-27T09:10:00Z"


def test_an_alarm_after_the_bake_window_holds_back_and_says_why():
    plan = plan_stage(history=[NEW, OLD], stage=STAGE, at=at("2026-11-27T09:41:00Z"), bake=BAKE, live=None)
    assert plan.action == "rollback_stage" and "outside the bake window" in plan.skip
    assert plan.would == "RollbackStage of Deploy from e-new to e-old"


def test_an_alarm_older_than_the_deployment_is_about_an_older_release():
    # A late or redelivered alarm is judged on CloudWatch's time, never on when it arrives.
    plan = plan_stage(history=[NEW, OLD], stage=STAGE, at=at("2026-11-27T08:59:00Z"), bake=BAKE, live=None)
    assert "before the deployment of e-new started" in plan.skip


def test_without_an_earlier_success_there_is_no_target():
    plan = plan_stage(history=[NEW], stage=STAGE, at=at("2026-11-27T09:20:00Z"), bake=BAKE, live=None)
    assert plan.skip == "no valid rollback target: no earlier successful execution of the stage is known"


def test_an_unknown_stage_is_not_acted_on():
    plan = plan_stage(history=[], stage=STAGE, at=at("2026-11-27T09:20:00Z"), bake=BAKE, live=None)
    assert (plan.action, plan.skip) == ("none", "no deployment of the stage is known to the ledger or to CodePipeline")


def test_a_rollback_is_never_rolled_back():
    rollback = execution("e-rb", "2026-11-27T09:15:00Z", "2026-11-27T09:16:00Z", kind="ROLLBACK",
                         rollback_target="e-old")
    live = {"pipelineExecutionId": "e-rb", "status": "Succeeded", "type": "ROLLBACK"}
    plan = plan_stage(history=[rollback, NEW, OLD], stage=STAGE, at=at("2026-11-27T09:20:00Z"), bake=BAKE,
                      live=live)
    assert plan.action == "none" and "never rolls back a rollback" in plan.skip


def test_a_release_still_deploying_is_stopped_then_rolled_back_to_the_one_before():
    # Given e-new running in the stage now (GetPipelineState), e-old the last success
    running = execution("e-run", "2026-11-27T09:30:00Z", status="STARTED")
    live = {"pipelineExecutionId": "e-run", "status": "InProgress"}
    # When the alarm goes off while it deploys
    plan = plan_stage(history=[running, NEW, OLD], stage=STAGE, at=at("2026-11-27T09:35:00Z"), bake=BAKE, live=live)
    # Then it is stopped and the stage goes back to the latest success, e-new
    assert (plan.action, plan.release_id, plan.target_id, plan.skip) == ("stop_and_rollback", "e-run", "e-new", None)


def test_the_live_stage_wins_over_the_ledgers_latest_success():
    # The ledger missed e-new's end, but CodePipeline says e-new succeeded in the stage.
    live = {"pipelineExecutionId": "e-new", "status": "Succeeded"}
    unfinished = execution("e-new", "2026-11-27T09:00:00Z", "2026-11-27T09:10:00Z")
    plan = plan_stage(history=[unfinished, OLD], stage=STAGE, at=at("2026-11-27T09:20:00Z"), bake=BAKE, live=live)
    assert (plan.release_id, plan.target_id) == ("e-new", "e-old")


def test_the_target_behind_a_rollback_is_the_release_it_redeployed():
    # e-rb redeployed e-old; the next release after it is rolled back to e-old, never to a rollback.
    rollback = execution("e-rb", "2026-11-27T08:30:00Z", "2026-11-27T08:31:00Z", kind="ROLLBACK",
                         rollback_target="e-old")
    target, why = target_before([NEW, rollback, OLD], STAGE, "e-new")
    assert (target["execution_id"], why) == ("e-old", None)
    target, why = target_before([NEW, rollback], STAGE, "e-new")
    assert target is None and "is itself a rollback" in why


def test_a_standard_execution_that_succeeded_ran_every_stage_even_without_stage_events():
    view = {"execution_id": "e", "status": "SUCCEEDED", "stages": {}}
    assert succeeded_in(view, STAGE) and not succeeded_in(view | {"execution_type": "ROLLBACK"}, STAGE)
