"""An approval decided before its request's inputs are heard: the decided record still holds what those inputs
alone say (found by the order suite on the re-requested approval story): the action's start (`since`) is the
same whichever input came before the decision, and nobody is told again. A message heard once its token is no
longer pending cannot be verified: it is kept apart as unverified and adds nothing to the record."""

import copy

from tests.helpers import write_scenario
from tests.integration.approvals.test_approvals import (
    RUN,
    approval_event,
    approvals,
    message,
    payments_world,
    pending_token_ref,
    read_token_step,
    started,
)
from warden_local.replay import replay

ACTION_RUN = "a1a1a1a1-0000-4000-8000-00000000000a"


def _story(tmp_path, *, late: bool):
    world = payments_world()
    token = pending_token_ref(world)
    asked = approval_event("STARTED", at="2026-11-27T09:06:49Z", **{"action-execution-id": ACTION_RUN})
    rejected = approval_event("FAILED", at="2026-11-27T09:30:00Z", **{"action-execution-id": ACTION_RUN})
    rejected["detail"]["execution-result"] = {"external-execution-summary": "Not during the freeze."}
    body = message(token=token)
    body["approval"]["approvalReviewLink"] = body["approval"]["approvalReviewLink"].rsplit("/", 1)[0] + "/" + token
    heard = {"delivered": "2026-11-27T09:45:00Z"} if late else {}
    steps = [{"event": started(RUN, "2026-11-27T09:00:02Z")},
             {"at": "2026-11-27T09:06:49Z", "event": asked, **heard},
             {"at": "2026-11-27T09:06:50Z", **read_token_step()},
             {"at": "2026-11-27T09:06:50Z", "event": body, **({"delivered": "2026-11-27T09:50:00Z"} if late else {})},
             {"at": "2026-11-27T09:29:40Z", "call": "codepipeline:PutApprovalResult", "params": {
                 "pipelineName": "payments-api", "stageName": "Approve", "actionName": "ProdGate", "token": token,
                 "result": {"summary": "Not during the freeze.", "status": "Rejected"}}},
             {"at": "2026-11-27T09:30:00Z", "event": copy.deepcopy(rejected)}]
    return replay([write_scenario(tmp_path, steps, world=world, name=f"late-{late}.json")])


def test_a_request_heard_after_its_rejection_completes_the_rejected_record(tmp_path):
    # Given an approval rejected before its STARTED and its message were heard (both late, after the decision)
    late = _story(tmp_path, late=True)
    in_order = _story(tmp_path, late=False)
    [decided], [expected] = approvals(late), approvals(in_order)
    # Then the rejected record says what the request said, as in order
    assert decided["status"] == expected["status"] == "rejected"
    for field in ("since", "execution_id", "action_execution_id", "comment", "status"):
        assert decided.get(field) == expected.get(field), field
    assert decided["since"] == "2026-11-27T09:06:49Z"
    # And the message heard after the decision is not trusted into it
    assert "expires" not in decided and expected["expires"] == "2026-12-04T09:06:00Z"
    assert [i["status"] for i in late["tables"]["StateTable"] if i["pk"].startswith("approval-unverified#")] == [
        "unverified"]
    # And nobody is asked for an approval already rejected
    told = [e["event"] for s in late["steps"] for e in s["effects"] if e["kind"] == "message"]
    assert "approval.needed" not in told and told.count("approval.rejected") == 2  # team and approvers


