"""The router on in-memory seams: a failure page names the failed action, read where the pipeline is;
when CodePipeline cannot say, the page still goes out with what the event says."""

import json
import uuid

from tests.helpers import EVENTS
from tests.unit.fakes import InMemoryIncidents, RecordingNotifier, gateway
from warden.models import parse_event
from warden.router.router import NotificationRouter

OWN, ELSEWHERE = "111122223333", "us-east-2"


def failed_elsewhere():
    event = json.loads((EVENTS / "codepipeline" / "pipeline-failed.json").read_text())
    event = json.loads(json.dumps(event).replace("us-east-1", ELSEWHERE))
    event["id"] = str(uuid.uuid4())
    return event


def scene():
    reads, told, incidents = gateway(), RecordingNotifier(), InMemoryIncidents()
    return reads, told, incidents, NotificationRouter(notifier=told, incidents=incidents, codepipeline=reads)


def test_given_a_failure_in_another_region_then_the_page_names_the_failed_action_from_there():
    reads, told, incidents, router = scene()
    event = failed_elsewhere()
    fake = reads.in_(OWN, ELSEWHERE)
    fake.pipelines[event["detail"]["pipeline"]] = {"stages": []}
    fake.runs[(event["detail"]["pipeline"], event["detail"]["execution-id"])] = [
        {"stageName": "Build", "actionName": "Compile", "status": "Failed", "output": {"executionResult": {
            "externalExecutionUrl": "https://us-east-2.console.aws.amazon.com/codesuite/codebuild/build",
            "errorDetails": {"message": "3 tests failed"}}}}]
    result = router.handle(parse_event(event))
    assert result["status"] == "sent"
    [(notice, _)] = told.sent
    assert (notice.stage, notice.action, notice.error, notice.links["logs"]) == (
        "Build", "Compile", "3 tests failed", "https://us-east-2.console.aws.amazon.com/codesuite/codebuild/build")


def test_given_codepipeline_cannot_be_read_then_the_page_goes_out_from_the_event():
    reads, told, incidents, router = scene()
    reads.in_(OWN, ELSEWHERE).fail_with = "AccessDeniedException"
    result = router.handle(parse_event(failed_elsewhere()))
    assert result["status"] == "sent" and len(told.sent) == 1 and told.sent[0][0].error is None


def test_a_second_failure_of_the_same_incident_is_folded():
    reads, told, incidents, router = scene()
    router.handle(parse_event(failed_elsewhere()))
    assert router.handle(parse_event(failed_elsewhere()))["status"] == "folded" and len(told.sent) == 1
