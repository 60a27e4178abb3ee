"""The CodePipeline gateway: reads where the pipeline is, and says Unknown (and why) when it cannot."""

from datetime import datetime

import pytest

from tests.unit.fakes import gateway
from warden.aws.codepipeline import ApprovalStatus, Unknown

OWN, WORKLOAD, HOME, ELSEWHERE = "111122223333", "222233334444", "us-east-1", "us-east-2"
RUN, TOKEN = "run-1", "token-1"


def test_given_a_pipeline_in_another_region_when_its_approval_is_asked_then_that_region_answers():
    reads = gateway()
    reads.in_(OWN, ELSEWHERE).approval_waiting("payments-api", RUN, TOKEN)
    found = reads.approval(OWN, ELSEWHERE, "payments-api", "Approve", "ProdGate", execution_id=RUN, token=TOKEN)
    assert found == ApprovalStatus(pending=True, status="InProgress", token=TOKEN, execution_id=RUN)
    # Warden's own region does not have it: unknown, never "not pending".
    home = reads.approval(OWN, HOME, "payments-api", "Approve", "ProdGate", execution_id=RUN, token=TOKEN)
    assert isinstance(home, Unknown) and home.code == "not_found" and "PipelineNotFoundException" in home.reason


@pytest.mark.parametrize(("error", "code"), [("AccessDeniedException", "access_denied"),
                                             ("ThrottlingException", "throttled"),
                                             ("InternalFailure", "error")])
def test_given_a_read_that_fails_then_the_answer_is_unknown_with_its_reason(error, code):
    reads = gateway()
    fake = reads.in_(OWN, HOME)
    fake.approval_waiting("payments-api", RUN, TOKEN)
    fake.fail_with = error
    for answer in (reads.state(OWN, HOME, "payments-api"), reads.definition(OWN, HOME, "payments-api"),
                   reads.failed_action(OWN, HOME, "payments-api", RUN),
                   reads.approver(OWN, HOME, "payments-api", RUN, "Approve", "ProdGate"),
                   reads.execution(OWN, HOME, "payments-api", RUN)):
        assert isinstance(answer, Unknown) and answer.code == code and error in answer.reason
        assert not answer  # never mistaken for a positive answer


def test_given_no_read_role_then_a_workload_pipeline_is_unknown_without_a_call():
    reads = gateway()
    answer = reads.state(WORKLOAD, HOME, "payments-api")
    assert isinstance(answer, Unknown) and answer.code == "no_role" and WORKLOAD in answer.reason
    assert reads.fakes == {}


def test_given_a_read_role_then_a_workload_pipeline_is_read_in_its_account_and_region():
    reads = gateway(role_name="pipeline-warden-read")
    reads.in_(WORKLOAD, ELSEWHERE).approval_waiting("payments-api", RUN, TOKEN)
    assert reads.definition(WORKLOAD, ELSEWHERE, "payments-api")["name"] == "payments-api"
    assert isinstance(reads.definition(WORKLOAD, HOME, "payments-api"), Unknown)
    assert reads.client(WORKLOAD, ELSEWHERE) is reads.client(WORKLOAD, ELSEWHERE)  # once per (account, region)


def test_own_account_is_the_empty_account_and_any_account_when_warden_does_not_know_its_own():
    assert gateway().is_own("") and gateway().is_own(OWN) and not gateway().is_own(WORKLOAD)
    assert gateway(own_account="").is_own(WORKLOAD)


@pytest.mark.parametrize(("status", "token", "pending"), [
    ("InProgress", TOKEN, True),
    ("InProgress", "another-token", False),  # the action runs again, for another request
    ("Succeeded", TOKEN, False), ("Failed", TOKEN, False), ("Abandoned", TOKEN, False),
])
def test_only_evidence_makes_an_approval_not_pending(status, token, pending):
    reads = gateway()
    reads.in_(OWN, HOME).approval_waiting("payments-api", RUN, token, status=status)
    found = reads.approval(OWN, HOME, "payments-api", "Approve", "ProdGate", execution_id=RUN, token=TOKEN)
    assert isinstance(found, ApprovalStatus) and found.pending is pending and found.status == status


def test_a_pipeline_without_the_action_is_unknown_not_resolved():
    reads = gateway()
    reads.in_(OWN, HOME).approval_waiting("payments-api", RUN, TOKEN, action="Renamed")
    found = reads.approval(OWN, HOME, "payments-api", "Approve", "ProdGate", execution_id=RUN, token=TOKEN)
    assert isinstance(found, Unknown) and "Approve/ProdGate" in found.reason


def test_an_approval_that_is_not_the_latest_at_its_stage_is_asked_of_its_own_execution():
    reads = gateway()
    fake = reads.in_(OWN, HOME)
    fake.approval_waiting("payments-api", "run-2", "token-2")  # a PARALLEL execution is the stage's latest
    fake.runs[("payments-api", RUN)] = [{"stageName": "Approve", "actionName": "ProdGate", "status": "Succeeded",
                                         "updatedBy": "arn:aws:sts::111122223333:assumed-role/approver/alice",
                                         "lastUpdateTime": datetime(2026, 11, 27, 10)}]
    found = reads.approval(OWN, HOME, "payments-api", "Approve", "ProdGate", execution_id=RUN, token=TOKEN)
    assert isinstance(found, ApprovalStatus) and not found.pending and found.status == "Succeeded"
    assert reads.approver(OWN, HOME, "payments-api", RUN, "Approve", "ProdGate").endswith("/alice")


def test_the_failed_action_is_found_on_any_page():
    reads = gateway()
    fake = reads.in_(OWN, HOME)
    fake.pipelines["payments-api"] = {"stages": []}
    fake.runs[("payments-api", RUN)] = [
        {"stageName": "Source", "actionName": "Source", "status": "Succeeded"},
        {"stageName": "Build", "actionName": "Compile", "status": "Failed", "output": {"executionResult": {
            "externalExecutionUrl": "https://logs", "errorDetails": {"message": "tests failed"}}}}]
    assert reads.failed_action(OWN, HOME, "payments-api", RUN) == {
        "stage": "Build", "action": "Compile", "error": "tests failed", "logs": "https://logs", "provider": None,
        "external_id": None}
    # A CodeDeploy action's run names its action type and the deployment it ran (its external execution id)
    fake.runs[("payments-api", RUN)][1]["input"] = {"actionTypeId": {
        "category": "Deploy", "owner": "AWS", "provider": "CodeDeploy", "version": "1"}}
    fake.runs[("payments-api", RUN)][1]["output"]["executionResult"]["externalExecutionId"] = "d-ABCDEF123"
    found = reads.failed_action(OWN, HOME, "payments-api", RUN)
    assert (found["provider"], found["external_id"]) == ("CodeDeploy", "d-ABCDEF123")
    fake.runs[("payments-api", RUN)] = fake.runs[("payments-api", RUN)][:1]
    assert reads.failed_action(OWN, HOME, "payments-api", RUN) is None  # read, and nothing failed
