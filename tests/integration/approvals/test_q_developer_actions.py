"""Approving from Amazon Q Developer in chat: the template's custom actions, run against the very message
Warden publishes for an approval, decide it in the embedded CodePipeline as the clicking person.

Amazon Q Developer cannot run here, so what it does with a custom action is modelled as its references
say, read literally (README, "Approving from Amazon Q Developer in chat"):
- an attachment's `Variables` are "the variables to extract from the notification": each value is a
  dotted path, `event.` + keys of the custom notification document (`event.metadata.additionalContext.x`);
- its `Criteria` decide whether the button is shown: HAS_VALUE (the variable has a non-empty value) and
  EQUALS (it equals `Value`), all of them; `NotificationType: Custom` is a custom notification
  (`"source": "custom"`);
- `CommandText` "may include variables by prefixing with a dollar sign ($)": each `$Name` becomes the value
  of variable `Name`, and the result is one AWS CLI command (no shell) run with the person's own role.
The command is then parsed as the AWS CLI parses it (its shorthand for `--result`) into PutApprovalResult's
parameters and called through boto3 with an assumed-role session, as CloudTrail would record it.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.helpers import sample
from tests.integration.approvals.slack_story import RUN, approval_started, pipeline_world, started
from warden_local.replay import Replayer, load
from warden_local.template import default_template
from warden_local.world import World

ACCOUNT, REGION = "111122223333", "us-east-1"
PERSON = {"Approved": "alice", "Rejected": "bob"}
ACTION_OF = {"Approved": "QDeveloperApproveAction", "Rejected": "QDeveloperRejectAction"}
OUTCOME = {"Approved": ("SUCCEEDED", "pipeline-succeeded.json"), "Rejected": ("FAILED", "pipeline-failed.json")}
SUMMARY = {status: f"{status} in chat with Amazon Q Developer" for status in ("Approved", "Rejected")}
VARIABLE = re.compile(r"\$([A-Za-z0-9_-]+)")


# -- Amazon Q Developer, as documented --------------------------------------------------------------------
def custom_actions(world: World) -> dict[str, dict[str, Any]]:
    """The stack's AWS::Chatbot::CustomAction resources that exist (their condition holds), resolved."""
    return {lid: world.resolve(res["Properties"]) for lid, res in world.template.of_type(
        "AWS::Chatbot::CustomAction").items() if world.condition_of(res)}


def extract(path: str, notification: dict[str, Any]) -> str | None:
    """The value at `path` (`event.` + dotted keys of the notification), None where there is none."""
    head, *keys = path.split(".")
    assert head == "event", f"variable path {path!r} does not start at the notification (event.)"
    value: Any = notification
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value if isinstance(value, str) else None


def variables(attachment: dict[str, Any], notification: dict[str, Any]) -> dict[str, str | None]:
    return {name: extract(path, notification) for name, path in attachment["Variables"].items()}


def shown(attachment: dict[str, Any], notification: dict[str, Any]) -> bool:
    """Whether Q Developer attaches this button to the notification."""
    if attachment.get("NotificationType") == "Custom" and notification.get("source") != "custom":
        return False
    found = variables(attachment, notification)
    for criterion in attachment.get("Criteria") or []:
        value = found.get(criterion["VariableName"])
        if criterion["Operator"] == "HAS_VALUE" and not value:
            return False
        if criterion["Operator"] == "EQUALS" and value != criterion.get("Value"):
            return False
    return True


def command(action: dict[str, Any], notification: dict[str, Any]) -> str:
    """CommandText with each `$Name` replaced by its variable's value (one attachment: the button clicked)."""
    (attachment,) = action["Attachments"]
    found = variables(attachment, notification)

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert found.get(name), f"${name} has no value in the notification: Q Developer would ask for it"
        return str(found[name])

    return VARIABLE.sub(value, action["Definition"]["CommandText"])


def put_approval_result(cli: str) -> tuple[dict[str, Any], str]:
    """`codepipeline put-approval-result --opt value ...` as the AWS CLI reads it: PutApprovalResult's
    parameters (`--result` in the CLI's shorthand, key=value pairs separated by commas) and `--region`."""
    words = shlex.split(cli)
    assert words[:2] == ["codepipeline", "put-approval-result"], words[:2]
    options = dict(zip(words[2::2], words[3::2], strict=True))
    assert all(name.startswith("--") for name in options), options
    result = dict(pair.split("=", 1) for pair in options.pop("--result").split(","))
    region = options.pop("--region")
    params = {"pipelineName": options.pop("--pipeline-name"), "stageName": options.pop("--stage-name"),
              "actionName": options.pop("--action-name"), "token": options.pop("--token"), "result": result}
    assert not options, f"options PutApprovalResult does not take: {options}"
    return params, region


def as_person(world: World, name: str, region: str) -> Any:
    """CodePipeline as the person clicking: their own role session (Q Developer's user role, or the
    channel role with the person's session name), which CodePipeline records as updatedBy."""
    creds = world.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/release-approver",
                                            RoleSessionName=name)["Credentials"]
    return boto3.client("codepipeline", region_name=region, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


# -- the story ----------------------------------------------------------------------------------------------
def chat_messages(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(e["body"]) for s in steps for e in s["effects"]
            if e["kind"] == "message" and e["topic"] == "ChatTopic"]


def run(world: World, tmp_path: Path, name: str, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"world": pipeline_world() if name == "waiting" else [], "steps": steps}))
    replayer = Replayer(world)
    scenario = load(path)
    replayer.check(scenario)
    return replayer.run(scenario)


def event_at(relative: str, at: str, **detail: Any) -> dict[str, Any]:
    event = sample(relative, **{"execution-id": RUN} | detail)
    event["time"] = at
    return event


@pytest.fixture
def world() -> Any:
    world = World(parameters={"QDeveloperApprovalActions": "enabled"})
    world.start()
    yield world
    world.stop()


def waiting(world: World, tmp_path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """payments-api waits at Approve/ProdGate; returns the story's steps and its approval.needed chat message."""
    steps = run(world, tmp_path, "waiting", [{"event": started()}, {"event": approval_started()}])
    (needed,) = [m for m in chat_messages(steps) if m["metadata"]["eventType"] == "approval.needed"]
    return steps, needed


def decide(world: World, tmp_path: Path, status: str) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """The person clicks the button for `status`; CodePipeline's events follow. Returns every step, the
    approval.needed chat message, and the command Q Developer ran."""
    steps, needed = waiting(world, tmp_path)
    action = custom_actions(world)[ACTION_OF[status]]
    (attachment,) = action["Attachments"]
    assert shown(attachment, needed)
    cli = command(action, needed)
    params, region = put_approval_result(cli)
    as_person(world, PERSON[status], region).put_approval_result(**params)
    action_state, pipeline_outcome = OUTCOME[status]
    later = run(world, tmp_path, "decided", [
        {"event": event_at("codepipeline/action-succeeded-approval.json", "2026-11-27T09:30:00Z", state=action_state,
                           **{"execution-result": {"external-execution-summary": SUMMARY[status]}})},
        {"event": event_at(f"codepipeline/{pipeline_outcome}", "2026-11-27T09:45:00Z")}])
    return steps + later, needed, cli


# -- (a) the buttons decide the approval, as the person ----------------------------------------------------
@pytest.mark.parametrize("status", ["Approved", "Rejected"])
def test_a_button_decides_the_approval_as_the_person_and_the_ledger_names_them(world, tmp_path, status):
    # Given the stack with Q Developer approval actions, and payments-api waiting at Approve/ProdGate
    # When the person clicks the button: its command, filled from Warden's own chat message, runs with their role
    steps, needed, cli = decide(world, tmp_path, status)

    # Then it was this approval's PutApprovalResult: the pending token, this pipeline, stage, action and region
    state = world.client("codepipeline").get_pipeline_state(name="payments-api")
    gate = next(s for s in state["stageStates"] if s["stageName"] == "Approve")
    (prod_gate,) = gate["actionStates"]
    assert prod_gate["latestExecution"]["status"] == ("Succeeded" if status == "Approved" else "Failed")
    assert prod_gate["latestExecution"]["summary"] == SUMMARY[status]
    assert gate["latestExecution"]["status"] == ("Succeeded" if status == "Approved" else "Failed")
    assert f"--region {REGION}" in cli and "--pipeline-name payments-api --stage-name Approve" in cli

    # And CodePipeline recorded the person's own role session, which the ledger names as the approver
    who = f"arn:aws:sts::{ACCOUNT}:assumed-role/release-approver/{PERSON[status]}"
    runs = world.client("codepipeline").list_action_executions(pipelineName="payments-api")["actionExecutionDetails"]
    assert [r["updatedBy"] for r in runs if r["actionName"] == "ProdGate"] == [who]
    ledger = world.client("dynamodb").get_item(
        TableName=world.physical["LedgerTable"]["Ref"],
        Key={"pk": {"S": f"EXEC#payments-api#{RUN}"}, "sk": {"S": "EXECUTION"}})["Item"]
    decided = ledger["approval:Approve:ProdGate"]["M"]
    assert (decided["by"]["S"], decided["status"]["S"]) == (who, "Succeeded" if status == "Approved" else "Failed")
    assert "partial" not in decided
    # And the team is told who decided (the approval's outcome message)
    told = [e for s in steps for e in s["effects"] if e["kind"] == "message"
            and e["event"] == f"approval.{status.lower()}"]
    assert told and all(f"Decided by: {who}" in e["body"] for e in told)


def test_a_second_click_is_refused_by_codepipeline_and_changes_nothing(world, tmp_path):
    # Given an approval already approved from chat
    _, needed, cli = decide(world, tmp_path, "Approved")
    # When someone clicks Reject on the same message afterwards
    params, region = put_approval_result(command(custom_actions(world)["QDeveloperRejectAction"], needed))
    # Then CodePipeline refuses it (the token is spent) and the approval stays approved
    with pytest.raises(Exception, match="ApprovalAlreadyCompleted"):
        as_person(world, "mallory", region).put_approval_result(**params)
    runs = world.client("codepipeline").list_action_executions(pipelineName="payments-api")["actionExecutionDetails"]
    assert [(r["status"], r["updatedBy"].rsplit("/", 1)[1]) for r in runs if r["actionName"] == "ProdGate"] \
        == [("Succeeded", "alice")]


# -- (b) the buttons show on approval requests only ---------------------------------------------------------
@pytest.mark.parametrize("status", ["Approved", "Rejected"])
def test_b_buttons_show_on_the_approval_request_only(world, tmp_path, status):
    # Given a whole story in chat: the request, then the pipeline's success or failure
    steps, _, _ = decide(world, tmp_path, status)
    messages = chat_messages(steps)
    kinds = [m["metadata"]["eventType"] for m in messages]
    assert "approval.needed" in kinds and ("pipeline.succeeded" if status == "Approved" else "pipeline.failed") in kinds
    # Then each button is attached to the approval request and to nothing else
    for lid, action in custom_actions(world).items():
        (attachment,) = action["Attachments"]
        assert [m["metadata"]["eventType"] for m in messages if shown(attachment, m)] == ["approval.needed"], lid


def test_b_no_buttons_and_no_action_values_when_the_stack_has_no_q_developer_actions(tmp_path):
    # Given the default stack (QDeveloperApprovalActions disabled)
    world = World()
    world.start()
    try:
        # When an approval waits
        _, needed = waiting(world, tmp_path)
        # Then no custom action exists, and its message carries nothing for one
        assert custom_actions(world) == {}
        assert set(needed["metadata"]["additionalContext"]) == {"severity", "account"}
    finally:
        world.stop()


def test_b_template_buttons_are_what_the_references_allow():
    # The documented limits (CloudFormation reference, CustomActionAttachment / CustomActionDefinition)
    actions = default_template().of_type("AWS::Chatbot::CustomAction")
    assert set(actions) == set(ACTION_OF.values())
    for action in (r["Properties"] for r in actions.values()):
        (attachment,) = action["Attachments"]
        assert 1 <= len(action["Definition"]["CommandText"]) <= 5000
        assert 1 <= len(attachment["Variables"]) <= 5 and 1 <= len(attachment["Criteria"]) <= 5
        assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,100}", k) and re.fullmatch(r"[\x21-\x7F]{1,1024}", v)
                   for k, v in attachment["Variables"].items())
        assert {c["VariableName"] for c in attachment["Criteria"]} <= set(attachment["Variables"])
        assert set(VARIABLE.findall(action["Definition"]["CommandText"])) == set(attachment["Variables"])
        assert re.fullmatch(r"[a-zA-Z0-9-]+", attachment["NotificationType"]) and len(attachment["ButtonText"]) <= 50


# -- (c) the token is data for the buttons, not text --------------------------------------------------------
def test_c_the_token_is_not_in_the_shown_text_nor_in_the_logs(world, tmp_path):
    # Given an approval waiting, announced in chat
    _, needed = waiting(world, tmp_path)
    token = needed["metadata"]["additionalContext"]["approvalToken"]
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", token)
    # Then the text people read (title, description, keywords, link labels) does not hold it
    content = needed["content"]
    shown_text = [content["title"], content["description"], *content["keywords"],
                  *(re.sub(r"^<[^|>]*\|(.*)>$", r"\1", step) for step in content["nextSteps"])]
    assert not [text for text in shown_text if token in text]
    # And the only other place is the Review link's address, CodePipeline's own approval link
    links = [step for step in content["nextSteps"] if token in step]
    assert [re.sub(r"^<([^|>]*)\|.*$", r"\1", step).split("/approve/")[1] for step in links] == [token]
    assert [label.rsplit("|", 1)[1] for label in links] == ["Review>"]
    # And no function logged it
    assert token not in world.logs.getvalue()
