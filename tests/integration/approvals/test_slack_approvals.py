"""Approving from Slack (issue 23): a verified person, one PutApprovalResult, the person in the ledger.

Given the payments-api approval posted by the Slack app in #payments, When people click over real HTTP
(requests signed as Slack signs them) on the gateway's function URL, Then CodePipeline hears exactly the
decisions the policy allows, once, and every refusal is told, logged and counted, with no call.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import sample
from tests.integration.approvals.slack_story import APPROVERS, CHANNEL, RUN, Story
from warden.core import clock
from warden.core.clock import parse_iso
from warden.ledger.view import LedgerReader


@pytest.fixture
def story(tmp_path):
    s = Story(tmp_path)
    yield s
    s.close()


def ledger_view(story):
    reader = LedgerReader(story.world.client("dynamodb"), story.world.physical["LedgerTable"]["TableName"],
                          story.world.account)
    [view] = [v for v in reader.history("payments-api").items if v["execution_id"] == RUN]
    return view


def test_the_request_is_posted_with_buttons_and_no_token(story):
    message = story.message()
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == ["warden-approve", "warden-reject"]
    assert "payments-api / Approve / ProdGate" in message["text"]
    [item] = [i for i in story.world.table_items("StateTable") if i["pk"].startswith("approval#")]
    assert item["token"] and item["token"] not in json.dumps(story.slack.calls)
    assert item["slack_channel"] == CHANNEL and item["slack_ts"] == story.request_ts


def test_an_allowed_person_approves_after_confirming_and_everyone_sees_it(story):
    # When Alice clicks Approve, Then a confirmation opens and nothing is decided yet
    status, _ = story.click("U0ALICE")
    assert status == 200 and story.approval_results() == []
    [opened] = story.slack.called("views.open")
    assert opened["view"]["callback_id"] == "warden-approval"
    # When she confirms with a reason
    answer = story.confirm("U0ALICE", "soak looks clean")
    # Then CodePipeline got one result naming her, and the stage moved on
    [result] = story.approval_results()
    assert result["status"] == "Approved" and result["pipelineExecutionId"] == RUN
    assert result["summary"] == ("Approved by Alice Approver (U0ALICE, alice@example.com) in #payments: "
                                 "soak looks clean")
    assert answer[1]["response_action"] == "update"
    state = story.world.client("codepipeline").get_pipeline_state(name="payments-api")
    approve = next(s for s in state["stageStates"] if s["stageName"] == "Approve")
    assert approve["actionStates"][0]["latestExecution"]["status"] == "Succeeded"
    # And the message is updated in place for everyone: who, when, why; no buttons left
    message = story.message()
    assert not [b for b in message["blocks"] if b["type"] == "actions"]
    assert "Approved* by Alice Approver (<@U0ALICE>)" in json.dumps(message["blocks"])
    assert "soak looks clean" in json.dumps(message["blocks"])
    # And the ledger names the person, with the channel
    view = ledger_view(story)
    assert view["approver"] == "Alice Approver <alice@example.com> (Slack U0ALICE) in #payments"
    [approval] = view["approvals"]
    assert approval["person"]["slack_id"] == "U0ALICE" and approval["person"]["channel"] == "payments"


def test_the_ledger_keeps_the_person_when_codepipelines_event_arrives_after(story):
    story.decide("U0BOB")
    succeeded = sample("codepipeline/action-succeeded-approval.json", **{"execution-id": RUN})
    succeeded["time"] = "2026-11-27T09:30:00Z"
    story.world.set_time(parse_iso("2026-11-27T09:30:00Z"))
    story.world.invoke("DeploymentTracker", succeeded)
    view = ledger_view(story)
    [approval] = view["approvals"]
    assert approval["person"]["email"] == "bob@example.com" and approval["status"] in ("Succeeded", "SUCCEEDED")
    assert view["approver"].startswith("Bob Builder <bob@example.com>")


def test_reject_requires_a_reason_then_rejects_once(story):
    story.click("U0ALICE", "reject")
    status, answer = story.confirm("U0ALICE", None)
    assert status == 200 and answer == {"response_action": "errors", "errors": {"reason": "Say why you reject it."}}
    assert story.approval_results() == []
    story.confirm("U0ALICE", "no soak data")
    [result] = story.approval_results()
    assert result["status"] == "Rejected" and result["summary"].endswith("in #payments: no soak data")


def test_a_group_member_may_approve(story):
    story.decide("U0CAROL")
    assert [r["status"] for r in story.approval_results()] == ["Approved"]


@pytest.mark.parametrize(("user", "code"), [
    ("U0EVE", "not_allowed"),           # not in the policy
    ("U0MARIA", "self_approval"),       # the commit's author, listed by id: still refused
    ("U0NOBODY", "unknown_user"),       # Slack does not know them
    ("U0GONE", "unknown_user"),         # deactivated
])
def test_people_the_policy_does_not_allow_are_refused_with_no_call(story, user, code):
    status, _ = story.click(user)
    assert status == 200 and story.approval_results() == []
    [told] = story.slack.called("views.open")
    assert told["view"].get("callback_id") is None and "Not done" in told["view"]["title"]["text"]
    # Even a submission built by hand (no confirmation was opened for them) is refused
    status, answer = story.send(story.slack.submit(user, "x", view={
        "callback_id": "warden-approval", "private_metadata": json.dumps({
            "ref": json.loads(story.message()["blocks"][-1]["elements"][0]["value"]), "decision": "approve",
            "channel": CHANNEL})}))
    assert status == 200 and answer["response_action"] == "update" and story.approval_results() == []
    assert story.counted(code) == 2


def test_no_policy_means_nobody_decides_from_chat(tmp_path):
    story = Story(tmp_path, approvers=None)
    try:
        story.click("U0ALICE")
        assert story.approval_results() == [] and story.counted("no_policy") == 1
        assert "use the console" in json.dumps(story.slack.called("views.open"))
    finally:
        story.close()


def test_a_double_click_and_a_retried_submission_make_one_call(story):
    story.click("U0ALICE")
    story.click("U0ALICE")
    first = story.slack.submit("U0ALICE", "ok")
    assert story.send(first)[0] == 200
    assert story.send(first)[0] == 401  # the same request again (Slack's retry, or a replay): refused as such
    assert story.send(story.slack.submit("U0ALICE", "ok"))[0] == 200  # a second confirmation: already decided
    assert len(story.approval_results()) == 1
    assert (story.counted("replay"), story.counted("already_decided")) == (1, 1)


def test_two_approvers_at_once_make_one_call(story):
    story.click("U0ALICE")
    alice = story.slack.submit("U0ALICE", "go")
    story.click("U0BOB")
    bob = story.slack.submit("U0BOB", "go too")
    story.send(alice)
    story.send(bob)
    [result] = story.approval_results()
    assert "U0ALICE" in result["summary"] and story.counted("already_decided") == 1


def test_n_of_m_records_earlier_approvals_and_the_last_makes_the_call(tmp_path):
    two = {"rules": [{**APPROVERS["rules"][0], "required": 2}]}
    story = Story(tmp_path, approvers=two)
    try:
        answer = story.decide("U0ALICE", reason="first look")
        assert story.approval_results() == [] and "1 of 2" in json.dumps(answer)
        assert "Approved by Alice Approver (<@U0ALICE>)" in json.dumps(story.message()["blocks"])
        assert story.message()["blocks"][-1]["type"] == "actions"  # still waiting: buttons stay
        again = story.decide("U0ALICE")  # her second approval does not count twice
        assert story.approval_results() == [] and "already" in json.dumps(again)
        story.decide("U0BOB", reason="second look")
        [result] = story.approval_results()
        assert result["summary"].startswith("Approved by Bob Builder (U0BOB, bob@example.com)")
        assert "approvals: Alice Approver, Bob Builder" in result["summary"]
        person = ledger_view(story)["approvals"][0]["person"]
        assert [a["slack_id"] for a in person["approvals"]] == ["U0ALICE", "U0BOB"]
    finally:
        story.close()


def test_forged_stale_and_replayed_requests_are_refused_before_parsing(story):
    payload = story.slack.click("U0ALICE", "approve", CHANNEL, story.request_ts)
    now = int(clock.now().timestamp())
    assert story.send(payload, secret="not-the-signing-secret")[0] == 401
    assert story.send(payload, timestamp=now - 301)[0] == 401
    headers, body = story.slack.signed(payload, timestamp=now)
    assert story.send(payload, body=body + b"x", headers=headers)[0] == 401  # body changed after signing
    assert story.send(payload, body=b"not a form at all", headers=headers)[0] == 401
    # A request accepted once, sent again with its own signature: a replay
    assert story.send(payload, body=body, headers=headers)[0] == 200
    assert story.send(payload, body=body, headers=headers)[0] == 401
    assert story.approval_results() == []
    for code in ("bad_signature", "stale", "replay"):
        assert story.counted(code) >= 1, code
    logs = story.world.logs.getvalue()
    assert "verification-token-never-read" not in logs and headers["X-Slack-Signature"] not in logs


def test_an_expired_approval_is_refused(story):
    story.world.set_time(parse_iso("2026-12-04T09:07:00Z"))  # seven days after the request
    story.click("U0ALICE")
    assert story.approval_results() == [] and story.counted("expired") == 1
    assert "expired" in json.dumps(story.slack.called("views.open"))


def test_an_approval_decided_in_the_console_meanwhile_is_refused(story):
    story.click("U0ALICE")
    token = next(i for i in story.world.table_items("StateTable") if i["pk"].startswith("approval#"))["token"]
    story.world.client("codepipeline").put_approval_result(
        pipelineName="payments-api", stageName="Approve", actionName="ProdGate", token=token,
        result={"status": "Approved", "summary": "from the console"})
    status, answer = story.confirm("U0ALICE", "late")
    assert status == 200 and "no longer waiting" in json.dumps(answer)
    assert len(story.approval_results()) == 1 and story.counted("not_pending") == 1


def test_the_bundled_scenario_clicks_approve_and_the_pipeline_proceeds_with_the_person_in_the_ledger():
    """events/scenarios/slack-approval.json through `warden replay`: the request posted with buttons, a reminder in
    its thread, two refused clicks with no call, Alice's approval making one PutApprovalResult, the message updated
    for everyone, CodePipeline's SUCCEEDED told as approved by her, and the ledger naming her with the channel."""
    import jsonschema

    from tests.helpers import EVENTS, SCHEMA, effects
    from warden_local.replay import replay

    doc = replay([str(EVENTS / "scenarios" / "slack-approval.json")])
    jsonschema.validate(doc, SCHEMA)
    steps = {s["input"].rsplit("/", 1)[-1]: s for s in doc["steps"]}
    [post] = [e for e in steps["action-started-approval.json"]["effects"] if e.get("api") == "slack:ChatPostMessage"]
    assert post["params"]["channel"] == CHANNEL and "thread_ts" not in post["params"]
    [reminder] = [e for e in steps["schedule:ApprovalEscalator"]["effects"] if e.get("api") == "slack:ChatPostMessage"]
    assert reminder["params"]["thread_ts"] and "still pending" in reminder["params"]["text"]
    for refused in ("slack:U0EVE:approve", "slack:U0MARIA:approve"):
        assert not [e for e in steps[refused]["effects"] if e.get("api", "").startswith("codepipeline:")], refused
    alice = steps["slack:U0ALICE:approve"]["effects"]
    [decision] = [e for e in alice if e.get("api") == "codepipeline:PutApprovalResult"]
    assert decision["params"]["result"] == {"status": "Approved", "summary": (
        "Approved by Alice Approver (U0ALICE, alice@example.com) in #payments: Soak dashboard clean for 4 h")}
    assert [e["params"]["text"] for e in alice if e.get("api") == "slack:ChatUpdate"] == [
        "Approved: payments-api / Approve / ProdGate by Alice Approver"]
    [approved] = effects(doc, "message", event="approval.approved")
    assert "Alice Approver <alice@example.com> (Slack U0ALICE)" in approved["body"]
    [execution] = [i for i in doc["tables"]["LedgerTable"] if i.get("execution_id") == RUN and i["sk"] == "EXECUTION"]
    assert execution["approval_person:Approve:ProdGate"]["slack_id"] == "U0ALICE"
    assert execution["approval:Approve:ProdGate"]["status"] == "Succeeded"


def test_a_decision_retried_after_its_call_finishes_without_a_second_call(story):
    """Given Alice's approval was sent to CodePipeline and the invocation died before marking it done, When she
    confirms again, Then CodePipeline's ApprovalAlreadyCompleted carries her summary: the rest (ledger, message)
    is finished, and nothing is called twice."""
    story.decide("U0ALICE", reason="go")
    ddb, table = story.world.client("dynamodb"), story.world.physical["StateTable"]["TableName"]
    [item] = [i for i in story.world.table_items("StateTable") if i["pk"].startswith("approval#")]
    ddb.update_item(TableName=table, Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}},
                    UpdateExpression="REMOVE chat_done")
    status, answer = story.confirm("U0ALICE", "go")  # her confirmation again (Slack keeps the modal open on error)
    assert status == 200 and len(story.approval_results()) == 1
    assert "Approved payments-api" in json.dumps(answer)
    [item] = [i for i in story.world.table_items("StateTable") if i["pk"].startswith("approval#")]
    assert item["chat_done"]


def test_a_workload_accounts_approval_is_decided_there_through_the_deploy_role(tmp_path):
    """Given payments-api in workload account 222233334444 waiting at its approval (read through the read role),
    When Alice approves it from Slack, Then PutApprovalResult is made in that account, as the deploy role, once."""
    from tests.integration.approvals.slack_story import approval_started, pipeline_world, started
    from warden_local.fakes.codepipeline import codepipeline_state
    from warden_local.replay import READ_ROLE

    workload = "222233334444"
    calls = [dict(c, account=workload) for c in json.loads(json.dumps(pipeline_world()).replace(
        "111122223333", workload))]
    steps = [{"event": dict(started(), account=workload)}, {"event": dict(approval_started(), account=workload)}]
    story = Story(tmp_path, steps=steps, world_calls=calls,
                  parameters={"WorkloadReadRoleName": READ_ROLE, "WorkloadDeployRoleName": "pipeline-warden-deploy"})
    try:
        story.decide("U0ALICE", reason="workload soak clean")
        assert story.approval_results() == []  # nothing in the tools account
        [result] = codepipeline_state(workload, "us-east-1").approval_results
        assert result["updatedBy"].startswith(f"arn:aws:sts::{workload}:assumed-role/pipeline-warden-deploy/")
        assert result["summary"].endswith("in #payments: workload soak clean")
        assert "Approved* by Alice Approver" in json.dumps(story.message()["blocks"])
    finally:
        story.close()


def test_two_people_confirming_in_two_containers_at_the_same_moment_make_one_call(story, monkeypatch):
    """Two Lambda containers (two gateways, each with its own clients) handle Alice's and Bob's confirmations
    at once, released together by a barrier: the conditional claim lets exactly one call CodePipeline.
    DynamoDB applies each request atomically; moto does not under threads (a condition checked by one thread
    can be overtaken by another's write), so each embedded DynamoDB request is made atomic here, and only that:
    the two flows still interleave request by request."""
    import threading

    import botocore.client

    atomic, original = threading.Lock(), botocore.client.BaseClient._make_api_call

    def one_request_at_a_time(client, operation, params):
        if client.meta.service_model.service_name != "dynamodb":
            return original(client, operation, params)
        with atomic:
            return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", one_request_at_a_time)

    from warden.approvals.gateway import HttpRequest
    from warden.runtime.container import Container
    from warden.runtime.settings import Settings
    from warden_local.function_url import url_event

    env = story.world.environment(story.world.functions["ApprovalGateway"])
    gateways = [Container(settings=Settings.of("ApprovalGateway", env)).approval_gateway for _ in range(2)]
    submissions = []
    for user in ("U0ALICE", "U0BOB"):
        story.click(user)
        headers, body = story.slack.signed(story.slack.submit(user, f"{user} says go"),
                                           timestamp=int(clock.now().timestamp()))
        submissions.append(HttpRequest.of(url_event("POST", "/", headers, body, account=story.world.account)))
    barrier, outcomes = threading.Barrier(2), [None, None]
    # Both reach the claim together (each past its own checks and vote): the worst moment for a double call.
    at_claim = threading.Barrier(2, timeout=10)
    for gateway in gateways:
        decisions = gateway._decisions
        claim = decisions.claim
        decisions.claim = lambda *args, _claim=claim, **kwargs: (at_claim.wait(), _claim(*args, **kwargs))[1]

    def confirm(n):
        barrier.wait()
        outcomes[n] = gateways[n].handle(submissions[n])

    threads = [threading.Thread(target=confirm, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(o.status for o in outcomes) == ["decided", "refused"]
    [refused] = [o for o in outcomes if o.status == "refused"]
    assert refused.code == "already_decided"
    [result] = story.approval_results()
    assert result["status"] == "Approved"


def _feed(story, event):
    from warden_local.replay import Step

    return story.replayer.step(Step("event", clock.parse_iso(event["time"]), event=event, inline=True))


def test_a_redelivered_request_posts_once_and_a_slack_failure_never_holds_the_notification_back(tmp_path):
    from tests.integration.approvals.slack_story import approval_started, started

    story = Story(tmp_path, steps=[{"event": started()}])
    try:
        # Given Slack refuses the first post: the SNS audiences are still told, and the failure is counted
        story.slack.failures["chat.postMessage"] = ["channel_not_found"]
        first = _feed(story, approval_started())
        assert [e["topic"] for e in first["effects"] if e["kind"] == "message"] == ["ApproversTopic", "ChatTopic"]
        assert story.slack.messages == {} and '"SlackPostFailures"' in story.world.logs.getvalue()
        # When the sweep finds it announced, and the STARTED event is delivered again, Then nothing is posted twice
        _feed(story, approval_started())
        _feed(story, approval_started())
        assert story.slack.messages == {}  # told once already (approval.needed): a redelivery posts nothing new
    finally:
        story.close()


def test_the_request_is_posted_once_whatever_the_redeliveries(story):
    from tests.integration.approvals.slack_story import approval_started

    _feed(story, approval_started())
    _feed(story, approval_started())
    assert len([m for m in story.slack.messages.values() if not m.get("thread_ts")]) == 1
