"""The deployment ledger on a replayed story, checked against figures computed by hand.

The story (pipeline payments-api: Source, Build, Approve, Deploy-Prod; production = the last stage):
  A  09:00-10:01  commit a1 (authored 08:00), approved by alice 09:40, Deploy-Prod 09:50-10:00  SUCCEEDED
  B  11:00-11:06  commit b2, Build fails 11:05                                                    FAILED
  C  12:00-13:01  commit c3 (authored 11:30), approved by bob 12:40, Deploy-Prod 12:50-13:00     SUCCEEDED
  R  14:00-14:11  rollback of Deploy-Prod to A (RollbackStage), Deploy-Prod 14:00:30-14:10       SUCCEEDED
By hand: 2 production deployments (A 10:00, C 13:00; the rollback is a restore, not a deployment);
lead times 7200 s and 5400 s (median 6300, p90 7200); C was live when the rollback started, within 24 h of
its end: C failed (rolled back by CodePipeline), change failure rate 1/2; time to restore from C's production
end to the rollback's, 13:00 -> 14:10 = 4200 s.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
import uuid
from datetime import datetime, timedelta

import boto3
import jsonschema
import pytest

from tests.helpers import DEMO, EVENTS, SCHEMA, pipeline_world
from warden.core import clock
from warden.ledger.dora import dora
from warden.ledger.view import LedgerReader
from warden_local import fakes
from warden_local.replay import Replayer, Scenario, replay

PIPELINE = "payments-api"
STAGES = ["Source", "Build", "Approve", "Deploy-Prod"]
A1, B2, C3 = ("a1" * 20, "b2" * 20, "c3" * 20)
ALICE = "arn:aws:sts::111122223333:assumed-role/release-approver/alice"
BOB = "arn:aws:sts::111122223333:assumed-role/release-approver/bob"
PIPELINE_EVENT = "CodePipeline Pipeline Execution State Change"
STAGE_EVENT = "CodePipeline Stage Execution State Change"
ACTION_EVENT = "CodePipeline Action Execution State Change"
APPROVAL_TYPE = {"owner": "AWS", "category": "Approval", "provider": "Manual", "version": "1"}


def at(hhmmss: str) -> str:
    return f"2026-11-27T{hhmmss}Z"


def event(kind: str, execution: str, state: str, when: str, **detail) -> dict:
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": kind, "source": "aws.codepipeline",
            "account": "111122223333", "time": at(when), "region": "us-east-1",
            "resources": [f"arn:aws:codepipeline:us-east-1:111122223333:{PIPELINE}"],
            "detail": {"pipeline": PIPELINE, "execution-id": execution, "state": state, "version": 1,
                       "pipeline-execution-attempt": 1, **detail}}


def trigger(sha: str, author: str, authored: str) -> dict:
    return {"execution-trigger": {"trigger-type": "WebhookV2", "commit-id": sha, "author-display-name": author,
                                  "author-email": f"{author.split()[0].lower()}@example.com",
                                  "author-date": at(authored), "branch-name": "main",
                                  "full-repository-name": "example-org/payments-api"}}


def stage(execution: str, name: str, start: str, end: str, outcome: str = "SUCCEEDED") -> list[dict]:
    return [event(STAGE_EVENT, execution, "STARTED", start, stage=name),
            event(STAGE_EVENT, execution, outcome, end, stage=name)]


def source_revision(execution: str, sha: str, when: str) -> dict:
    # Not a ledger event (only approvals' actions are routed to it): it tells the embedded CodePipeline the revision.
    return event(ACTION_EVENT, execution, "SUCCEEDED", when, stage="Source", action="Source",
                 type={"owner": "AWS", "category": "Source", "provider": "CodeStarSourceConnection", "version": "1"},
                 **{"execution-result": {"external-execution-id": sha}})


def approval(execution: str, state: str, when: str) -> dict:
    return event(ACTION_EVENT, execution, state, when, stage="Approve", action="ManualApproval", type=APPROVAL_TYPE)


def standard_run(execution, sha, author, authored, hour, approver) -> list:
    h = f"{hour:02d}"
    return [event(PIPELINE_EVENT, execution, "STARTED", f"{h}:00:00", **trigger(sha, author, authored)),
            *stage(execution, "Source", f"{h}:00:05", f"{h}:00:31")[:1], source_revision(execution, sha, f"{h}:00:30"),
            stage(execution, "Source", f"{h}:00:05", f"{h}:00:31")[1],
            *stage(execution, "Build", f"{h}:01:00", f"{h}:20:00"),
            event(STAGE_EVENT, execution, "STARTED", f"{h}:21:00", stage="Approve"),
            approval(execution, "STARTED", f"{h}:21:00"),
            ("approve", approver, f"{h}:40:00"),
            approval(execution, "SUCCEEDED", f"{h}:40:00"),
            event(STAGE_EVENT, execution, "SUCCEEDED", f"{h}:40:01", stage="Approve"),
            *stage(execution, "Deploy-Prod", f"{h}:50:00", f"{hour + 1:02d}:00:00"),
            event(PIPELINE_EVENT, execution, "SUCCEEDED", f"{hour + 1:02d}:01:00", **trigger(sha, author, authored))]


def story(rollback_id: str) -> list:
    """Chronological: events, and the API calls people made between them (approvals, the rollback)."""
    rollback_trigger = {"execution-trigger": {"trigger-type": "ManualRollback", "trigger-detail": "operator"},
                        "execution-type": "ROLLBACK",
                        "rollback-metadata": {"rollback-target-pipeline-execution-id": "exec-a"}}
    return [
        *standard_run("exec-a", A1, "Alice Dev", "08:00:00", 9, "alice"),
        event(PIPELINE_EVENT, "exec-b", "STARTED", "11:00:00", **trigger(B2, "Bob Dev", "10:30:00")),
        *stage("exec-b", "Source", "11:00:05", "11:00:30"),
        *stage("exec-b", "Build", "11:01:00", "11:05:00", outcome="FAILED"),
        event(PIPELINE_EVENT, "exec-b", "FAILED", "11:06:00", **trigger(B2, "Bob Dev", "10:30:00")),
        *standard_run("exec-c", C3, "Carol Dev", "11:30:00", 12, "bob"),
        ("rollback", "exec-a", "14:00:00"),
        event(PIPELINE_EVENT, rollback_id, "STARTED", "14:00:00", **rollback_trigger),
        *stage(rollback_id, "Deploy-Prod", "14:00:30", "14:10:00"),
        event(PIPELINE_EVENT, rollback_id, "SUCCEEDED", "14:11:00", **rollback_trigger),
    ]


def as_principal(world, session_name: str):
    creds = world.client("sts").assume_role(RoleArn="arn:aws:iam::111122223333:role/release-approver",
                                            RoleSessionName=session_name)["Credentials"]
    return boto3.client("codepipeline", region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def play(world, *, shuffle: int | None = None, setup: bool = True, tag: str = "") -> str:
    """Make the story happen in the embedded CodePipeline, then deliver its events to the ledger:
    in order, or shuffled with every fourth event delivered twice (same id). Returns the rollback's id.
    `tag` renames the executions, so that one world can hold the story more than once."""
    if setup:
        Replayer(world).run(Scenario("story", world=pipeline_world()))
    codepipeline = world.client("codepipeline")
    rollback_id = "exec-r-pending"
    deliveries = []
    for step in json.loads(json.dumps(story(rollback_id)).replace("exec-", f"exec-{tag}")):
        if isinstance(step, list):
            step = tuple(step)
        if isinstance(step, dict):
            step["detail"]["execution-id"] = step["detail"]["execution-id"].replace(f"exec-{tag}r-pending",
                                                                                    rollback_id)
            fakes.apply_event(step)
            deliveries.append(step)
        elif step[0] == "approve":
            state = codepipeline.get_pipeline_state(name=PIPELINE)
            token = next(a["latestExecution"]["token"] for s in state["stageStates"] if s["stageName"] == "Approve"
                         for a in s["actionStates"])
            as_principal(world, step[1]).put_approval_result(
                pipelineName=PIPELINE, stageName="Approve", actionName="ManualApproval", token=token,
                result={"summary": f"{step[1]} approves", "status": "Approved"})
        else:
            rollback_id = codepipeline.rollback_stage(pipelineName=PIPELINE, stageName="Deploy-Prod",
                                                      targetPipelineExecutionId=step[1])["pipelineExecutionId"]
    routed = [e for e in deliveries
              if e["detail-type"] != ACTION_EVENT or e["detail"]["type"]["category"] == "Approval"]
    if shuffle is not None:
        rng = random.Random(shuffle)
        routed = routed + [copy.deepcopy(e) for e in routed[::4]]
        rng.shuffle(routed)
    for delivery in routed:
        world.set_time(clock.parse_iso(delivery["time"]) + timedelta(minutes=1))
        outcome = world.invoke("DeploymentTracker", delivery)
        assert outcome.error is None, outcome.error
    world.set_time(clock.parse_iso(at("15:00:00")))
    return rollback_id


def reader(world) -> LedgerReader:
    return LedgerReader(world.client("dynamodb"), world.physical["LedgerTable"]["TableName"])


def ledger_state(world) -> list[dict]:
    items = world.table_items("LedgerTable")
    for item in items:  # string sets come back in any order
        for name in ("current_stages", "history"):
            if name in item:
                item[name] = sorted(item[name])
    return sorted(items, key=lambda i: (i["pk"], i["sk"]))


@pytest.fixture
def in_order(world):
    play(world)
    return world


def test_history_newest_first_with_commit_author_approver_and_timings(in_order):
    runs = reader(in_order).history(PIPELINE).items
    assert [(r["status"], r["execution_type"], r["commit_id"]) for r in runs] == [
        ("SUCCEEDED", "ROLLBACK", A1), ("SUCCEEDED", "STANDARD", C3), ("FAILED", "STANDARD", B2),
        ("SUCCEEDED", "STANDARD", A1)]
    rollback, c, b, a = runs
    assert (a["author"], a["author_email"], a["approver"]) == ("Alice Dev", "alice@example.com", ALICE)
    assert a["approvals"][0]["comment"] == "alice approves"
    assert (a["started_at"], a["ended_at"], a["duration_s"]) == (at("09:00:00"), at("10:01:00"), 3660)
    assert a["stages"]["Deploy-Prod"] == {"status": "SUCCEEDED", "started_at": at("09:50:00"),
                                          "ended_at": at("10:00:00"), "duration_s": 600}
    assert [h["state"] for h in a["history"]] == ["STARTED", "SUCCEEDED"]
    assert c["approver"] == BOB
    assert b["stages"]["Build"]["status"] == "FAILED" and "Deploy-Prod" not in b["stages"]
    assert rollback["rollback_target"] == "exec-a" and rollback["enrichment"] == "api"
    assert list(rollback["stages"]) == ["Deploy-Prod"]


def test_approval_time_is_the_events_whenever_the_approver_is_looked_up(in_order):
    # The approvals were given through the API at wall-clock time; the ledger keeps CodePipeline's own
    # time of the outcome (the event's), so a replay or a redelivery on another day records the same.
    a, c = (r for r in reader(in_order).history(PIPELINE).items[::-1] if r["status"] == "SUCCEEDED"
            and r["execution_type"] == "STANDARD")
    assert [x["at"] for x in a["approvals"]] == [at("09:40:00")]
    assert [x["at"] for x in c["approvals"]] == [at("12:40:00")]


def test_current_deployment_per_stage(in_order):
    current = {c["stage"]: c for c in reader(in_order).current().items}
    assert set(current) == set(STAGES)
    prod = current["Deploy-Prod"]
    # The rollback put A's commit back in production; the earlier stages still run C.
    assert (prod["commit_id"], prod["deployed_at"], prod["production"]) == (A1, at("14:10:00"), True)
    # The rollback runs A's release: its author is A's (from the target's record), never C's, and no approver.
    assert prod["execution_type"] == "ROLLBACK" and "approver" not in prod
    assert (prod["author"], prod["release_from"]) == ("Alice Dev", "exec-a")
    assert (current["Approve"]["commit_id"], current["Approve"]["approver"]) == (C3, BOB)
    assert (current["Build"]["author"], current["Build"]["deployed_at"]) == ("Carol Dev", at("12:20:00"))


def test_executions_of_a_commit(in_order):
    found = reader(in_order).by_commit(A1).items
    assert sorted(f["execution_type"] for f in found) == ["ROLLBACK", "STANDARD"]
    assert reader(in_order).by_commit("f" * 40).items == []
    # git's short SHA, or any longer prefix, finds the same executions.
    for prefix in (A1[:7], A1[:12].upper(), A1[:39]):
        assert [f["execution_id"] for f in reader(in_order).by_commit(prefix).items] == [
            f["execution_id"] for f in found], prefix
    assert reader(in_order).by_commit(A1[:7] + "0").items == []


def test_a_short_sha_of_two_commits_is_ambiguous(world):
    from warden.ledger.view import AmbiguousCommit

    play(world)
    twin = A1[:7] + "e" * 33  # another commit starting with the same 7 characters
    started = event(PIPELINE_EVENT, "exec-twin", "STARTED", "16:00:00", **trigger(twin, "Dana Dev", "15:30:00"))
    world.set_time(clock.parse_iso(at("16:01:00")))
    assert world.invoke("DeploymentTracker", started).error is None
    with pytest.raises(AmbiguousCommit, match=f"commit {A1[:7]} is ambiguous: it starts 2 recorded commits"):
        reader(world).by_commit(A1[:7])
    assert [f["execution_id"] for f in reader(world).by_commit(twin[:8]).items] == ["exec-twin"]
    assert len(reader(world).by_commit(A1[:8]).items) == 2


def test_current_never_lacks_the_release_of_a_deployed_stage(world):
    """A rollback execution known only from its stage events (no pipeline event, so nothing enriched it)
    still shows the release it redeployed, from its target's record."""
    rollback_id = play(world)
    table = world.physical["LedgerTable"]["TableName"]
    ddb = world.client("dynamodb")
    key = {"pk": {"S": f"EXEC#{PIPELINE}#{rollback_id}"}, "sk": {"S": "EXECUTION"}}
    ddb.update_item(TableName=table, Key=key, UpdateExpression="REMOVE commit_id, commit_message, author")
    ddb.update_item(TableName=table, Key={"pk": {"S": f"CURRENT#{PIPELINE}"}, "sk": {"S": "STAGE#Deploy-Prod"}},
                    UpdateExpression="REMOVE commit_id, commit_message, author")
    page = reader(world).current()
    prod = next(c for c in page.items if c["stage"] == "Deploy-Prod")
    assert (prod["commit_id"], prod["author"], prod["release_from"]) == (A1, "Alice Dev", "exec-a")
    assert page.queries == 3  # the index, the rollback execution, its target: only for the incomplete row


def test_dora_figures_match_the_hand_computed_ones(in_order):
    end = clock.parse_iso(at("15:00:00"))
    start = end - timedelta(days=1)
    figures = dora(reader(in_order).for_dora(start, end).items, start=start, end=end, window_hours=24)
    assert figures["deployments"] == 2 and figures["deployment_frequency_per_day"] == 2
    assert figures["lead_time_seconds"] == {"count": 2, "missing": 0, "p50": 6300, "p90": 7200}
    assert figures["change_failure_rate"] == 0.5 and figures["failed_deployments"] == ["exec-c"]
    assert figures["failures_by_cause"] == {"rolled_back:codepipeline": 1}
    # From C's production end (13:00: no alarm is known) to the rollback's (14:10).
    assert figures["time_to_restore_seconds"] == {"count": 1, "open": 0, "p50": 4200, "p90": 4200}
    # A half-hour window ends before the rollback started: it is not blamed on C, and says why.
    narrow = dora(reader(in_order).for_dora(start, end).items, start=start, end=end, window_hours=0.5)
    assert narrow["change_failure_rate"] == 0
    assert [u["rollback"] for u in narrow["unattributed_rollbacks"]] != []


@pytest.mark.parametrize("seed", [7, 2026])
def test_shuffled_and_duplicated_delivery_converges_to_the_same_ledger(seed):
    from warden_local.world import World

    states = []
    for shuffle in (None, seed):
        with World() as world:
            rollback_id = play(world, shuffle=shuffle)
            # RollbackStage names the rollback execution afresh in every world: rename, then order by key.
            renamed = json.loads(json.dumps(ledger_state(world)).replace(rollback_id, "ROLLBACK-ID"))
            states.append(sorted(renamed, key=lambda i: (i["pk"], i["sk"])))
    in_order, shuffled = states
    differences = {(a["pk"], a["sk"]): {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
                   for a, b in zip(in_order, shuffled, strict=False) if a != b}
    assert shuffled == in_order, differences


def test_enrichment_failure_leaves_a_partial_record_and_loses_nothing(world):
    # No such pipeline in this account (deleted): GetPipelineExecution fails, the event's facts remain.
    started = event(PIPELINE_EVENT, "exec-gone", "STARTED", "09:00:00")
    started["detail"]["pipeline"] = "deleted-pipeline"
    world.set_time(clock.parse_iso(at("09:00:00")))
    assert world.invoke("DeploymentTracker", started).error is None
    [record] = [i for i in world.table_items("LedgerTable") if i["sk"] == "EXECUTION"]
    assert (record["pipeline"], record["status"], record["enrichment"]) == ("deleted-pipeline", "STARTED", "partial")
    assert "PipelineNotFound" in record["partial_reason"]


def test_replay_document_with_ledger_items_follows_the_contract():
    doc = replay([str(_demo_path())])
    jsonschema.validate(doc, SCHEMA)
    ledger_items = [e for s in doc["steps"] for e in s["effects"]
                    if e["kind"] == "item" and e["table"] == "LedgerTable"]
    assert ledger_items, "the demo writes the ledger"
    executions = [i for i in doc["tables"]["LedgerTable"]
                  if i["sk"] == "EXECUTION" and i.get("pipeline") == "payments-api"]  # the rollback part aside
    assert sorted(i["status"] for i in executions) == ["FAILED", "SUCCEEDED"]


def test_cli_current_and_dora_on_the_demo(warden_cli):
    run = warden_cli("ledger", "current", "--json")
    assert run.returncode == 0, run.stderr
    # The demo's payments-api story (its alarm-rollback part deploys checkout-api).
    current = [c for c in json.loads(run.stdout) if c["pipeline"] == "payments-api"]
    demo_commit = DEMO["steps"][4]["event"]["detail"]["execution-trigger"]["commit-id"]
    assert {c["stage"] for c in current} == set(STAGES)
    assert {(c["commit_id"], c["author"]) for c in current} == {(demo_commit, "Ana Souza")}
    table = warden_cli("ledger", "current").stdout
    assert "Deploy-Prod *" in table and "* a production stage" in table and demo_commit[:7] in table
    run = warden_cli("ledger", "dora", "--days", "1", "--json")
    assert json.loads(run.stdout)["pipelines"]["payments-api"]["deployments"] == 1


@pytest.mark.parametrize(("args", "expected"), [
    (["dora", "--until", "yesterday"], "--until"),
    (["dora", "--days", "0"], "argument --days: must be above 0: '0'"),
    (["dora", "--days", "-3"], "argument --days: must be above 0"),
    (["dora", "--window-hours", "0"], "argument --window-hours: must be above 0"),
    (["history", "payments-api", "--limit", "0"], "argument --limit: must be above 0: '0'"),
    (["history", "payments-api", "--limit", "ten"], "argument --limit: not an integer: 'ten'"),
    (["commit", "c7d8e9"], "a commit is 7 to 40 hexadecimal characters"),
    (["commit", "not-a-sha"], "a commit is 7 to 40 hexadecimal characters"),
    (["current", "--replay", "no/such/file.json"], "no such file"),
    (["dora", "--by", "year"], "argument --by: invalid choice"),
    (["dora", "--explain", "payments-api"], "--explain needs the period"),
    (["dora", "--explain", "payments-api", "--week", "2026-W48", "--day", "2026-11-27"], "not allowed with"),
])
def test_cli_bad_input_is_one_line_and_exit_2(warden_cli, args, expected):
    run = warden_cli("ledger", *args)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("warden: ") and expected in run.stderr, run.stderr


def test_cli_commit_by_short_sha_and_current_without_dashes(warden_cli):
    demo_commit = DEMO["steps"][4]["event"]["detail"]["execution-trigger"]["commit-id"]
    run = warden_cli("ledger", "commit", demo_commit[:7], "--json")
    assert run.returncode == 0, run.stderr
    assert {r["commit_id"] for r in json.loads(run.stdout)} == {demo_commit}
    table = warden_cli("ledger", "current").stdout.splitlines()
    rows = [line.split() for line in table[1:]]
    assert rows and all("-" not in row for row in rows), table  # every deployed stage names its release


def _demo_path():
    from warden_local.demo import STORY

    return STORY


def test_story_is_what_the_docstring_says():
    # Guards the hand computation above against edits of the story itself.
    times = {(e["detail"]["execution-id"], e["detail"].get("stage"), e["detail"]["state"]): e["time"]
             for e in story("exec-r") if isinstance(e, dict) and e["detail-type"] != ACTION_EVENT}
    assert times[("exec-a", "Deploy-Prod", "SUCCEEDED")] == at("10:00:00")
    assert times[("exec-c", "Deploy-Prod", "SUCCEEDED")] == at("13:00:00")
    assert times[("exec-r", "Deploy-Prod", "STARTED")] == at("14:00:30")
    assert datetime.fromisoformat(times[("exec-r", "Deploy-Prod", "SUCCEEDED")]).minute == 10


def test_cli_dora_by_week_writes_a_page_of_charts(warden_cli, tmp_path):
    out = tmp_path / "dora.html"
    run = warden_cli("ledger", "dora", "--by", "week", "--days", "14", "--out", str(out), "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["by"] == "week" and [w["week"] for w in doc["weeks"]][-1] == "2026-W48"
    demo_week = doc["weeks"][-1]
    assert demo_week["deployments"] == 3 and demo_week["partial"]  # the demo's three production deployments
    html = out.read_text()
    assert html.count("<svg") == 4 and "2026-W48" in html and "<script" not in html
    table = warden_cli("ledger", "dora", "--by", "week", "--days", "14").stdout
    assert table.splitlines()[1].split()[:3] == ["WEEK", "SERVICE", "DEPLOYS"]
    assert [line.split()[:4] for line in table.splitlines() if "(all services)" in line][-1] == [
        "2026-W48", "*", "(all", "services)"] and "2026-W48 *  payments-api" in table


# -- issue 27: git facts are written by whoever pushes: cleaned and clipped when stored and when printed --------
ESC = "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07\x1b[2J"  # a terminal hyperlink, a bell, clear-screen
HOSTILE = {"author-display-name": "Mallory" + ESC + "x" * 5000, "author-email": f"m{ESC}@example.com" + "e" * 5000,
           "branch-name": f"main{ESC}" + "b" * 5000, "full-repository-name": f"corp/app{ESC}" + "r" * 5000}
CLIPPED = {"author": 128, "author_email": 254, "branch": 255, "repository": 200}


def _hostile_start(**trigger):
    event = json.loads((EVENTS / "codepipeline" / "pipeline-started-v2-git-push.json").read_text())
    event["detail"]["execution-trigger"].update(trigger)
    return event


def _terminal_safe(text):
    return not any(c in text for c in "\x1b\x07\r\n") and all(c.isprintable() for c in text)


def test_git_facts_with_terminal_escapes_and_5000_characters_are_stored_cleaned_and_clipped(world):
    """Given a V2 git trigger whose author, e-mail, branch and repository carry ESC/BEL terminal escapes and
    5,000 characters (and a tag, on another execution), when DeploymentTracker records it, then the ledger
    item holds each cleaned (no control character) and clipped to its documented limit."""
    Replayer(world).run(Scenario("world", world=pipeline_world()))
    tagged = _hostile_start(**{"tag-name": f"v1{ESC}" + "t" * 5000})
    del tagged["detail"]["execution-trigger"]["branch-name"]
    tagged["detail"]["execution-id"], tagged["id"] = "exec-tagged", str(uuid.uuid4())
    for event in (_hostile_start(**HOSTILE), tagged):
        assert world.invoke("DeploymentTracker", event).result["status"] == "recorded"
    items = {i["execution_id"]: i for i in world.table_items("LedgerTable") if i.get("kind") == "execution"}
    item = items["45c48cce-2e2d-4fbd-a8b0-9f6c4e1d7a52"]
    for name, limit in CLIPPED.items():
        assert _terminal_safe(item[name]) and len(item[name]) == limit and item[name].endswith("…"), name
    assert item["author"].startswith("Mallory]8;;https://evil.example") and "[2J" in item["author"]
    assert _terminal_safe(items["exec-tagged"]["tag"]) and len(items["exec-tagged"]["tag"]) == 255
    current = reader(world).history("payments-api").items
    assert all(_terminal_safe(r.get("author") or "") for r in current)


def test_ledger_history_prints_facts_stored_raw_cleaned_and_clipped(world, capsys, monkeypatch):
    """Given ledger items written raw (before this version, or by hand) with terminal escapes and 5,000
    characters, when `warden ledger history` and `commit` print them, as a table or as JSON, then nothing
    reaches the terminal as control, and each fact is clipped to its limit."""
    from warden.ledger.keys import execution_key
    from warden_local import ledger_cli
    from warden_local.cli import main

    Replayer(world).run(Scenario("world", world=pipeline_world()))
    assert world.invoke("DeploymentTracker", _hostile_start()).error is None
    table = world.physical["LedgerTable"]["TableName"]
    raw = {"author": HOSTILE["author-display-name"], "author_email": HOSTILE["author-email"],
           "branch": HOSTILE["branch-name"], "repository": HOSTILE["full-repository-name"], "tag": f"v{ESC}"}
    names = {f"#{k}": k for k in raw}
    world.client("dynamodb").update_item(
        TableName=table, Key={k: {"S": v} for k, v in execution_key(
            "payments-api", "45c48cce-2e2d-4fbd-a8b0-9f6c4e1d7a52").items()},
        UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in raw), ExpressionAttributeNames=names,
        ExpressionAttributeValues={f":{k}": {"S": v} for k, v in raw.items()})
    stored = next(i for i in world.table_items("LedgerTable") if i.get("kind") == "execution")
    assert stored["author"] == raw["author"]  # the raw item is what the printer gets

    @contextlib.contextmanager
    def this_world(args):
        yield ledger_cli.Source(reader(world), clock.now(), 24.0)

    monkeypatch.setattr(ledger_cli, "_source", this_world)
    for argv in (["ledger", "history", "payments-api"], ["ledger", "commit", "e4d2c0b8a6"]):
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out and "Mallory]8;;https://evil.example" in out
        assert main([*argv, "--json"]) == 0
        [record] = json.loads(capsys.readouterr().out)
        for name, limit in CLIPPED.items():
            assert _terminal_safe(record[name]) and len(record[name]) == limit, name
        assert _terminal_safe(record["tag"])
