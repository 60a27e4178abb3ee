"""Any order, any fault: each numbered item of the issue, reproduced on the embedded world.

Faults come from tests/faults/inject.py (throttling through botocore's `before-send`, after its own
retries; the local PagerDuty server answering errors). A redrive is the same event delivered again.
"""

from __future__ import annotations

import json

from tests.faults.inject import BOTOCORE_ATTEMPTS, LAMBDA_ATTEMPTS
from tests.helpers import effects, sample, write_scenario
from warden_local.replay import replay

EVERY_ATTEMPT = BOTOCORE_ATTEMPTS * LAMBDA_ATTEMPTS
ALWAYS = 10**6  # every call until cleared
PD_ATTEMPTS = 4  # warden.notify.pagerduty: four tries per call


def at(event, time):
    event["time"] = time
    return event


def run(world, tmp_path, steps, *, first=False, config=None, name="s.json"):
    """Replay `steps` in `world` (the pipeline is created by the first call only)."""
    return replay([write_scenario(tmp_path, steps, world=None if first else [], config=config, name=name)],
                  world=world)


def failed(when="2026-11-26T14:05:53Z", execution="3c9b2f7e-8d41-4a6e-b0f2-5e7a1c9d4b36"):
    return at(sample("codepipeline/pipeline-failed.json", **{"execution-id": execution}), when)


def succeeded(when="2026-11-27T13:31:18Z"):
    return at(sample("codepipeline/pipeline-succeeded.json"), when)


def messages(doc, topic=None):
    return [(e["topic"], e["event"]) for e in effects(doc, "message") if topic in (None, e["topic"])]


# -- 1. channels are independent ---------------------------------------------------------------------
def test_1_a_pagerduty_outage_does_not_silence_sns_and_the_page_is_retried(world, tmp_path, faults):
    world.pagerduty.failures = [500] * (PD_ATTEMPTS * LAMBDA_ATTEMPTS)  # every try of every attempt
    event = failed()
    doc = run(world, tmp_path, [{"event": event}], first=True)
    assert sorted(messages(doc)) == [("ChatTopic", "pipeline.failed"), ("OnCallTopic", "pipeline.failed")]
    [dead] = effects(doc, "dead_letter")
    assert "EffectsIncomplete" in dead["error"] and "page:trigger" in dead["error"] and "500" in dead["error"]
    assert '"PageFailures"' in world.logs.getvalue()  # counted, not silent
    # The stage failure that follows folds into the incident; the redrive pages, and publishes nothing again.
    later = run(world, tmp_path, [{"event": sample("codepipeline/stage-failed-build.json")}, {"event": event}])
    assert messages(later) == [] and len(effects(later, "page", action="trigger")) == 1


def test_1_a_secret_with_integration_key_pages(world, tmp_path, faults):
    sm = world.client("secretsmanager")
    sm.put_secret_value(SecretId=world.overrides["PagerDutySecretArn"],
                        SecretString=json.dumps({"integration_key": "INTEGRATIONKEY000000000000000001"}))
    doc = run(world, tmp_path, [{"event": failed()}], first=True)
    [page] = world.pagerduty.events
    assert page["routing_key"] == "INTEGRATIONKEY000000000000000001"
    assert len(messages(doc, "OnCallTopic")) == 1 and effects(doc, "dead_letter") == []


def test_1_a_secret_without_a_key_still_notifies_and_dead_letters_with_the_reason(world, tmp_path, faults):
    world.client("secretsmanager").put_secret_value(SecretId=world.overrides["PagerDutySecretArn"],
                                                    SecretString=json.dumps({"token": "x"}))
    doc = run(world, tmp_path, [{"event": failed()}], first=True)
    assert len(messages(doc, "OnCallTopic")) == 1 and world.pagerduty.events == []
    [dead] = effects(doc, "dead_letter")
    assert "PagerDutyMisconfigured" in dead["error"] and "token" in dead["error"] and '"x"' not in dead["error"]


# -- 2. exactly-once effects under retry ----------------------------------------------------------------
def test_2_a_retry_after_a_dynamodb_error_repeats_no_message(world, tmp_path, faults):
    # The incident's "notified" write fails past botocore's retries once: Lambda retries the event.
    rule = faults.fail("dynamodb:UpdateItem", BOTOCORE_ATTEMPTS,
                       when=lambda body: b"SET #n = :true REMOVE page_failed" in body)
    doc = run(world, tmp_path, [{"event": failed()}], first=True)
    assert rule.failed == BOTOCORE_ATTEMPTS
    assert sorted(messages(doc)) == [("ChatTopic", "pipeline.failed"), ("OnCallTopic", "pipeline.failed")]
    assert len(effects(doc, "page", action="trigger")) == 1 and effects(doc, "dead_letter") == []


def test_2_a_redrive_after_every_attempt_failed_repeats_no_message(world, tmp_path, faults):
    rule = faults.fail("dynamodb:UpdateItem", EVERY_ATTEMPT,
                       when=lambda body: b"SET #n = :true REMOVE page_failed" in body)
    event = failed()
    doc = run(world, tmp_path, [{"event": event}], first=True)
    assert rule.failed == EVERY_ATTEMPT and len(effects(doc, "dead_letter")) == 1
    again = run(world, tmp_path, [{"event": event}])
    assert messages(again) == [] and effects(again, "page") == [] and effects(again, "dead_letter") == []
    assert sorted(messages(doc)) == [("ChatTopic", "pipeline.failed"), ("OnCallTopic", "pipeline.failed")]


def test_2_pagerduty_failing_mid_sweep_does_not_repeat_the_escalation_messages(world, tmp_path, faults):
    from tests.integration.approvals.test_approvals import approval_event, payments_world, started

    steps = [{"event": started("8f14e45f-ceea-467a-9a36-dedd4bea2543", "2026-11-27T09:00:02Z")},
             {"event": approval_event("STARTED")}]
    replay([write_scenario(tmp_path, steps, world=payments_world())], world=world)
    world.pagerduty.failures = [503] * PD_ATTEMPTS  # the 8 h tier pages on-call: its first attempt fails
    doc = run(world, tmp_path, [{"at": "2026-11-27T17:10:00Z", "schedule": "ApprovalEscalator"}])
    escalated = [m for m in messages(doc) if m[1] == "approval.escalated"]
    assert sorted(escalated) == [("OnCallTopic", "approval.escalated"), ("TeamTopic", "approval.escalated")]
    assert len(effects(doc, "page", action="trigger")) == 1


# -- 3. incidents follow the pipeline's latest truth -------------------------------------------------------
def test_3_a_failure_older_than_the_latest_success_opens_no_page(world, tmp_path, faults):
    doc = run(world, tmp_path, [{"event": succeeded("2026-11-27T13:31:18Z")},
                                {"event": failed("2026-11-27T12:00:00Z")}], first=True)
    assert effects(doc, "page") == [] and messages(doc, "OnCallTopic") == []


def test_3_a_muted_success_still_resolves_the_page(world, tmp_path, faults):
    config = {"routing": {"rules": [{"name": "quiet", "match": {"events": ["pipeline.succeeded"]}, "mute": True}]}}
    doc = run(world, tmp_path, [{"event": failed()}, {"event": succeeded()}], first=True, config=config)
    assert [e["action"] for e in effects(doc, "page")] == ["trigger", "resolve"]
    assert messages(doc, "TeamTopic") == []


def test_3_a_redrive_after_recovery_changes_nothing(world, tmp_path, faults):
    world.pagerduty.failures = [500] * (PD_ATTEMPTS * LAMBDA_ATTEMPTS)  # the failure event is dead-lettered
    event = failed()
    doc = run(world, tmp_path, [{"event": event}, {"event": succeeded()}], first=True)
    assert len(effects(doc, "dead_letter")) == 1
    again = run(world, tmp_path, [{"event": event}])  # the dead-letter queue redriven after the recovery
    assert effects(again, "page") == [] and messages(again) == [] and effects(again, "dead_letter") == []


# -- 4. claims expire -----------------------------------------------------------------------------------------
def test_4_an_incident_whose_opener_died_is_taken_over_by_a_later_failure(world, tmp_path, faults):
    # Publishing fails for every attempt of the first event: its claim dies with it.
    faults.fail("sns:Publish", ALWAYS)
    doc = run(world, tmp_path, [{"at": "2026-11-26T14:05:53Z", "event": failed()}], first=True)
    assert messages(doc) == [] and len(effects(doc, "dead_letter")) == 1
    faults.clear()
    later = run(world, tmp_path, [{"at": "2026-11-26T14:20:00Z",
                                   "event": at(sample("codepipeline/stage-failed-build.json"),
                                               "2026-11-26T14:05:52Z")}])
    assert sorted(messages(later)) == [("ChatTopic", "stage.failed"), ("OnCallTopic", "stage.failed")]
    assert len(world.pagerduty.events) == 1  # paged once: by the first attempt, recorded on the incident


def test_4_an_escalation_tier_whose_sweep_died_fires_on_the_next_sweep(world, tmp_path, faults):
    from tests.integration.approvals.test_approvals import approval_event, payments_world, started

    steps = [{"event": started("8f14e45f-ceea-467a-9a36-dedd4bea2543", "2026-11-27T09:00:02Z")},
             {"event": approval_event("STARTED")}]
    replay([write_scenario(tmp_path, steps, world=payments_world())], world=world)
    faults.fail("sns:Publish", ALWAYS)
    dead = run(world, tmp_path, [{"at": "2026-11-27T13:10:00Z", "schedule": "ApprovalEscalator"}])
    assert messages(dead) == [] and len(effects(dead, "dead_letter")) == 1
    faults.clear()
    doc = run(world, tmp_path, [{"at": "2026-11-27T13:20:00Z", "schedule": "ApprovalEscalator"}])
    assert [m for m in messages(doc) if m[1].startswith("approval.")] == [("ApproversTopic", "approval.escalated")]


def test_4_an_approval_needed_whose_first_delivery_died_is_sent_by_the_next_sweep(world, tmp_path, faults):
    from tests.integration.approvals.test_approvals import approval_event, message, payments_world, started

    replay([write_scenario(tmp_path, [{"event": started("8f14e45f-ceea-467a-9a36-dedd4bea2543",
                                                        "2026-11-27T09:00:02Z")}], world=payments_world())],
           world=world)
    faults.fail("sns:Publish", ALWAYS)
    dead = run(world, tmp_path, [{"at": "2026-11-27T09:06:49Z", "event": approval_event("STARTED")}])
    assert messages(dead) == []
    faults.clear()
    merged = run(world, tmp_path, [{"at": "2026-11-27T09:06:50Z", "event": message()}])
    assert messages(merged) == []  # the first delivery's claim is still fresh: it may be retrying
    doc = run(world, tmp_path, [{"at": "2026-11-27T09:30:00Z", "schedule": "ApprovalEscalator"}])
    assert sorted(messages(doc)) == [("ApproversTopic", "approval.needed"), ("ChatTopic", "approval.needed")]


# -- 5. approvals converge in any order -------------------------------------------------------------------------
RUN = "8f14e45f-ceea-467a-9a36-dedd4bea2543"


def approval_world(world, tmp_path):
    from tests.integration.approvals.test_approvals import payments_world, started

    replay([write_scenario(tmp_path, [{"event": started(RUN, "2026-11-27T09:00:02Z")}], world=payments_world(),
                           name="w.json")], world=world)


def test_5_pipeline_succeeded_before_the_approval_event_still_tells_the_approval(world, tmp_path, faults):
    from tests.integration.approvals.test_approvals import approval_event

    approval_world(world, tmp_path)
    done = at(sample("codepipeline/pipeline-succeeded.json", **{"execution-id": RUN}), "2026-11-27T10:00:00Z")
    doc = run(world, tmp_path, [{"event": approval_event("STARTED")}, {"event": done},
                                {"event": approval_event("SUCCEEDED", at="2026-11-27T09:40:00Z")}])
    told = [m for m in messages(doc) if m[1] == "approval.approved"]
    assert told, "the approval is told even though its execution's end arrived first"
    [item] = [i for i in doc["tables"]["StateTable"] if i["pk"].startswith("approval#")]
    assert item["status"] == "approved"


def test_5_a_second_request_in_the_same_execution_is_a_new_approval(world, tmp_path, faults):
    from tests.integration.approvals.test_approvals import approval_event

    approval_world(world, tmp_path)
    second = {"action-execution-id": "9c1d7e3a-5b2f-4a8c-9e6d-000000000002"}
    doc = run(world, tmp_path, [
        {"event": approval_event("STARTED")},
        {"event": approval_event("FAILED", at="2026-11-27T09:30:00Z")},  # rejected; the stage is retried
        {"event": approval_event("STARTED", at="2026-11-27T09:45:00Z", **second)},
        {"at": "2026-11-27T13:50:00Z", "schedule": "ApprovalEscalator"},
    ])
    told = [m[1] for m in messages(doc, "ApproversTopic")]
    assert told[:3] == ["approval.needed", "approval.rejected", "approval.needed"], told
    assert told[3:] == ["approval.escalated"], told  # the second request's 4 h reminder; the first is decided
    items = [i for i in doc["tables"]["StateTable"] if i["pk"].startswith("approval#")]
    assert sorted(i["status"] for i in items) == ["pending", "rejected"]


# -- 6. partial records heal ------------------------------------------------------------------------------------
def ledger_run(world):
    """One approved run of the ledger story's pipeline, event by event; yields (delivery, deliver)."""
    from tests.helpers import pipeline_world
    from tests.integration.ledger import test_ledger as story
    from warden.core import clock
    from warden_local import fakes
    from warden_local.replay import Replayer, Scenario

    Replayer(world).run(Scenario("story", world=pipeline_world()))
    for step in story.standard_run("exec-a", story.A1, "Alice Dev", "08:00:00", 9, "alice"):
        if isinstance(step, tuple):
            state = world.client("codepipeline").get_pipeline_state(name=story.PIPELINE)
            token = next(a["latestExecution"]["token"] for s in state["stageStates"]
                         if s["stageName"] == "Approve" for a in s["actionStates"])
            story.as_principal(world, step[1]).put_approval_result(
                pipelineName=story.PIPELINE, stageName="Approve", actionName="ManualApproval", token=token,
                result={"summary": "ok", "status": "Approved"})
            continue
        fakes.apply_event(step)
        if step["detail-type"] == story.ACTION_EVENT and step["detail"]["type"]["category"] != "Approval":
            continue
        world.set_time(clock.parse_iso(step["time"]))
        yield step, lambda s=step: world.invoke("DeploymentTracker", s)


def execution_item(world):
    [item] = [i for i in world.table_items("LedgerTable") if i["sk"] == "EXECUTION"]
    return item


def test_6_an_approver_lookup_that_failed_is_retried_by_a_later_event(world, faults):
    for step, deliver in ledger_run(world):
        approval = step["detail-type"].startswith("CodePipeline Action") and step["detail"]["state"] != "STARTED"
        if approval:
            faults.fail("codepipeline:ListActionExecutions", ALWAYS)
        assert deliver().error is None
        if approval:
            assert execution_item(world)["approval:Approve:ManualApproval"].get("partial") is True
            faults.clear()
    healed = execution_item(world)["approval:Approve:ManualApproval"]
    assert healed["by"].endswith("/alice") and "partial" not in healed


def test_6_a_getpipeline_failure_on_success_is_marked_partial_and_healed_by_the_redrive(world, faults):
    pipeline_events = [(s, d) for s, d in ledger_run(world) if s["detail-type"].startswith("CodePipeline Pipeline")]
    (_, started), (success, _) = pipeline_events
    started()  # no stage event has asked GetPipeline yet
    faults.fail("codepipeline:GetPipeline", ALWAYS)
    outcome = world.invoke("DeploymentTracker", success)
    assert outcome.error and "LedgerIncomplete" in outcome.error
    record = execution_item(world)
    assert record["status"] == "SUCCEEDED" and record["enrichment"] == "partial"
    assert "GetPipeline" in record["partial_reason"]
    assert not [i for i in world.table_items("LedgerTable") if i["pk"].startswith("CURRENT")]
    faults.clear()
    assert world.invoke("DeploymentTracker", success).error is None  # the dead-letter queue redriven
    record = execution_item(world)
    assert record["enrichment"] != "partial" and "partial_reason" not in record
    current = [i for i in world.table_items("LedgerTable") if i["sk"] != "EXECUTION"]
    assert len(current) == 4  # every stage of the pipeline now runs exec-a


# -- 7. permanent errors are dead-lettered at once, with a reason ------------------------------------------------
def test_7_invalid_identifiers_and_naive_times_are_dead_lettered_at_once_with_a_reason(world, faults):
    long_name = failed()
    long_name["detail"]["pipeline"] = "p" * 2000  # a DynamoDB partition key would exceed its limit
    no_id = failed()
    no_id["id"] = ""
    naive = failed("2026-11-26T14:05:53")
    for event, reason in ((long_name, "pipeline"), (no_id, "id"), (naive, "time zone")):
        before = world.logs.getvalue()
        outcome = world.invoke("NotificationRouter", event)
        assert outcome.error is None and outcome.result["status"] == "dead_lettered", reason
        assert reason in outcome.result["error"]
        assert world.logs.getvalue().count('"function_name":"NotificationRouter"', len(before)) <= 2  # one attempt


def test_7_a_message_over_the_sns_limit_is_clipped_and_sent(world, tmp_path, faults):
    event = sample("codepipeline/action-failed-build.json")
    event["detail"]["execution-result"]["external-execution-summary"] = "x" * 300_000
    config = {"routing": {"rules": [{"name": "huge", "match": {"pipelines": ["payments-*"]},
                                     "runbook": "https://runbooks.example.com/" + "r" * 270_000}]}}
    doc = run(world, tmp_path, [{"event": event}], first=True, config=config)
    assert effects(doc, "dead_letter") == []
    assert sorted(messages(doc)) == [("ChatTopic", "action.failed"), ("OnCallTopic", "action.failed")]


def test_7_ignored_events_are_counted(world, faults):
    odd = failed()
    odd["detail"]["state"] = "STOPPING"  # a state no audience is told of
    outcome = world.invoke("NotificationRouter", odd)
    assert outcome.result["status"] == "ignored" and outcome.result["state"] == "STOPPING"
    assert '"IgnoredEvents"' in world.logs.getvalue()
