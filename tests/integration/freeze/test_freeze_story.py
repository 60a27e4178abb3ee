"""The freeze story (events/scenarios/freeze.json) and break-glass overrides, through the embedded world and the
`warden` CLI: what issue 25 is done by. Given / When / Then."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema

from tests.helpers import ROOT
from warden.core import clock
from warden_local import cli
from warden_local.replay import Replayer, load, replay
from warden_local.world import World

STORY = ROOT / "events" / "scenarios" / "freeze.json"
LOCAL_SCHEMA = json.loads((ROOT / "tests" / "contract" / "replay.schema.json").read_text())
B = "b2000000-0000-4000-8000-000000000002"


def messages(step, event):
    return [e for e in step["effects"] if e["kind"] == "message" and e.get("event") == event]


def calls(step, api):
    return [e["params"] for e in step["effects"] if e["kind"] == "call" and e["api"] == api]


def test_the_freeze_story():
    doc = replay([str(STORY)])
    jsonschema.validate(doc, LOCAL_SCHEMA)
    steps = {s["at"]: s for s in doc["steps"]}
    # Given Berlin's holidays: on Christmas Eve, B is held at Deploy-Prod's entry with the calendar's message
    held = steps["2026-12-24T10:10:00Z"]
    assert held["routed_to"][0] == "DeploymentGate" and "Public holiday in Berlin" in held["note"]
    [failure] = calls(held, "codepipeline:PutJobFailureResult")
    assert "Public holiday in Berlin" in failure["failureDetails"]["message"]
    # the deny failed the stage and B (CodePipeline's FAILED events): the team hears it was held, nobody is paged
    assert [(m["topic"], m["severity"]) for m in messages(held, "deployment.held")] == [("TeamTopic", "info")]
    assert not [e for e in held["effects"] if e["kind"] == "page" or e.get("topic") == "OnCallTopic"]
    # After the holidays it enters (its STARTED happens: the router and the ledger hear of it)
    entered = steps["2026-12-28T08:00:00Z"]
    assert calls(entered, "codepipeline:PutJobSuccessResult") and "DeploymentTracker" in entered["routed_to"]
    # B fails: the incident freezes production; the team is told once
    frozen = steps["2026-12-28T08:40:00Z"]
    assert "an incident is open" in frozen["note"]
    assert [m["topic"] for m in messages(frozen, "freeze.started")] == ["TeamTopic"]
    # the deny and the notice name the failing stage
    assert "(failed in production stage Deploy-Prod)" in frozen["note"]
    assert "(failed in production stage Deploy-Prod)" in messages(frozen, "freeze.started")[0]["body"]
    # The rollback passes the freeze
    rollback = steps["2026-12-28T08:45:10Z"]
    assert calls(rollback, "codepipeline:PutJobSuccessResult") and "note" not in rollback
    # Once it succeeded, the freeze is lifted (told once) and C enters
    lifted = steps["2026-12-28T09:00:00Z"]
    assert len(messages(lifted, "freeze.lifted")) == 1 and calls(lifted, "codepipeline:PutJobSuccessResult")
    # D fails in Build: on-call is paged for the incident, but only Build failed: production is not frozen
    failed = steps["2026-12-28T10:05:00Z"]
    assert [p["action"] for p in failed["effects"] if p["kind"] == "page"] == ["trigger"]
    # so E, the fix, enters Deploy-Prod (before: held, "an incident is open", until someone broke the glass)
    entered = steps["2026-12-28T10:40:00Z"]
    assert "note" not in entered and calls(entered, "codepipeline:PutJobSuccessResult")
    assert not calls(entered, "codepipeline:PutJobFailureResult")
    # and its success resolves the incident
    recovered = steps["2026-12-28T10:50:05Z"]
    assert [p["action"] for p in recovered["effects"] if p["kind"] == "page"] == ["resolve"]
    told = [m for s in doc["steps"] for m in s["effects"] if m["kind"] == "message"
            and m.get("event") in ("freeze.started", "freeze.lifted")]
    assert [m["event"] for m in told] == ["freeze.started", "freeze.lifted"]


def test_a_named_override_lets_one_execution_through_with_its_reason_in_the_ledger_and_expires():
    scenario = load(STORY)
    with World() as world:
        replayer = Replayer(world)
        replayer._setup(scenario)
        for step in scenario.steps[:6]:  # up to B held on Christmas Eve
            replayer.step(step)
        # When a release manager breaks the glass (who: STS GetCallerIdentity of the caller)
        from warden.runtime.container import Container
        from warden.runtime.settings import Settings

        gate = Container(settings=Settings.of("DeploymentGate", world.environment(
            world.functions["DeploymentGate"]))).deployment_gate
        caller = world.client("sts").get_caller_identity()["Arn"]
        at = datetime(2026, 12, 24, 11, 0, tzinfo=UTC)
        mark = world.begin()
        clock.set_source(lambda: at)
        try:
            gate.grant("payments-api", "Deploy-Prod", by=caller, reason="INC-4711: refunds double-charge hotfix",
                       hours=2, at=at)
        finally:
            clock.set_source(None)
        # Then on-call hears of it as a notice naming who and why
        told = [e for e in world.effects(mark) if e["kind"] == "message" and e.get("event") == "freeze.override"]
        assert sorted(e["topic"] for e in told) == ["OnCallTopic", "TeamTopic"]
        # And B, asking again at 11:30, passes, marked in the ledger with who and why
        again = dict(scenario.steps[5].event, id="b-after-override", time="2026-12-24T11:30:00Z")
        passed = replayer.step(type(scenario.steps[5])(**{**scenario.steps[5].__dict__, "event": again,
                                                          "at": datetime(2026, 12, 24, 11, 30, tzinfo=UTC)}))
        assert "note" not in passed
        from warden.ledger.view import LedgerReader

        reader = LedgerReader(world.client("dynamodb"), world.physical["LedgerTable"]["TableName"], world.account)
        [row] = [r for r in reader.history("payments-api").items if r["execution_id"] == B]
        assert row["freeze_override"]["by"] == caller
        assert row["freeze_override"]["reason"] == "INC-4711: refunds double-charge hotfix"
        from warden_local.ledger_cli import _render  # what `warden ledger history payments-api` prints

        assert "(freeze override by user/moto: INC-4711: refunds double-charge hotfix)" in _render("history", [row])
        # But only that one: another execution during the override is held
        other = dict(again, id="d-started", detail=dict(again["detail"], **{"execution-id": "d4000000-0000-4000-8000-"
                                                                                                  "000000000004"}))
        pipeline_started = dict(scenario.steps[4].event, id="d-pipeline", detail=dict(
            scenario.steps[4].event["detail"], **{"execution-id": other["detail"]["execution-id"]}))
        step = scenario.steps[5]
        replayer.step(type(step)(**{**step.__dict__, "event": pipeline_started,
                                    "at": datetime(2026, 12, 24, 11, 40, tzinfo=UTC)}))
        held = replayer.step(type(step)(**{**step.__dict__, "event": other,
                                           "at": datetime(2026, 12, 24, 11, 45, tzinfo=UTC)}))
        assert "held" in held["note"]
        # And it expires by itself: at 13:00 (two hours on), the stage's status shows no override
        status = gate.status("payments-api", "Deploy-Prod", datetime(2026, 12, 24, 13, 1, tzinfo=UTC))
        assert status["frozen"] and status["override"] is None
        assert gate.status("payments-api", "Deploy-Prod", at)["override"]["by"] == caller


def test_warden_freeze_status_says_what_is_frozen_now_and_next(capsys):
    assert cli.main(["freeze", "status", "--replay", str(STORY), "--pipeline", "payments-api",
                     "--at", "2026-12-25T12:00:00Z"]) == 0
    out = capsys.readouterr().out
    assert "Deploy-Prod" in out and "FROZEN" in out and "Public holiday in Berlin" in out
    assert "2026-12-26T23:00:00Z" in out  # the end of Boxing Day in Berlin
    assert cli.main(["freeze", "status", "--replay", str(STORY), "--json", "--at", "2026-12-20T12:00:00Z"]) == 0
    [row] = [r for r in json.loads(capsys.readouterr().out) if r["stage"] == "Deploy-Prod"]
    assert not row["frozen"] and row["next"] == "2026-12-23T23:00:00Z"


def test_warden_freeze_override_records_the_callers_identity(capsys):
    assert cli.main(["freeze", "override", "--replay", str(STORY), "--pipeline", "payments-api", "--stage",
                     "Deploy-Prod", "--reason", "hotfix", "--for", "1h30m", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["by"].startswith("arn:aws:") and result["reason"] == "hotfix"
    assert cli.main(["freeze", "override", "--replay", str(STORY), "--pipeline", "payments-api", "--stage",
                     "Deploy-Prod", "--reason", "x", "--for", "3d"]) == 2
    assert "at most 12 hours" in capsys.readouterr().err
    assert cli.main(["freeze", "override", "--replay", str(STORY), "--pipeline", "payments-api", "--stage",
                     "Prod", "--reason", "x"]) == 2
    assert "has no stage 'Prod'" in capsys.readouterr().err
