"""One page per incident: folding, enrichment, resolution, CodeDeploy and rollbacks (issue: routing)."""

import random

from tests.helpers import effects, sample, write_scenario
from warden_local import fakes
from warden_local.replay import replay

FAILED_RUN = "3c9b2f7e-8d41-4a6e-b0f2-5e7a1c9d4b36"


def failure_events():
    return [sample("codepipeline/action-failed-build.json"), sample("codepipeline/stage-failed-build.json"),
            sample("codepipeline/pipeline-failed.json")]


def test_a_failed_execution_pages_once_in_any_order_and_success_resolves(tmp_path):
    for seed in range(3):
        events = failure_events()
        events.append(events[seed])  # one of them delivered twice
        random.Random(seed).shuffle(events)
        steps = [{"event": e} for e in events] + [{"event": sample("codepipeline/pipeline-succeeded.json")}]
        doc = replay([write_scenario(tmp_path, steps)])
        triggers = effects(doc, "page", action="trigger")
        assert len(triggers) == 1, seed
        assert triggers[0]["dedup_key"].endswith("/pipeline/payments-api")
        assert triggers[0]["severity"] == "critical"
        assert len(effects(doc, "message", topic="OnCallTopic")) == 1
        assert len(effects(doc, "page", action="resolve")) == 1
        [resolve] = effects(doc, "page", action="resolve")
        assert resolve["dedup_key"] == triggers[0]["dedup_key"]


def test_the_page_names_the_failing_action_error_and_logs_even_when_pipeline_failed_comes_first(tmp_path, world):
    replay([write_scenario(tmp_path, [])], world=world)  # create the pipeline
    # CodePipeline knows the failed action before its event reaches us (EventBridge order is not guaranteed).
    fakes.apply_event(sample("codepipeline/action-failed-build.json"))
    doc = replay([write_scenario(tmp_path, [{"event": sample("codepipeline/pipeline-failed.json")}], world=[])],
                 world=world)
    [page] = world.pagerduty.events
    assert "COMMAND_EXECUTION_ERROR" in page["payload"]["summary"]
    assert page["payload"]["component"] == "Build"
    assert any("codebuild" in link["href"] for link in page["links"])
    # An SQS subscriber receives the `default` body of the per-protocol message.
    [message] = effects(doc, "message", topic="OnCallTopic")
    assert "Action: Compile" in message["body"] and "COMMAND_EXECUTION_ERROR" in message["body"]


def at(event, time):
    event["time"] = time
    return event


def test_repeated_failures_while_open_do_not_page_again(tmp_path):
    second_run = {"execution-id": "9d9d9d9d-0000-4000-8000-000000000001"}
    third_run = {"execution-id": "9d9d9d9d-0000-4000-8000-000000000002"}
    steps = [{"event": e} for e in failure_events()] + [
        {"event": at(sample("codepipeline/pipeline-failed.json", **second_run), "2026-11-26T15:00:00Z")},
        {"event": sample("codepipeline/pipeline-succeeded.json")},  # 2026-11-27T13:31:18Z
        {"event": at(sample("codepipeline/pipeline-failed.json", **third_run), "2026-11-27T14:00:00Z")},
    ]
    doc = replay([write_scenario(tmp_path, steps)])
    actions = [e["action"] for e in effects(doc, "page")]
    assert actions == ["trigger", "resolve", "trigger"]


def test_page_carries_pagerduty_v2_fields(tmp_path, world):
    config = {"routing": {"rules": [{"name": "payments", "match": {"pipelines": ["payments-*"]},
                                     "runbook": "https://runbooks.example.com/payments"}]}}
    replay([write_scenario(tmp_path, [{"event": sample("codepipeline/action-failed-build.json")}], config=config)],
           world=world)
    [page] = world.pagerduty.events
    assert page["routing_key"] and page["event_action"] == "trigger"
    payload = page["payload"]
    assert payload["source"] == "payments-api" and payload["severity"] == "critical"
    # PagerDuty groups alerts by pipeline, shows where it failed and what kind of event it was.
    assert payload["group"] == "payments-api" and payload["component"] == "Build"
    assert payload["class"] == "action.failed"
    details = payload["custom_details"]
    assert details["pipeline"] == "payments-api" and details["stage"] == "Build" and details["action"] == "Compile"
    assert details["execution"] and details["error"] and details["account"] == "111122223333"
    assert {link["text"] for link in page["links"]} >= {"Execution", "Logs", "Runbook"}


def test_codedeploy_failure_and_stop_page_as_rolled_back_and_success_resolves(tmp_path):
    steps = [{"event": at(sample("codedeploy/deployment-failure.json"), "2026-11-27T12:02:31Z")},
             {"event": at(sample("codedeploy/deployment-stop.json"), "2026-11-27T12:17:04Z")},
             {"event": sample("codedeploy/deployment-success.json")}]  # 2026-11-27T13:30:55Z
    doc = replay([write_scenario(tmp_path, steps)])
    [oncall] = effects(doc, "message", topic="OnCallTopic")
    assert oncall["event"] == "deployment.rolled_back" and oncall["severity"] == "critical"
    assert [e["action"] for e in effects(doc, "page")] == ["trigger", "resolve"]
    assert effects(doc, "message", topic="TeamTopic", event="deployment.succeeded")


def test_a_rollback_execution_pages_on_call(tmp_path):
    doc = replay([write_scenario(tmp_path, [{"event": sample("codepipeline/pipeline-started-rollback.json")}])])
    [oncall] = effects(doc, "message", topic="OnCallTopic")
    assert oncall["event"] == "deployment.rolled_back"
    assert len(effects(doc, "page", action="trigger")) == 1


def test_stopped_and_superseded_never_page(tmp_path):
    steps = [{"event": sample("codepipeline/pipeline-stopped.json")},
             {"event": sample("codepipeline/pipeline-superseded.json")}]
    doc = replay([write_scenario(tmp_path, steps)])
    assert effects(doc, "page") == [] and effects(doc, "message", topic="OnCallTopic") == []


def test_pagerduty_refusal_still_notifies_and_dead_letters_with_the_api_error(tmp_path, world):
    world.pagerduty.failures = [400]
    doc = replay([write_scenario(tmp_path, [{"event": sample("codepipeline/pipeline-failed.json")}])], world=world)
    assert len(effects(doc, "message", topic="OnCallTopic")) == 1
    [dead] = effects(doc, "dead_letter")
    assert dead["function"] == "NotificationRouter" and "PagerDutyRejected" in dead["error"]
    assert "(400)" in dead["error"]


def test_pagerduty_outage_is_retried_by_lambda_and_pages_once(tmp_path, world):
    world.pagerduty.failures = [503] * 4  # the first invocation's four attempts all fail
    doc = replay([write_scenario(tmp_path, [{"event": sample("codepipeline/pipeline-failed.json")}])], world=world)
    assert len(effects(doc, "page", action="trigger")) == 1
    assert len(effects(doc, "message", topic="OnCallTopic")) == 1
    assert effects(doc, "dead_letter") == []


BROKEN_SECRET = {"call": "secretsmanager:PutSecretValue",
                 "params": {"SecretId": "pipeline-warden/pagerduty", "SecretString": '{"token": "x"}'}}
FIXED_SECRET = {"call": "secretsmanager:PutSecretValue",
                "params": {"SecretId": "pipeline-warden/pagerduty",
                           "SecretString": '{"routing_key": "R0UT1NGKEY0F1XED000000"}'}}


def broken_paging_story(tmp_path, then):
    """A failure paged while the PagerDuty secret has no routing key, a second failure of the same
    execution, the secret fixed by a person (a `call` step), then `then` (the redrive, or a later failure)."""
    failed = at(sample("codepipeline/pipeline-failed.json"), "2026-11-27T13:00:00Z")
    steps = [{"at": "2026-11-27T13:00:00Z", "event": failed},
             {"at": "2026-11-27T13:01:00Z", "event": at(sample("codepipeline/stage-failed-build.json"),
                                                         "2026-11-27T13:00:30Z")},
             {"at": "2026-11-27T13:02:00Z", **FIXED_SECRET},
             *then(failed)]
    return replay([write_scenario(tmp_path, steps, world=[*DEMO_WORLD(), BROKEN_SECRET])])


def DEMO_WORLD():  # noqa: N802 (reads as the constant it stands for)
    from tests.helpers import pipeline_world

    return pipeline_world()


def test_a_refused_page_leaves_the_incident_unpaged_and_the_redrive_after_the_fix_pages_once(tmp_path):
    # Given a failure whose page PagerDuty's secret refused, and a second failure of the same execution
    # When a person fixes the secret and the dead-lettered failure is redriven (the same event again)
    doc = broken_paging_story(tmp_path, lambda failed: [{"at": "2026-11-27T13:03:00Z", "event": failed}])
    # Then the redrive pages, once; on-call's message went out once, with the first failure
    assert [e["action"] for e in effects(doc, "page")] == ["trigger"]
    assert doc["steps"][3]["effects"] and effects({"steps": [doc["steps"][3]]}, "page", action="trigger")
    assert len(effects(doc, "message", topic="OnCallTopic")) == 1
    # And the team was told once that paging is broken, with the reason (never the secret's value)
    [told] = [m for m in effects(doc, "message", topic="TeamTopic") if "Paging is broken" in m["subject"]]
    assert "PagerDutyMisconfigured" in told["body"] and "routing_key" in told["body"] and '"x"' not in told["body"]
    # And both refused attempts were dead-lettered with the reason, the redrive not
    dead = effects(doc, "dead_letter")
    assert len(dead) == 2 and all("PagerDutyMisconfigured" in d["error"] for d in dead)
    incident = next(i for i in doc["tables"]["StateTable"] if i.get("sk") == "incident")
    assert incident["notified"] is True and "page_failed" not in incident


def test_after_a_refused_page_the_next_failure_pages_once_the_secret_is_fixed(tmp_path):
    # Given the same refused page and fixed secret, When the pipeline fails again (no redrive)
    retried = {"execution-id": "9d9d9d9d-0000-4000-8000-000000000003"}

    def later(_):
        return [{"at": "2026-11-27T13:30:00Z",
                 "event": at(sample("codepipeline/pipeline-failed.json", **retried), "2026-11-27T13:30:00Z")},
                {"at": "2026-11-27T13:40:00Z",
                 "event": at(sample("codepipeline/pipeline-failed.json", **retried), "2026-11-27T13:40:00Z")}]

    doc = broken_paging_story(tmp_path, later)
    # Then that failure pages, once, and the one after it folds into the now paged incident
    assert [e["action"] for e in effects(doc, "page")] == ["trigger"]
    assert effects({"steps": [doc["steps"][3]]}, "page", action="trigger")
    assert len(effects(doc, "message", topic="OnCallTopic")) == 1
