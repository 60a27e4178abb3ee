"""What an approval.needed chat message carries for Amazon Q Developer's Approve and Reject buttons, and when
it carries nothing (so that no button is shown where its command could not, or must not, run)."""

import json
from datetime import UTC, datetime

import pytest

from warden.notify.notice import Notice
from warden.notify.render import CHAT_ACTION_KEYS, chat_actions, render, render_chat
from warden.notify.rules import Decision

OWN = "111122223333"
TOKEN = "0f8d3e2a-6b1c-4d7e-9a5f-3c2b1e0d9f8a"
DECISION = Decision(("approvers", "chat"), "info")


def needed(**overrides):
    base = dict(event="approval.needed", event_id="e-1", time=datetime(2026, 11, 27, tzinfo=UTC), account=OWN,
                region="eu-west-1", state="PENDING", pipeline="payments-api", execution_id="exec-1",
                stage="Approve", action="ProdGate", approval_token=TOKEN)
    base.update(overrides)
    return Notice(**base)


def context(notice, actions_account=OWN):
    return json.loads(render_chat(notice, DECISION, actions_account=actions_account).message)["metadata"][
        "additionalContext"]


def test_an_approval_request_of_this_account_carries_what_the_command_needs():
    assert {k: context(needed())[k] for k in CHAT_ACTION_KEYS} == {
        "pipelineName": "payments-api", "stageName": "Approve", "actionName": "ProdGate",
        "approvalToken": TOKEN, "region": "eu-west-1"}
    # An approval message names no account: it is this account's (warden.core.accounts)
    assert context(needed(account=""))["approvalToken"] == TOKEN


@pytest.mark.parametrize(("why", "notice", "actions_account"), [
    ("the stack has no Q Developer actions", needed(), None),
    ("a workload account's approval: a command run here cannot decide it", needed(account="444455556666"), OWN),
    ("not an approval request", needed(event="approval.escalated"), OWN),
    ("no token known", needed(approval_token=None), OWN),
    ("a name with a space would split into another CLI argument", needed(pipeline="pay --endpoint-url x"), OWN),
    ("a stage name PutApprovalResult refuses", needed(stage="Appro$ve"), OWN),
    ("a token that is not CodePipeline's", needed(approval_token="0f8d3e2a --region us-west-2"), OWN),
    ("a region that is not a region", needed(region="us-east-1 --debug"), OWN),
])
def test_nothing_for_the_buttons_when_their_command_could_not_or_must_not_run(why, notice, actions_account):
    assert chat_actions(notice, actions_account) == {}, why
    assert set(context(notice, actions_account)) == {"severity", "account"}, why


def test_the_token_is_never_text_and_never_in_the_notice_repr():
    notice = needed()
    body = json.loads(render(notice, DECISION).message)
    assert not [protocol for protocol, text in body.items() if TOKEN in text]
    chat = json.loads(render_chat(notice, DECISION, actions_account=OWN).message)
    assert TOKEN not in json.dumps(chat["content"])
    assert TOKEN not in repr(notice)


def test_a_request_sent_without_buttons_for_a_refused_value_says_which_field(caplog):
    # Given an approval of this account whose token is not CodePipeline's form
    notice = needed(approval_token="0f8d3e2a --region us-west-2")
    # When its chat message is rendered, Then it carries no button values and a warning names the field
    assert chat_actions(notice, OWN) == {}
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert warning.fields == ["approvalToken"] and warning.pipeline == "payments-api"
    assert "0f8d3e2a" not in warning.getMessage() + repr(warning.__dict__)  # never the token itself
