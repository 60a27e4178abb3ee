"""Every page and on-call message names the release: commit, its message, author, execution, trigger
(issue 13). Observed at the local PagerDuty server and through the on-call topic's queue."""

from tests.benchmarks.bench import CallMeter
from tests.helpers import EVENTS, effects, sample, write_scenario
from warden_local.replay import replay

FAILED_RUN = "3c9b2f7e-8d41-4a6e-b0f2-5e7a1c9d4b36"


def started_with_git_trigger():
    return sample("codepipeline/pipeline-started-v2-git-push.json", **{"execution-id": FAILED_RUN})


def oncall_body(doc):
    [message] = effects(doc, "message", topic="OnCallTopic")
    return message["body"]  # SQS subscribers get the `default` body


def test_given_the_start_was_seen_when_an_action_fails_then_page_and_message_name_commit_and_author(tmp_path,
                                                                                                  world):
    steps = [{"event": started_with_git_trigger()}, {"event": sample("codepipeline/action-failed-build.json")}]
    with CallMeter() as meter:
        doc = replay([write_scenario(tmp_path, steps)], world=world)
    [page] = effects(doc, "page", action="trigger")
    details = page["custom_details"]
    assert details["commit"] == "e4d2c0b Enable connection pooling for ledger DB (#415)"
    assert details["author"] == "Wei Zhang" and details["trigger"] == "WebhookV2"
    assert details["execution"] == FAILED_RUN and "COMMAND_EXECUTION_ERROR" in details["error"]
    links = {link["text"]: link["href"] for link in page["links"]}
    assert links["Commit"] == ("https://github.com/example-corp/payments-api/commit/"
                               "e4d2c0b8a6f4e2d0c8b6a4f2e0d8c6b4a2f0e8d6")
    assert "codebuild" in links["Logs"] and FAILED_RUN in links["Execution"]
    assert list(links)[:3] == ["Execution", "Logs", "Commit"]  # what on-call opens first comes first
    body = oncall_body(doc)
    assert "Commit: e4d2c0b Enable connection pooling" in body and "Author: Wei Zhang" in body
    assert "Error: Build terminated" in body and "Logs: https://console.aws.amazon.com/codebuild" in body
    # Taken from what the start stored: CodePipeline was not asked.
    assert meter.calls["codepipeline:GetPipelineExecution"] == 0


def test_given_no_start_when_codepipeline_cannot_say_then_the_page_says_why_and_asks_once(tmp_path, world):
    # The pipeline does not exist in this account: GetPipelineExecution fails, the page still goes out.
    world.pagerduty.failures = [503] * 4  # and the first attempt's page fails: Lambda retries the event
    with CallMeter() as meter:
        doc = replay([write_scenario(tmp_path, [{"event": sample("codepipeline/action-failed-build.json")}],
                                     world=[])], world=world)
    [page] = effects(doc, "page", action="trigger")
    details = page["custom_details"]
    assert details["commit"].startswith("unknown (the execution's start was not seen and GetPipelineExecution ")
    assert "PipelineNotFoundException" in details["commit"]
    assert details["author"] == details["commit"]
    assert "Commit: unknown (the execution's start was not seen and GetPipelineExecution" in oncall_body(doc)
    # Two invocations (the retry after the PagerDuty outage), one CodePipeline read: the answer is cached.
    assert meter.calls["codepipeline:GetPipelineExecution"] == 1
    [cached] = [i for i in doc["tables"]["StateTable"] if i["pk"].startswith("trigger#")]
    assert cached["sk"] == FAILED_RUN and "PipelineNotFoundException" in cached["unknown"]


def test_given_a_start_seen_late_then_its_facts_replace_the_cached_unknown(tmp_path, world):
    steps = [{"event": sample("codepipeline/action-failed-build.json")}, {"event": started_with_git_trigger()}]
    doc = replay([write_scenario(tmp_path, steps, world=[])], world=world)
    [cached] = [i for i in doc["tables"]["StateTable"] if i["pk"].startswith("trigger#")]
    assert cached["author"] == "Wei Zhang" and "unknown" not in cached


def test_a_workload_account_without_read_role_pages_with_the_reason(tmp_path, world):
    event = sample("codepipeline/action-failed-build.json")
    event["account"] = "444455556666"
    doc = replay([write_scenario(tmp_path, [{"event": event}])], world=world)
    [page] = effects(doc, "page", action="trigger")
    assert "no read role for account 444455556666" in page["custom_details"]["commit"]


def test_a_codedeploy_rollback_page_says_why_the_commit_is_unknown(tmp_path, world):
    doc = replay([write_scenario(tmp_path, [{"event": sample("codedeploy/deployment-failure.json")}])], world=world)
    [page] = effects(doc, "page", action="trigger")
    assert page["custom_details"]["commit"].startswith("unknown (a CodeDeploy deployment event does not name")
    assert page["class"] == "deployment.rolled_back"
    body = oncall_body(doc)
    assert "Commit: unknown (a CodeDeploy" in body and "Error: not reported by the event" in body
    assert "Logs: https://console.aws.amazon.com/codesuite/codedeploy/deployments/" in body


def test_an_approval_escalation_names_the_release_or_says_once_why_it_cannot(tmp_path, world):
    # A workload account without a read role: its start was not seen, and CodePipeline cannot be asked.
    event = sample("codepipeline/action-started-approval.json")
    event["account"] = "444455556666"
    steps = [{"event": event}, {"at": "2026-11-27T17:10:00Z", "schedule": "ApprovalEscalator"}]
    doc = replay([write_scenario(tmp_path, steps)], world=world)
    [needed] = effects(doc, "message", topic="ApproversTopic", event="approval.needed")
    [oncall] = effects(doc, "message", topic="OnCallTopic", event="approval.escalated")
    for body in (needed["body"], oncall["body"]):
        assert "Commit: unknown (the execution's start was not seen and no read role for account 444455556666" in body
    [page] = effects(doc, "page", action="trigger")
    assert page["custom_details"]["author"].startswith("unknown (the execution's start was not seen")
    assert "error" not in page["custom_details"]  # an approval waiting is not an error


def test_an_approval_escalation_names_the_release_from_the_start():
    doc = replay([str(EVENTS / "scenarios" / "approval-escalation.json")])
    [oncall] = effects(doc, "message", topic="OnCallTopic", event="approval.escalated")
    assert "Add idempotency keys to refund API (#412)" in oncall["body"] and "Author: Maria Garcia" in oncall["body"]
    [page] = effects(doc, "page", action="trigger")
    assert page["custom_details"]["author"] == "Maria Garcia" and page["class"] == "approval.escalated"
    assert page["custom_details"]["commit"].endswith("Add idempotency keys to refund API (#412)")


def test_every_page_and_oncall_message_of_the_stories_names_release_error_and_logs():
    inputs = [str(EVENTS / "scenarios" / name) for name in ("demo.json", "failure-folding.json")] + [
        str(EVENTS / "codedeploy" / "deployment-failure.json"), str(EVENTS / "codedeploy" / "deployment-stop.json"),
        str(EVENTS / "codepipeline" / "pipeline-started-rollback.json")]
    for path in inputs:
        doc = replay([path])
        pages = effects(doc, "page", action="trigger")
        assert pages, path
        for page in pages:
            details, texts = page["custom_details"], {link["text"] for link in page["links"]}
            assert details.get("commit") and details.get("author") and details.get("execution"), (path, details)
            if page["class"] != "approval.escalated":
                # A log link whenever the error is known; otherwise the page says the error was not reported
                # (failure-folding: pipeline FAILED arrives before CodePipeline knows which action failed).
                assert details.get("error"), (path, details)
                assert "Logs" in texts or details["error"].startswith("not reported"), (path, details, texts)
        for message in effects(doc, "message", topic="OnCallTopic"):
            body = message["body"]
            assert "\nCommit: " in body and "\nAuthor: " in body, (path, body)
            if message["event"] != "approval.escalated":
                assert "\nError: " in body, (path, body)
                assert "\nLogs: " in body or "\nError: not reported" in body, (path, body)
