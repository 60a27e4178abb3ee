"""`make demo` tells the story (issue 29): one line per thing a person would notice, at 100 columns, steps
named in words, set-up calls folded, every unrouted input explained, a closing summary; bookkeeping only with
--verbose; `--show CHANNEL` prints what a channel receives; the README's excerpt is the real output."""

import os
import re

import pytest

from tests.helpers import ROOT
from warden_local import demo
from warden_local.channels import StepError, show
from warden_local.replay import replay
from warden_local.story import describe, short_principal
from warden_local.timeline import render


@pytest.fixture(scope="module")
def story():
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return replay([os.path.relpath(demo.STORY)])
    finally:
        os.chdir(cwd)


def test_the_timeline_fits_100_columns_and_ends_with_the_summary(story):
    # Given the bundled story, When it is printed
    text = render(story)
    lines = text.splitlines()
    # Then no line is wider than 100 columns, and it closes with what happened in total
    assert max(len(line) for line in lines) <= 100, [line for line in lines if len(line) > 100]
    summary = lines[lines.index("── summary ──"):]
    assert summary[1:4] == ["  incidents: 3 opened, 3 resolved", "  pages: 3 triggered, 3 resolved",
                            "  messages: approvers 2, chat 6, on-call 4, team 12"]
    assert "  approvals: 1 requested, 2 reminded or escalated, 1 approved, 0 rejected" in summary
    assert "  rollbacks: 1 started, 1 skipped" in summary
    assert "  Slack: 5 post(s), update(s) or dialog(s) by Warden" in summary
    assert any(line.startswith("  changes in AWS: codepipeline 2 call(s) on checkout-api/Deploy, payments-api/Approve; "
                               "s3 5 call(s)")
               for line in summary)
    assert summary[-1] == "  dead letters: none"


def test_steps_are_named_in_words_and_bookkeeping_needs_verbose(story):
    text = render(story)
    assert "#steps[" not in text and "demo.json" not in text
    assert "  2  09:04:10  CodePipeline action payments-api/Build/Compile FAILED → NotificationRouter" in text
    # Warden's own state and idempotency writes are not shown by default, and are with --verbose
    assert "StateTable" not in text
    verbose = render(story, verbose=True)
    assert "▤ StateTable put pipeline-warden/111122223333/us-east-1/pipeline/payments-api incident" in verbose
    assert "LedgerTable: " in verbose.splitlines()[-2]


def test_set_up_calls_fold_into_one_world_line_and_people_are_named(story):
    text = render(story)
    assert text.splitlines()[0].startswith("world: iam:CreateRole ×3, codepipeline:CreatePipeline ×2")
    assert ("14-17  18:00:00  world: kms:CreateKey, s3:CreateBucket, s3:PutBucketEncryption,"
            in text)
    assert "call:kms:CreateKey" not in text
    # A person's call is theirs, shortened to role/session (the full ARN is in --json)
    assert " 23  18:31:00  release-approver/jdoe calls s3:PutBucketPolicy (outside Warden)" in text
    step = story["steps"][22]
    assert step["by"] == "arn:aws:sts::111122223333:assumed-role/release-approver/jdoe"


def test_the_approval_is_asked_clicked_and_told_in_slack_and_the_ledger_names_the_person(story):
    # Given the bundled story, whose stack has a Slack app and whose approvers document allows Maria Garcia
    text = render(story)
    flat = " ".join(text.split())  # as read, across wrapped lines
    # Then the request is posted in the pipeline's channel with its buttons, as text
    assert ("💬 Slack: Warden posted in #payments: Approval needed: payments-api / Approve / ManualApproval "
            "[Approve] [Reject]") in flat
    # and the reminder (4 h) and the escalation (8 h) go in its thread
    assert flat.count("💬 Slack: Warden posted in #payments (in the thread): payments-api: approval at "
                      "Approve/ManualApproval still pending") == 2
    # When Maria clicks Approve and confirms in the dialog
    assert " 11  17:44:30  Slack: Maria Garcia (U0MARIA) clicks Approve on payments-api → ApprovalGateway" in text
    assert "💬 Slack: Warden showed the person a dialog “Approve?”: Approve payments-api / Approve / " \
           "ManualApproval? [Approve] [Cancel]" in flat
    # Then Warden decides it in CodePipeline, and the message is updated for everyone, its buttons gone
    assert ("💬 Slack: Warden updated its message in #payments for everyone (no buttons now): Approved: "
            "payments-api / Approve / ManualApproval by Maria Garcia") in flat
    assert "⚙ Warden changed codepipeline payments-api/Approve: PutApprovalResult" in flat
    [call] = [e for e in story["steps"][10]["effects"] if e.get("api") == "codepipeline:PutApprovalResult"]
    assert call["params"]["result"] == {
        "status": "Approved",
        "summary": "Approved by Maria Garcia (U0MARIA, maria.garcia@example.com) in #payments: "
                   "Canary clean for 8 hours."}
    # and the ledger names her as the approver, not the gateway's role
    assert ("▤ ledger: payments-api run 2a9d7b63 SUCCEEDED (approved by Maria Garcia <maria.garcia@example.com> "
            "(Slack U0MARIA) in #payments)") in flat
    # and the channel, as its readers see it, holds the updated message without buttons
    channel = show(story, "slack", 11)
    assert "Slack (Warden's Slack app, #payments, updated in place)" in channel and "[Approve]" not in channel
    assert "[Approve] [Reject]" in show(story, "slack", 6)


def test_what_warden_changed_says_why_and_every_unrouted_input_says_why(story):
    text = render(story)
    flat = " ".join(text.split())  # as read, across wrapped lines
    assert ("⚙ Warden changed codepipeline checkout-api/Deploy: RollbackStage to "
            "3c59dc04-8c6e-4b5a-9d1f-000000000a01 why: [CRITICAL] checkout-api: alarm rolls back Deploy" in flat)
    unrouted = [n for n, s in enumerate(story["steps"]) if not s["routed_to"] and not s["input"].startswith("call:")]
    assert unrouted, "the story has an input no route takes (the alarm back to OK)"
    lines = text.splitlines()
    for n in unrouted:
        head = next(i for i, line in enumerate(lines) if line.startswith(f"{n + 1:>3}  "))
        assert lines[head + 1].strip().startswith("not routed: no route in template.yaml accepts this input: ")


def test_the_readme_excerpt_is_the_real_output(story):
    readme = (ROOT / "README.md").read_text()
    assert demo.readme_excerpt(readme) == demo.excerpt(render(story)), "run: make readme-demo"


def test_show_prints_what_each_channel_receives(story):
    email = show(story, "email", 2)
    assert "To: on-call (email subscribers of OnCallTopic)" in email
    assert "Severity: critical" in email and "Runbook: docs/runbooks/pipeline-failure.md" in email
    page = show(story, "pagerduty", 2)
    assert "dedup_key: pipeline-warden/111122223333/us-east-1/pipeline/payments-api" in page
    assert "  runbook: docs/runbooks/pipeline-failure.md (in the Pipeline Warden repository)" in page
    slack = show(story, "slack", 2)
    assert ":rotating_light: payments-api: Build/Compile failed" in slack and "Next steps:" in slack
    assert "nothing reaches slack at this step" in show(story, "slack", 1)
    with pytest.raises(StepError, match="--step 99: the story has steps 1 to 34"):
        show(story, "email", 99)


def test_effects_and_steps_of_kinds_it_does_not_know_are_still_told_and_counted():
    # Given a story with a step kind and an effect kind the renderer has never seen (a Slack approval click)
    doc = {"steps": [{"input": "x", "at": "2026-11-27T09:00:00Z", "what": "Slack: maria.garcia clicks Approve",
                      "routed_to": ["SlackApprovals"],
                      "effects": [{"kind": "approval_click", "user": "maria.garcia", "decision": "Approve"}]}],
           "tables": {}, "buckets": {}}
    text = render(doc)
    assert "  1  09:00:00  Slack: maria.garcia clicks Approve → SlackApprovals" in text
    assert '· approval_click: {"decision": "Approve", "user": "maria.garcia"}' in text
    assert "  other effects: approval_click 1" in text


@pytest.mark.parametrize(("arn", "short"), [
    ("arn:aws:sts::111122223333:assumed-role/release-approver/maria.garcia", "release-approver/maria.garcia"),
    ("arn:aws:iam::111122223333:user/jdoe", "user/jdoe"),
    ("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admins_0f1e2d3c4b5a6978/ana@example.com", "Admins/ana"),
    ("arn:aws:iam::111122223333:role/team/deployers/ci", "role/ci"),
    ("Ana Souza", "Ana Souza"),
    ("Maria Garcia <maria.garcia@example.com> (Slack U0MARIA) in #payments", "Maria Garcia (Slack U0MARIA)"),
    (None, ""),
])
def test_principals_are_shortened_to_role_and_session(arn, short):
    assert short_principal(arn) == short


def test_inputs_are_described_by_kind():
    assert describe({"detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
                     "account": "222233334444", "detail": {"alarmName": "a", "state": {"value": "ALARM"}}},
                    "111122223333") == "alarm a goes ALARM (account 222233334444)"
    assert describe([1]) == "a JSON list"


def test_every_page_in_the_timeline_names_a_runbook_that_exists(story):
    # Whatever steps the story gains, each page a person sees in `make demo` says where its runbook is
    flat = " ".join(render(story).split())
    pages = flat.count("☎ pages on-call")
    named = re.findall(r"runbook: (docs/runbooks/[a-z-]+\.md)", flat)
    assert pages == 3 and len(named) == pages
    assert all((ROOT / path).is_file() for path in named), named


def test_a_lone_change_made_outside_warden_is_someone_doing_something_not_set_up():
    def call(api, at):
        return {"input": f"call:{api}", "at": f"2026-11-27T{at}Z", "what": f"call: {api}", "routed_to": [],
                "effects": []}

    doc = {"steps": [call("codepipeline:GetPipelineState", "09:00:00"), call("s3:PutBucketPolicy", "10:00:00"),
                     call("kms:CreateKey", "11:00:00"), call("s3:CreateBucket", "11:00:00")],
           "tables": {}, "buckets": {}}
    lines = render(doc).splitlines()
    assert "  1  09:00:00  world: codepipeline:GetPipelineState (outside Warden)" in lines
    assert "  2  10:00:00  someone calls s3:PutBucketPolicy (outside Warden)" in lines
    assert "3-4  11:00:00  world: kms:CreateKey, s3:CreateBucket (outside Warden)" in lines
