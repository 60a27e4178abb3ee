"""Change failure, exactly (warden.ledger.changes): each production deployment failed only on evidence, by one
cause, once; rollback executions restore and are never deployments; reverts, hotfixes and retries told apart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from warden.core import clock
from warden.ledger.changes import (
    CODEDEPLOY,
    CODEPIPELINE,
    HOTFIXED,
    REVERTED,
    STAGE_FAILED,
    WARDEN,
    Rules,
    classify,
)
from warden.ledger.config import LedgerConfig

PROD = "Deploy-Prod"


def at(hhmm: str, day: int = 27) -> str:
    return f"2026-11-{day:02d}T{hhmm}:00Z"


def run(eid: str, start: str, end: str, *, status: str = "SUCCEEDED", service: str = "payments-api",
        commit: str | None = None, message: str | None = None, branch: str = "main", rollback: bool = False,
        authored: str | None = None, **facts) -> dict:
    return {"pipeline": service, "execution_id": eid, "prod_stage": PROD,
            "stages": {PROD: {"status": status, "started_at": start, "ended_at": end}},
            "execution_type": "ROLLBACK" if rollback else "STANDARD", "commit_id": commit, "commit_message": message,
            "branch": branch, "author_date": authored, **facts}


def failures(changes) -> dict[str, str]:
    return {d.execution_id: d.failure.cause for d in changes.deployments if d.failure}


def test_given_clean_deployments_then_none_failed_and_each_counts_once():
    changes = classify([run("a", at("09:50"), at("10:00"), commit="a" * 40),
                        run("b", at("11:50"), at("12:00"), commit="b" * 40)])
    assert [d.execution_id for d in changes.deployments] == ["a", "b"]
    assert failures(changes) == {}


def test_given_a_warden_rollback_then_the_release_it_names_failed_once_from_the_alarm():
    # Given RollbackTrigger's notes: on the release rolled back, and on its rollback execution
    cause = {"alarm": "p99-latency", "alarm_at": at("10:20"), "by": "RollbackTrigger"}
    records = [run("a", at("08:50"), at("09:00"), commit="a" * 40),
               run("b", at("09:50"), at("10:00"), commit="b" * 40,
                   rolled_back=cause | {"rollback_execution_id": "r", "target_execution_id": "a"}),
               run("r", at("10:21"), at("10:30"), rollback=True,
                   rollback_cause=cause | {"rolled_back_execution_id": "b"})]
    # When classified
    changes = classify(records)
    # Then b failed by Warden's rollback, once, restored by the rollback 10 minutes after the alarm
    [b] = [d for d in changes.deployments if d.failure]
    assert (b.execution_id, b.failure.cause, b.failure.evidence) == ("b", WARDEN, "r")
    assert b.failure.restore_seconds == 600 and b.failure.restored_by == "r"
    assert [d.execution_id for d in changes.deployments] == ["a", "b"]  # the rollback is not a deployment
    assert b.failure.also == []  # the two notes are one rollback


def test_given_codedeploys_own_rollback_then_the_deployment_failed_by_codedeploy_not_by_its_stage():
    records = [run("a", at("09:50"), at("10:00"), status="FAILED",
                   codedeploy_rollback={"deployment_id": "d-AB12CD34E", "code": "ALARM_ACTIVE", "at": at("09:58")})]
    [a] = classify(records).deployments
    assert (a.failure.cause, a.failure.since) == (CODEDEPLOY, clock.parse_iso(at("09:58")))
    assert "ALARM_ACTIVE" in a.failure.detail


def test_given_a_codepipeline_rollback_then_the_deployment_live_when_it_started_failed():
    records = [run("a", at("09:50"), at("10:00"), commit="a" * 40),
               run("b", at("11:50"), at("12:00"), commit="b" * 40),
               run("r", at("12:30"), at("12:40"), rollback=True, trigger_type="ManualRollback")]
    changes = classify(records)
    assert failures(changes) == {"b": CODEPIPELINE}
    [b] = [d for d in changes.deployments if d.failure]
    assert b.failure.restore_seconds == 40 * 60  # from b's production end to the rollback's


def test_given_a_rollback_long_after_the_last_deployment_then_it_is_unattributed_not_blamed_on_it():
    records = [run("a", at("09:50"), at("10:00")), run("r", at("12:30", day=29), at("12:40", day=29), rollback=True)]
    changes = classify(records, Rules(window=timedelta(hours=24)))
    assert failures(changes) == {}
    assert [u["rollback"] for u in changes.unattributed] == ["r"] and "more than 24 h" in changes.unattributed[0]["why"]


def test_given_a_failed_stage_then_a_rollback_then_one_failure_with_the_rollback_as_further_evidence():
    records = [run("a", at("09:50"), at("10:00"), commit="a" * 40),
               run("b", at("10:50"), at("11:00"), status="FAILED", commit="b" * 40),
               run("r", at("11:05"), at("11:15"), rollback=True)]
    changes = classify(records)
    [b] = [d for d in changes.deployments if d.failure]
    assert b.execution_id == "b" and b.failure.cause == CODEPIPELINE and b.failure.also == [
        f"{STAGE_FAILED}: its production stage failed"]
    assert sum(d.failure is not None for d in changes.deployments) == 1


def test_given_retries_of_the_same_revision_then_only_the_failed_attempt_failed():
    # b fails in production, is run again as is (same revision) and succeeds: a retry, not a revert
    records = [run("a", at("09:50"), at("10:00"), commit="a" * 40),
               run("b1", at("10:50"), at("11:00"), status="FAILED", commit="b" * 40),
               run("b2", at("11:50"), at("12:00"), commit="b" * 40)]
    changes = classify(records)
    assert failures(changes) == {"b1": STAGE_FAILED}
    [b1] = [d for d in changes.deployments if d.failure]
    assert (b1.failure.restored_by, b1.failure.restore_seconds) == ("b2", 3600)


def test_given_an_earlier_revision_redeployed_within_the_window_then_the_one_it_replaced_was_reverted():
    records = [run("a", at("09:50"), at("10:00"), commit="a" * 40),
               run("b", at("10:50"), at("11:00"), commit="b" * 40),
               run("a2", at("11:50"), at("12:00"), commit="a" * 40)]
    changes = classify(records)
    assert failures(changes) == {"b": REVERTED}
    [b] = [d for d in changes.deployments if d.failure]
    assert b.failure.evidence == "a2" and b.failure.restored_by == "a2" and "redeployed the earlier" in b.failure.detail


def test_given_an_earlier_revision_that_had_only_failed_then_its_retry_reverts_nothing():
    records = [run("x1", at("09:50"), at("10:00"), status="FAILED", commit="c" * 40),
               run("a", at("10:50"), at("11:00"), commit="a" * 40),
               run("x2", at("11:50"), at("12:00"), commit="c" * 40)]
    assert failures(classify(records)) == {"x1": STAGE_FAILED}


def test_given_a_git_revert_naming_its_commit_then_that_deployment_was_reverted_even_if_not_the_last():
    message = 'Revert "Faster checkout"\n\nThis reverts commit bbbbbbbbbbbb.'
    records = [run("b", at("09:50"), at("10:00"), commit="b" * 40),
               run("c", at("10:50"), at("11:00"), commit="c" * 40),
               run("rv", at("11:50"), at("12:00"), commit="d" * 40, message=message)]
    assert failures(classify(records)) == {"b": REVERTED}


def test_given_a_revert_outside_the_window_then_nothing_failed():
    records = [run("b", at("09:50"), at("10:00"), commit="b" * 40),
               run("rv", at("11:50", day=29), at("12:00", day=29), commit="d" * 40, message='Revert "x"')]
    assert failures(classify(records, Rules(window=timedelta(hours=24)))) == {}
    assert failures(classify(records, Rules(window=timedelta(hours=72)))) == {"b": REVERTED}


@pytest.mark.parametrize(("branch", "message"), [("hotfix/checkout-500", "Fix"), ("main", "hotfix: checkout 500")])
def test_given_a_hotfix_next_then_the_previous_deployment_failed(branch, message):
    records = [run("b", at("09:50"), at("10:00"), commit="b" * 40),
               run("hf", at("10:50"), at("11:00"), commit="e" * 40, branch=branch, message=message)]
    changes = classify(records)
    assert failures(changes) == {"b": HOTFIXED}
    assert changes.deployments[0].failure.restored_by == "hf"


def test_given_the_services_are_separate_timelines_then_one_never_reverts_or_rolls_back_another():
    records = [run("a", at("09:50"), at("10:00"), commit="a" * 40, service="checkout"),
               run("b", at("10:50"), at("11:00"), commit="b" * 40),
               run("a2", at("11:50"), at("12:00"), commit="a" * 40, service="checkout"),
               run("r", at("12:10"), at("12:20"), rollback=True, service="checkout")]
    changes = classify(records)
    assert failures(changes) == {"a2": CODEPIPELINE}


def test_given_any_mix_then_failed_deployments_never_exceed_deployments():
    records = [run("a", at("09:50"), at("10:00"), status="FAILED", rolled_back={"alarm": "x", "alarm_at": at("10:01")},
                   codedeploy_rollback={"deployment_id": "d-1"}),
               run("r1", at("10:02"), at("10:05"), rollback=True), run("r2", at("10:06"), at("10:08"), rollback=True),
               run("rv", at("10:50"), at("11:00"), message='Revert "a"', branch="hotfix/x")]
    changes = classify(records)
    assert sum(d.failure is not None for d in changes.deployments) == 1 <= len(changes.deployments) == 2
    [a] = [d for d in changes.deployments if d.failure]
    assert a.failure.cause == WARDEN and len(a.failure.also) == 4  # CodeDeploy, two rollbacks, the revert


def test_given_the_ledger_configuration_then_its_rules_are_the_window_and_the_hotfix_patterns():
    config = LedgerConfig.model_validate({"change_failure_window_hours": 6, "hotfix_branches": ["fix/*"]})
    rules = config.rules()
    assert rules.window == timedelta(hours=6) and rules.hotfix_branches == ("fix/*",)
    assert config.rules(window_hours=1).window == timedelta(hours=1)
    with pytest.raises(ValueError, match="not a regular expression"):
        LedgerConfig.model_validate({"hotfix_message_patterns": ["(unclosed"]})


def test_given_an_execution_held_at_the_gate_then_it_is_no_production_deployment_and_dora_leaves_it_out():
    from datetime import UTC, datetime

    from warden.ledger.dora import dora

    # Given a clean deployment, then an execution the gate held at Deploy-Prod (its stage FAILED by the deny,
    # `held_at_gate` noted by the gate), and one held, let in after the freeze (released), that failed for real
    held = {"stage": PROD, "reason": "frozen: Public holiday in Berlin", "at": at("10:10")}
    records = [run("a", at("09:50"), at("10:00"), commit="a" * 40),
               run("h", at("10:10"), at("10:10"), status="FAILED", commit="h" * 40, held_at_gate=held),
               run("r", at("11:00"), at("11:10"), status="FAILED", commit="r" * 40,
                   held_at_gate={"stage": PROD, "released_at": at("11:00")})]
    # When classified and the DORA figures computed
    changes = classify(records)
    figures = dora(records, start=datetime(2026, 11, 27, tzinfo=UTC), end=datetime(2026, 11, 28, tzinfo=UTC))
    # Then the held one deployed nothing: not a deployment, not a failure (before: production_stage_failed)
    assert [d.execution_id for d in changes.deployments] == ["a", "r"]
    assert failures(changes) == {"r": STAGE_FAILED}
    assert (figures["deployments"], figures["failed"], figures["change_failure_rate"]) == (2, 1, 0.5)
    assert figures["failed_deployments"] == ["r"]


def test_given_a_hold_of_another_stage_then_a_failed_production_stage_still_fails():
    records = [run("x", at("10:00"), at("10:10"), status="FAILED",
                   held_at_gate={"stage": "Deploy-Staging", "reason": "frozen", "at": at("09:00")})]
    assert failures(classify(records)) == {"x": STAGE_FAILED}
