"""Pipelines of workload accounts: their events reach Warden with their own `account`.

Without a read role (the default), Warden works from the events alone: approvals keep escalating
(never silently resolved against whatever the tools account holds), pages go out without an
enrichment attempt, ledger records are not partial. With `WorkloadReadRoleName`, Warden reads the
workload account's CodePipeline through that role. Everything is observed in the embedded world,
where the workload account is a separate moto account (222233334444) beside the tools account.
"""

import copy
import json
import uuid
from datetime import timedelta

import boto3
import jsonschema
import pytest

from tests.helpers import DEMO, EVENTS, SCHEMA, effects, sample, without_quiet_digest_mark, write_scenario
from tests.integration.ledger.test_ledger import PIPELINE_EVENT, STAGE_EVENT, trigger
from tests.integration.ledger.test_ledger import at as at_hour
from tests.integration.ledger.test_ledger import event as ledger_event
from warden.core import clock
from warden.ledger.dora import dora
from warden.ledger.view import LedgerReader
from warden_local import fakes
from warden_local.replay import replay
from warden_local.world import ACCOUNT, REGION, World

WORKLOAD = "222233334444"
READ_ROLE = "pipeline-warden-read"
OWN_RUN = "8f14e45f-ceea-467a-9a36-dedd4bea2543"  # the samples' execution
WORKLOAD_RUN = "c0ffee00-1111-4222-8333-444455556666"
FAILED_RUN = "3c9b2f7e-8d41-4a6e-b0f2-5e7a1c9d4b36"  # the failure samples' execution
TOKEN = "0f8d3e2a-6b1c-4d7e-9a5f-3c2b1e0d9f8a"  # the sample approval message's token
SCENARIOS = EVENTS / "scenarios"


def in_workload(event: dict, **detail) -> dict:
    """The same event, as a workload account forwards it: its `account` (and ARNs) are that account's."""
    event = json.loads(json.dumps(event).replace(ACCOUNT, WORKLOAD))
    event["id"] = str(uuid.uuid4())
    event["detail"].update(detail)
    return event


def at(event: dict, when: str) -> dict:
    event["time"] = when
    return event


def started(execution: str, when: str) -> dict:
    return at(sample("codepipeline/pipeline-started.json", **{"execution-id": execution}), when)


def approval(state: str, execution: str, when: str) -> dict:
    name = "started" if state == "STARTED" else "succeeded"
    return at(sample(f"codepipeline/action-{name}-approval.json", state=state, **{"execution-id": execution}), when)


def payments_pipeline(account: str) -> dict:
    """payments-api with a build and a manual approval (Source, Build, Approve, Deploy-Prod)."""
    [pipeline] = [c["params"]["pipeline"] for c in json.loads((SCENARIOS / "approval-escalation.json").read_text())
                  ["world"] if c["call"] == "codepipeline:CreatePipeline"]
    [build] = [s for c in DEMO["world"] if c["call"] == "codepipeline:CreatePipeline"
               for s in c["params"]["pipeline"]["stages"] if s["name"] == "Build"]
    pipeline = copy.deepcopy(pipeline)
    pipeline["stages"].insert(1, copy.deepcopy(build))
    pipeline["stages"][1]["actions"][0]["inputArtifacts"] = [{"name": "src"}]
    pipeline["roleArn"] = f"arn:aws:iam::{account}:role/pipelines"
    pipeline["artifactStore"]["location"] = f"payments-api-artifacts-{account}"
    if account != ACCOUNT:  # a workload account's approvals do not publish to the tools account's topic
        pipeline["stages"][2]["actions"][0]["configuration"].pop("NotificationArn")
    return pipeline


def own_world() -> list[dict]:
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "codepipeline.amazonaws.com"}}]}
    return [{"call": "iam:CreateRole", "params": {"RoleName": "pipelines",
                                                  "AssumeRolePolicyDocument": json.dumps(trust)}},
            {"call": "codepipeline:CreatePipeline", "params": {"pipeline": payments_pipeline(ACCOUNT)}}]


def workload_account(world: World) -> boto3.session.Session:
    """The workload account, set up as its owners would: the pipeline, and Warden's read role."""
    creds = world.client("sts").assume_role(RoleArn=f"arn:aws:iam::{WORKLOAD}:role/OrganizationAccountAccessRole",
                                            RoleSessionName="setup")["Credentials"]
    session = boto3.session.Session(aws_access_key_id=creds["AccessKeyId"], region_name=REGION,
                                    aws_secret_access_key=creds["SecretAccessKey"],
                                    aws_session_token=creds["SessionToken"])
    iam = session.client("iam")
    service = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                       "Principal": {"Service": "codepipeline.amazonaws.com"}}]}
    iam.create_role(RoleName="pipelines", AssumeRolePolicyDocument=json.dumps(service))
    warden = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/pipeline-warden-*"}}}]}
    iam.create_role(RoleName=READ_ROLE, AssumeRolePolicyDocument=json.dumps(warden))
    iam.put_role_policy(RoleName=READ_ROLE, PolicyName="read-pipelines", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "codepipeline:GetPipelineState", "codepipeline:GetPipelineExecution",
            "codepipeline:ListActionExecutions", "codepipeline:GetPipeline"]}]}))
    session.client("codepipeline").create_pipeline(pipeline=payments_pipeline(WORKLOAD))
    return session


@pytest.fixture
def reading_world():
    """A stack deployed with WorkloadReadRoleName, and a workload account that provides the role."""
    with World(parameters={"WorkloadReadRoleName": READ_ROLE}) as world:
        world.workload = workload_account(world)
        yield world


def approval_items(doc: dict) -> dict[str, dict]:
    return {i["pk"]: i for i in doc["tables"]["StateTable"] if i["pk"].startswith("approval#")}


def log_messages(world: World) -> list[str]:
    return [json.loads(line).get("message", "") for line in world.logs.getvalue().splitlines()
            if line.startswith("{")]


# -- approvals ------------------------------------------------------------------------------------
def test_a_workload_approval_escalates_instead_of_being_resolved_against_the_tools_account(tmp_path, world):
    """No read role: a same-named pipeline in the tools account must neither swallow nor merge it."""
    steps = [
        {"event": started(OWN_RUN, "2026-11-27T09:00:02Z")},
        # The message first: its token is the pending one (a message after the action's STARTED event
        # carries the token CodePipeline issued then, tests/integration/approvals/test_approvals.py).
        {"at": "2026-11-27T09:06:49Z", "event": json.loads((EVENTS / "approval-sns" / "approval-message.json")
                                                            .read_text())},
        {"event": approval("STARTED", OWN_RUN, "2026-11-27T09:06:49Z")},
        {"event": in_workload(started(WORKLOAD_RUN, "2026-11-27T09:00:02Z"))},
        {"event": in_workload(approval("STARTED", WORKLOAD_RUN, "2026-11-27T09:06:49Z"))},
        {"at": "2026-11-27T11:10:00Z", "schedule": "ApprovalEscalator"},
        {"at": "2026-11-27T13:10:00Z", "schedule": "ApprovalEscalator"},
        {"at": "2026-11-27T17:10:00Z", "schedule": "ApprovalEscalator"},
        {"event": approval("SUCCEEDED", OWN_RUN, "2026-11-27T17:20:00Z")},
        # A week on, CodePipeline has failed the workload approval: it stops counting as pending.
        {"at": "2026-12-04T09:10:00Z", "schedule": "ApprovalEscalator"},
    ]
    doc = replay([write_scenario(tmp_path, steps, world=own_world())], world=world)
    jsonschema.validate(doc, SCHEMA)

    def told(step: int) -> list[tuple[str, str, str]]:
        return sorted((e["event"], e["topic"], e["attributes"]["account"]) for e in doc["steps"][step]["effects"]
                      if e["kind"] == "message")

    assert told(1) == [("approval.needed", "ApproversTopic", ACCOUNT), ("approval.needed", "ChatTopic", ACCOUNT)]
    assert told(2) == []  # the action's event merges into the approval its message recorded
    assert told(4) == [("approval.needed", "ApproversTopic", WORKLOAD), ("approval.needed", "ChatTopic", WORKLOAD)]
    assert told(5) == []
    # 4 h: both are reminded; the workload one from what is tracked, since CodePipeline cannot be asked.
    assert told(6) == [("approval.escalated", "ApproversTopic", ACCOUNT),
                       ("approval.escalated", "ApproversTopic", WORKLOAD)]
    assert [e for e in doc["steps"][6]["effects"] if e["kind"] == "item" and e["item"].get("status") == "reconciled"] \
        == []
    # 8 h: team and on-call, with a page each.
    assert told(7) == sorted([("approval.escalated", t, a) for t in ("OnCallTopic", "TeamTopic")
                              for a in (ACCOUNT, WORKLOAD)])
    pages = effects(doc, "page", action="trigger")
    assert len(pages) == 2 and len({p["dedup_key"] for p in pages}) == 2
    items = approval_items(doc)
    own, workload = (items[f"approval#{ACCOUNT}#{REGION}#payments-api"],
                     items[f"approval#{WORKLOAD}#{REGION}#payments-api"])
    assert (own["status"], own["token"], own["execution_id"]) == ("approved", TOKEN, OWN_RUN)
    # Past its expiry, the workload approval is resolved silently, and its page with it.
    assert (workload["status"], workload["reason"]) == ("reconciled", "past its expiry")
    assert sorted(workload["fired"]) == ["escalate", "remind"] and workload["account"] == WORKLOAD
    # Nothing more of the approvals; the tools account's execution, approved a week ago and never seen to
    # end, is still running as far as the ledger knows: the team hears it is slow.
    assert told(9) == [("pipeline.slow", "TeamTopic", ACCOUNT)]
    [workload_page] = [p for p in pages if WORKLOAD in p["dedup_key"]]
    assert [p["dedup_key"] for p in effects({"steps": [doc["steps"][9]]}, "page", action="resolve")] == [
        workload_page["dedup_key"]]


def test_with_the_read_role_a_workload_approval_given_while_its_event_was_lost_is_reconciled(tmp_path,
                                                                                             reading_world):
    world = reading_world
    steps = [{"event": in_workload(started(WORKLOAD_RUN, "2026-11-27T09:00:02Z"))},
             {"event": in_workload(approval("STARTED", WORKLOAD_RUN, "2026-11-27T09:06:49Z"))}]
    doc = replay([write_scenario(tmp_path, steps, world=[])], world=world)
    [needed] = effects(doc, "message", event="approval.needed", topic="ApproversTopic")
    # GetPipelineState in the workload account gave the token: the review link is the approval's own.
    assert "/pipelines/payments-api/view?region=us-east-1#/Approve/ProdGate/approve/" in needed["body"]
    [item] = approval_items(doc).values()
    assert item["token"] and item["account"] == WORKLOAD
    # Approved in the workload account; the event never reaches Warden.
    fakes.apply_event(in_workload(approval("SUCCEEDED", WORKLOAD_RUN, "2026-11-27T10:00:00Z")))
    sweep = [{"at": "2026-11-27T13:10:00Z", "schedule": "ApprovalEscalator"}]
    doc = replay([write_scenario(tmp_path, sweep, world=[], name="sweep.json")], world=world)
    [sweep] = doc["steps"]
    # no reminder: CodePipeline says it is done
    assert [e["kind"] for e in without_quiet_digest_mark(sweep["effects"])] == ["item"]
    [item] = approval_items(doc).values()
    assert (item["status"], item["reason"]) == ("reconciled", "not pending in CodePipeline")


# -- pages ----------------------------------------------------------------------------------------
def test_a_workload_failure_pages_without_an_enrichment_attempt(tmp_path, world):
    replay([write_scenario(tmp_path, [], world=own_world())], world=world)
    # The tools account has a same-named pipeline whose run failed with another error.
    fakes.apply_event(sample("codepipeline/action-failed-build.json"))
    doc = replay([write_scenario(tmp_path, [{"event": in_workload(sample("codepipeline/pipeline-failed.json"))}],
                                 world=[])], world=world)
    [page] = effects(doc, "page", action="trigger")
    assert page["dedup_key"] == f"pipeline-warden/{WORKLOAD}/{REGION}/pipeline/payments-api"
    assert "COMMAND_EXECUTION_ERROR" not in page["summary"]  # nothing borrowed from the tools account
    [message] = effects(doc, "message", topic="OnCallTopic")
    assert message["attributes"]["account"] == WORKLOAD
    assert effects(doc, "dead_letter") == []
    assert not [m for m in log_messages(world) if "could not list action executions" in m]


def test_with_the_read_role_a_workload_failure_page_names_the_failed_action_of_that_account(tmp_path,
                                                                                            reading_world):
    world = reading_world
    # Only the workload account's CodePipeline knows which action failed, and why.
    fakes.apply_event(in_workload(sample("codepipeline/action-failed-build.json")))
    steps = [{"event": in_workload(sample("codepipeline/pipeline-failed.json"))}]
    doc = replay([write_scenario(tmp_path, steps, world=[])], world=world)
    [page] = world.pagerduty.events
    assert "COMMAND_EXECUTION_ERROR" in page["payload"]["summary"] and page["payload"]["component"] == "Build"
    [message] = effects(doc, "message", topic="OnCallTopic")
    assert "Action: Compile" in message["body"]


# -- ledger ---------------------------------------------------------------------------------------
def manual_start(execution: str) -> dict:
    """A STARTED event without an execution trigger: the commit and author must be read from CodePipeline."""
    event = started(execution, "2026-11-27T09:00:00Z")
    del event["detail"]["execution-trigger"]
    return event


def ledger_record(world: World, execution: str) -> dict:
    [record] = [i for i in world.table_items("LedgerTable") if i.get("execution_id") == execution
                and i["sk"] == "EXECUTION"]
    return record


def test_a_workload_ledger_record_without_the_read_role_is_from_the_event_not_partial(world):
    world.set_time(clock.parse_iso("2026-11-27T09:00:00Z"))
    outcome = world.invoke("DeploymentTracker", in_workload(manual_start(WORKLOAD_RUN)))
    assert (outcome.error, outcome.result["status"], outcome.result["partial"]) == (None, "recorded", False)
    record = ledger_record(world, WORKLOAD_RUN)
    assert (record["account"], record["status"], record["enrichment"]) == (WORKLOAD, "STARTED", "event")
    assert "partial_reason" not in record
    # Its approval, with no approver to read, is kept as the event says, not marked partial.
    decided = in_workload(approval("SUCCEEDED", WORKLOAD_RUN, "2026-11-27T10:00:00Z"))
    assert world.invoke("DeploymentTracker", decided).result["partial"] is False
    [kept] = [v for k, v in ledger_record(world, WORKLOAD_RUN).items() if k.startswith("approval:")]
    assert kept["status"] == "SUCCEEDED" and "partial" not in kept


def test_with_the_read_role_a_workload_ledger_record_is_enriched_from_that_account(reading_world):
    world = reading_world
    event = in_workload(manual_start(WORKLOAD_RUN))
    fakes.apply_event(event)
    world.set_time(clock.parse_iso("2026-11-27T09:00:00Z"))
    outcome = world.invoke("DeploymentTracker", event)
    assert (outcome.error, outcome.result["status"], outcome.result["partial"]) == (None, "recorded", False)
    record = ledger_record(world, WORKLOAD_RUN)
    # GetPipelineExecution in the workload account: the execution was started by hand there.
    assert (record["account"], record["enrichment"], record["trigger_type"]) == (
        WORKLOAD, "api", "StartPipelineExecution")
    # Someone in the workload account approves; the approver is read from that account's CodePipeline.
    fakes.apply_event(in_workload(approval("STARTED", WORKLOAD_RUN, "2026-11-27T09:06:49Z")))
    pipelines = world.workload.client("codepipeline")
    [stage] = [s for s in pipelines.get_pipeline_state(name="payments-api")["stageStates"]
               if s["stageName"] == "Approve"]
    pipelines.put_approval_result(pipelineName="payments-api", stageName="Approve", actionName="ProdGate",
                                  token=stage["actionStates"][0]["latestExecution"]["token"],
                                  result={"status": "Approved", "summary": "Looks good"})
    decided = in_workload(approval("SUCCEEDED", WORKLOAD_RUN, "2026-11-27T10:00:00Z"))
    assert world.invoke("DeploymentTracker", decided).result["partial"] is False
    [kept] = [v for k, v in ledger_record(world, WORKLOAD_RUN).items() if k.startswith("approval:")]
    assert kept["by"] == f"arn:aws:sts::{WORKLOAD}:assumed-role/OrganizationAccountAccessRole/setup"


# -- same-named pipelines in two accounts, kept apart in the ledger --------------------------------
# payments-api runs in the tools account and in the workload account (no read role: production is the
# `ledger` configuration's Deploy-Prod). In time order:
#   workload  wl-deploy  commit W (authored 08:30), Deploy-Prod succeeds 10:00
#   tools     own-deploy commit O (authored 08:00), Deploy-Prod succeeds 10:40
#   workload  wl-fail    commit X, Deploy-Prod fails 11:20 (still failing at the end)
# Kept apart: each account's Deploy-Prod runs its own commit, and the 11:20 failure counts against the
# workload deployment, not the tools account's later one (as it would if the pipelines were one).
OWN_SHA, WL_SHA, FAIL_SHA = "0a" * 20, "1b" * 20, "2c" * 20
REF = f"{WORKLOAD}/payments-api"
PRODUCTION = {"ledger": {"production": [{"pipelines": ["payments-*"], "stages": ["Deploy-Prod"]}]}}


def _run(account: str, execution: str, sha: str, authored: str, hour: int, prod: tuple[str, str],
         outcome: str = "SUCCEEDED") -> list[dict]:
    def the(event: dict) -> dict:
        return in_workload(event) if account == WORKLOAD else event

    facts = trigger(sha, "Dana Dev" if account == WORKLOAD else "Olga Dev", authored)
    return [the(ledger_event(PIPELINE_EVENT, execution, "STARTED", f"{hour:02d}:00:00", **facts)),
            the(ledger_event(STAGE_EVENT, execution, "STARTED", prod[0], stage="Deploy-Prod")),
            the(ledger_event(STAGE_EVENT, execution, outcome, prod[1], stage="Deploy-Prod")),
            the(ledger_event(PIPELINE_EVENT, execution, outcome, prod[1][:-2] + "30", **facts))]


def two_accounts_scenario(tmp_path) -> str:
    events = [*_run(WORKLOAD, "wl-deploy", WL_SHA, "08:30:00", 9, ("09:50:00", "10:00:00")),
              *_run(ACCOUNT, "own-deploy", OWN_SHA, "08:00:00", 10, ("10:30:00", "10:40:00")),
              *_run(WORKLOAD, "wl-fail", FAIL_SHA, "10:45:00", 11, ("11:10:00", "11:20:00"), outcome="FAILED")]
    events.sort(key=lambda e: e["time"])
    return write_scenario(tmp_path, [{"event": e} for e in events], config=PRODUCTION, world=own_world())


def test_same_named_pipelines_of_two_accounts_keep_their_own_deployments_histories_and_dora(tmp_path, world):
    replay([two_accounts_scenario(tmp_path)], world=world)
    ledger = LedgerReader(world.client("dynamodb"), world.physical["LedgerTable"]["TableName"], ACCOUNT)

    current = {(c["pipeline"], c["stage"]): c for c in ledger.current().items}
    own, workload = current[("payments-api", "Deploy-Prod")], current[(REF, "Deploy-Prod")]
    assert (own["commit_id"], own["execution_id"], own["deployed_at"]) == (OWN_SHA, "own-deploy", at_hour("10:40:00"))
    assert "failed_since" not in own  # the workload's failure is not the tools account's
    assert (workload["commit_id"], workload["failed_since"], workload["failed_execution"]) == (
        WL_SHA, at_hour("11:20:00"), "wl-fail")
    assert (workload["pipeline_name"], workload["account"]) == ("payments-api", WORKLOAD)
    # The tools account's pipeline keeps its name as its ref (the keys of a single-account install).
    assert {i["pk"] for i in world.table_items("LedgerTable") if i["sk"] == "STAGE#Deploy-Prod"} == {
        "CURRENT#payments-api", f"CURRENT#{REF}"}

    assert [r["execution_id"] for r in ledger.history("payments-api").items] == ["own-deploy"]
    assert [r["execution_id"] for r in ledger.history(f"{ACCOUNT}/payments-api").items] == ["own-deploy"]
    workload_runs = ledger.history(REF).items
    assert [(r["execution_id"], r["status"], r["pipeline"]) for r in workload_runs] == [
        ("wl-fail", "FAILED", REF), ("wl-deploy", "SUCCEEDED", REF)]
    # The items keep the plain name and the account beside the ref.
    stored = {i["execution_id"]: i for i in world.table_items("LedgerTable") if i["sk"] == "EXECUTION"}
    assert {(i["pipeline"], i["account"], i["pipeline_ref"]) for i in stored.values()} == {
        ("payments-api", ACCOUNT, "payments-api"), ("payments-api", WORKLOAD, REF)}

    end = clock.parse_iso(at_hour("12:00:00"))
    start = end - timedelta(days=1)
    figures = dora(ledger.for_dora(start, end).items, start=start, end=end, window_hours=24)
    # The workload's second execution failed in production: a deployment of its own, the one that failed.
    assert figures["deployments"] == 3 and figures["failed_deployments"] == ["wl-fail"]
    assert figures["time_to_restore_seconds"]["open"] == 1
    mine, theirs = figures["pipelines"]["payments-api"], figures["pipelines"][REF]
    assert (mine["deployments"], mine["change_failure_rate"], mine["time_to_restore_seconds"]["open"]) == (1, 0, 0)
    assert mine["lead_time_seconds"]["p50"] == 9600  # 08:00 -> 10:40
    assert (theirs["deployments"], theirs["change_failure_rate"], theirs["failed_deployments"]) == (
        2, 0.5, ["wl-fail"])
    assert theirs["lead_time_seconds"]["p50"] == 5400 and theirs["time_to_restore_seconds"]["open"] == 1


def test_cli_names_a_workload_pipeline_by_account_and_name(warden_cli, tmp_path):
    scenario = two_accounts_scenario(tmp_path)
    run = warden_cli("ledger", "history", REF, "--json", "--replay", scenario)
    assert run.returncode == 0, run.stderr
    assert [(r["execution_id"], r["pipeline"], r["account"]) for r in json.loads(run.stdout)] == [
        ("wl-fail", REF, WORKLOAD), ("wl-deploy", REF, WORKLOAD)]
    table = warden_cli("ledger", "current", "--replay", scenario).stdout
    # Grouped by pipeline: its name on a line of its own, its stages under it (the production one marked *),
    # a row's note on the line below the row.
    prod: dict[str, str] = {}
    pipeline = None
    for line in table.splitlines()[1:]:
        if line and not line.startswith(" "):
            pipeline = line
        elif line.startswith("  Deploy-Prod *"):
            prod[pipeline] = line
        elif line.startswith("    ↳") and pipeline in prod:
            prod[pipeline] += line
    assert sorted(prod) == sorted(["payments-api", REF])
    assert OWN_SHA[:7] in prod["payments-api"] and "failing since" not in prod["payments-api"]
    assert WL_SHA[:7] in prod[REF] and "failing since 2026-11-27T11:20:00Z" in prod[REF]
    run = warden_cli("ledger", "dora", "--days", "1", "--until", at_hour("12:00:00"), "--json", "--replay", scenario)
    per_pipeline = json.loads(run.stdout)["pipelines"]
    assert {ref: p["change_failure_rate"] for ref, p in per_pipeline.items()} == {"payments-api": 0, REF: 0.5}


# -- the client picker ----------------------------------------------------------------------------
def test_the_gateway_reads_each_account_and_region_where_it_can(world):
    from warden.aws.clients import RETRIES, Clients
    from warden.aws.codepipeline import CodePipelineGateway, Unknown

    workload_account(world)
    clients = Clients(world.session)
    reads = CodePipelineGateway(clients, own_account=ACCOUNT, own_region=REGION, role_name=READ_ROLE)
    own = reads.client(ACCOUNT, REGION)
    assert reads.client("", "") is own and reads.client(ACCOUNT, REGION) is own  # once per (account, region)
    assert own.list_pipelines()["pipelines"] == []  # payments-api is the workload account's
    workload = reads.client(WORKLOAD, REGION)
    assert [p["name"] for p in workload.list_pipelines()["pipelines"]] == ["payments-api"]
    assert reads.client(WORKLOAD, REGION) is workload
    assert reads.client(WORKLOAD, "us-east-2").meta.region_name == "us-east-2"
    assert workload.meta.config.retries["mode"] == RETRIES["mode"]
    # In the workload account payments-api reads; in the tools account it is unknown, never "no pipeline".
    assert reads.definition(WORKLOAD, REGION, "payments-api")["name"] == "payments-api"
    missing = reads.state(ACCOUNT, REGION, "payments-api")
    assert isinstance(missing, Unknown) and missing.code == "not_found" and "payments-api" in missing.reason
    no_role = CodePipelineGateway(clients, own_account=ACCOUNT).state(WORKLOAD, REGION, "payments-api")
    assert isinstance(no_role, Unknown) and no_role.code == "no_role"


def test_a_read_role_that_fails_does_not_stop_escalation(tmp_path, world):
    """AssumeRole or the read refused in the workload account: the approval escalates from what is tracked."""
    from botocore.stub import Stubber

    from warden.approvals.escalator import ApprovalEscalator
    from warden.approvals.store import Approvals
    from warden.aws.clients import Clients
    from warden.aws.codepipeline import CodePipelineGateway
    from warden.notify.notifier import Notifier
    from warden.notify.sns import Publisher
    from warden.runtime.documents import ConfigStore

    steps = [{"event": in_workload(started(WORKLOAD_RUN, "2026-11-27T09:00:02Z"))},
             {"event": in_workload(approval("STARTED", WORKLOAD_RUN, "2026-11-27T09:06:49Z"))}]
    replay([write_scenario(tmp_path, steps, world=[])], world=world)
    refused = world.client("codepipeline")
    stub = Stubber(refused)
    stub.add_client_error("get_pipeline_state", "AccessDenied", "not authorized to perform sts:AssumeRole", 403)
    stub.activate()
    env = world.environment(world.functions["ApprovalEscalator"])
    store = Approvals(world.client("dynamodb"), env["STATE_TABLE"])
    topics = {a: env[f"{a.upper()}_TOPIC_ARN"] for a in ("oncall", "approvers", "team", "chat")}
    notifier = Notifier(publisher=Publisher(world.client("sns"), topics), pagerduty=None,
                        config=ConfigStore(world.client("ssm"), env["WARDEN_CONFIG_PREFIX"]))
    reads = CodePipelineGateway(Clients(world.session), own_account=ACCOUNT, own_region=REGION, role_name=READ_ROLE)
    reads._made[(WORKLOAD, REGION)] = refused  # the workload client, refused as AssumeRole refuses it
    escalator = ApprovalEscalator(approvals=store, codepipeline=reads, notifier=notifier, config=notifier._config)
    world.set_time(clock.parse_iso("2026-11-27T13:10:00Z"))
    mark = world.begin()
    result = escalator.sweep(str(uuid.uuid4()))
    assert result["reconciled"] == [] and result["pending"] == 1
    [reminder] = [e for e in world.effects(mark) if e["kind"] == "message"]
    assert (reminder["topic"], reminder["event"]) == ("ApproversTopic", "approval.escalated")
    assert "could not confirm" in reminder["body"] and "AccessDenied" in reminder["body"]
    [item] = [i for i in world.table_items("StateTable") if i["pk"].startswith("approval#")]
    assert item["status"] == "pending" and sorted(item["fired"]) == ["remind"]
