"""The automatic freeze counts an incident only when it is about production (the freeze story's world:
payments-api, Source -> Build -> Deploy-Prod behind the gate, `production_stages` Deploy-Prod and Prod*).

A Build failure opens the pipeline's incident (on-call is paged), but the pipeline can only resolve it by
succeeding, through Deploy-Prod: were it to freeze Deploy-Prod, nothing but a break-glass override would ever
lift it. Every failure event records where it failed on the incident (string sets: any order, any number of
deliveries, the same record); the gate freezes for a production stage, a deployment, or a failure whose stage
is unknown, and says which. Given / When / Then."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import ROOT
from warden.core import clock
from warden.notify.incidents import Incidents, incident_key
from warden_local import cli
from warden_local.replay import Replayer, Step, load

STORY = ROOT / "events" / "scenarios" / "freeze.json"
KEY = incident_key(account="111122223333", region="us-east-1", pipeline="payments-api")
ARN = ["arn:aws:codepipeline:us-east-1:111122223333:payments-api"]
D = "d4000000-0000-4000-8000-00000000000d"
E = "e5000000-0000-4000-8000-00000000000e"
F = "f6000000-0000-4000-8000-00000000000f"
T0 = datetime(2026, 12, 28, 10, 0, tzinfo=UTC)


def _event(kind: str, execution: str, state: str, at: datetime, **detail) -> dict:
    stamp = clock.iso(at)
    return {"version": "0", "id": f"{kind.lower()}-{state.lower()}-{execution[:8]}-{detail.get('stage', 'p')}-{stamp}",
            "detail-type": f"CodePipeline {kind} Execution State Change", "source": "aws.codepipeline",
            "account": "111122223333", "time": stamp, "region": "us-east-1", "resources": ARN,
            "detail": {"pipeline": "payments-api", "execution-id": execution, "state": state, "version": 1.0,
                       "pipeline-execution-attempt": 1.0, "start-time": stamp, **detail}}


def started(execution, at):
    return _event("Pipeline", execution, "STARTED", at)


def action_failed(execution, stage, at, action="Compile"):
    return _event("Action", execution, "FAILED", at, stage=stage, action=action, **{
        "action-execution-id": f"{execution[:8]}-{stage}",
        "type": {"owner": "AWS", "provider": "CodeBuild", "category": "Build", "version": "1"},
        "execution-result": {"external-execution-summary": f"{stage} failed: exit status 2",
                             "error-code": "JobFailed"}})


def stage_failed(execution, stage, at):
    return _event("Stage", execution, "FAILED", at, stage=stage)


def pipeline_failed(execution, at):
    return _event("Pipeline", execution, "FAILED", at)


def enters(execution, at):
    """The execution reaches Deploy-Prod: its entry condition asks the gate."""
    return _event("Stage", execution, "STARTED", at, stage="Deploy-Prod")


@pytest.fixture
def story(world):
    """The freeze story's world and configuration, no step taken: (replayer, deliver(event) -> step result)."""
    replayer = Replayer(world)
    replayer._setup(load(STORY))

    def deliver(event, *, happens=True):
        return replayer.step(Step(label=event["id"], at=clock.parse_iso(event["time"]), event=event,
                                  happens=happens))

    return replayer, deliver


def incident(world):
    return Incidents(world.client("dynamodb"), world.ref("StateTable")).current(KEY)


def item(world):
    return world.client("dynamodb").get_item(TableName=world.ref("StateTable"), ConsistentRead=True, Key={
        "pk": {"S": KEY}, "sk": {"S": "incident"}})["Item"]


def sets(world):
    found = item(world)
    return {name: set(found.get(name, {}).get("SS", []))
            for name in ("failed_stages", "stage_known", "stage_unknown", "deployments_failed")}


def held(result):
    return result.get("note", "") if "held by its beforeEntry condition" in result.get("note", "") else None


def build_fails(deliver, execution=D, at=T0):
    deliver(started(execution, at))
    opened = deliver(action_failed(execution, "Build", at + timedelta(minutes=5)))
    deliver(stage_failed(execution, "Build", at + timedelta(minutes=5, seconds=1)))
    deliver(pipeline_failed(execution, at + timedelta(minutes=5, seconds=5)))
    return opened


def test_a_build_failure_pages_but_leaves_production_open_for_the_fix(world, story):
    _, deliver = story
    # Given D fails in Build: the incident opens and on-call is paged
    opened = build_fails(deliver)
    assert [e["action"] for e in opened["effects"] if e["kind"] == "page"] == ["trigger"]
    # When E, the fix, reaches Deploy-Prod
    deliver(started(E, T0 + timedelta(minutes=30)))
    result = deliver(enters(E, T0 + timedelta(minutes=40)))
    # Then it enters (before: held "an incident is open" until someone broke the glass: the pipeline could
    # never succeed to resolve it), and nobody is told of a freeze
    assert held(result) is None
    assert [e["api"] for e in result["effects"] if e["kind"] == "call"] == ["codepipeline:PutJobSuccessResult"]
    assert not [e for e in result["effects"] if e["kind"] == "message" and e.get("event") == "freeze.started"]
    assert incident(world)["failed_stages"] == {"Build"}  # the incident is still open, about Build


def test_a_production_failure_in_the_same_incident_freezes_naming_the_stage(world, story):
    _, deliver = story
    # Given D failed in Build (the incident is open), then E fails in Deploy-Prod (folded into it)
    build_fails(deliver)
    deliver(started(E, T0 + timedelta(minutes=30)))
    deliver(enters(E, T0 + timedelta(minutes=40)))
    folded = deliver(stage_failed(E, "Deploy-Prod", T0 + timedelta(minutes=45)))
    assert not [e for e in folded["effects"] if e["kind"] == "page"]  # one page for the incident
    deliver(pipeline_failed(E, T0 + timedelta(minutes=45, seconds=5)))
    # When F reaches Deploy-Prod
    deliver(started(F, T0 + timedelta(minutes=50)))
    result = deliver(enters(F, T0 + timedelta(minutes=55)))
    # Then it is held, and the deny and the team's notice name the production stage that failed
    assert "failed in production stage Deploy-Prod; also failed in Build" in held(result)
    [notice] = [e for e in result["effects"] if e["kind"] == "message" and e.get("event") == "freeze.started"]
    assert "failed in production stage Deploy-Prod" in notice["body"]
    assert sets(world)["failed_stages"] == {"Build", "Deploy-Prod"}


ORDERS = {
    "pipeline first, then each twice": ["pipeline", "stage", "action", "pipeline", "stage", "action"],
    "stage, pipeline, stage again, action": ["stage", "pipeline", "stage", "action"],
    "action twice, pipeline, stage": ["action", "action", "pipeline", "stage"],
    "in order": ["action", "stage", "pipeline"],
}


@pytest.mark.parametrize("order", sorted(ORDERS))
def test_any_order_and_redelivery_record_the_same_stages(world, story, order):
    _, deliver = story
    # Given D's three failure events, all happened in CodePipeline
    events = {"action": action_failed(D, "Build", T0 + timedelta(minutes=5)),
              "stage": stage_failed(D, "Build", T0 + timedelta(minutes=5, seconds=1)),
              "pipeline": pipeline_failed(D, T0 + timedelta(minutes=5, seconds=5))}
    deliver(started(D, T0))
    from warden_local import fakes

    for event in events.values():
        fakes.apply_event(json.loads(json.dumps(event)))
    # When they are delivered in this order, some twice
    for name in ORDERS[order]:
        deliver(json.loads(json.dumps(events[name])))
    # Then the incident records the same, compared as sets (a DynamoDB set has no order)
    assert sets(world) == {"failed_stages": {"Build"}, "stage_known": {D}, "stage_unknown": {D},
                           "deployments_failed": set()}
    current = incident(world)
    assert current["failed_stages"] == {"Build"} and current["stage_unknown"] == frozenset()
    # And production stays open
    deliver(started(E, T0 + timedelta(minutes=30)))
    assert held(deliver(enters(E, T0 + timedelta(minutes=40)))) is None


def test_a_failure_whose_stage_is_unknown_freezes_and_says_so_until_its_stage_is_heard(world, story):
    _, deliver = story
    deliver(started(D, T0))
    # Given only D's pipeline FAILED is heard, and CodePipeline cannot say where it failed (its action's failure
    # has not happened in the embedded CodePipeline yet): the page goes out, the stage is unknown
    opened = deliver(pipeline_failed(D, T0 + timedelta(minutes=5, seconds=5)))
    assert [e["action"] for e in opened["effects"] if e["kind"] == "page"] == ["trigger"]
    # When E reaches Deploy-Prod, the gate does not pick: it freezes, and says the failing stage is unknown
    deliver(started(E, T0 + timedelta(minutes=30)))
    why = held(deliver(enters(E, T0 + timedelta(minutes=40))))
    assert why and f"the failing stage is unknown for execution {D}" in why
    # When D's Build failure is heard, the stage is known: E enters
    deliver(stage_failed(D, "Build", T0 + timedelta(minutes=5, seconds=1)))
    assert held(deliver(enters(E, T0 + timedelta(minutes=41)))) is None


def test_an_incident_opened_before_stages_were_recorded_freezes_and_says_the_stage_is_unknown(world, story):
    _, deliver = story
    # Given an incident item written before this version (no stages_recorded), and a fold that records Build
    at = clock.iso(T0 + timedelta(minutes=5))
    world.client("dynamodb").put_item(TableName=world.ref("StateTable"), Item={
        "pk": {"S": KEY}, "sk": {"S": "incident"}, "status": {"S": "open"}, "dedup_key": {"S": KEY},
        "owner": {"S": "old-event"}, "claimed_at": {"S": at}, "notified": {"BOOL": True}, "opened_at": {"S": at},
        "execution_id": {"S": D}, "summary": {"S": "payments-api failed"}})
    deliver(started(E, T0 + timedelta(minutes=20)))
    deliver(stage_failed(E, "Build", T0 + timedelta(minutes=25)))
    assert sets(world)["failed_stages"] == {"Build"}
    # When F reaches Deploy-Prod: what the old incident was about is unknown, so production stays frozen
    deliver(started(F, T0 + timedelta(minutes=30)))
    why = held(deliver(enters(F, T0 + timedelta(minutes=40))))
    assert why and "the failing stage is unknown (the incident was opened before Warden recorded failing stages)" \
        in why


def test_a_muted_production_failure_still_counts_for_the_gate(world, story):
    _, deliver = story
    world.client("ssm").put_parameter(Name="/pipeline-warden/routing", Type="String", Overwrite=True, Value=json.dumps(
        {"rules": [{"name": "prod stage noise", "match": {"events": ["stage.failed", "action.failed"],
                                                          "stages": ["Deploy-Prod"]}, "mute": True}]}))
    # Given D failed in Build (the incident is open), and E's Deploy-Prod failure is muted by a routing rule
    build_fails(deliver)
    deliver(started(E, T0 + timedelta(minutes=30)))
    deliver(enters(E, T0 + timedelta(minutes=40)))
    muted = deliver(stage_failed(E, "Deploy-Prod", T0 + timedelta(minutes=45)))
    assert not [e for e in muted["effects"] if e["kind"] in ("message", "page")]
    # Then the incident still records it (a mute silences messages; it does not make production healthy)
    assert sets(world)["failed_stages"] == {"Build", "Deploy-Prod"}
    deliver(started(F, T0 + timedelta(minutes=50)))
    assert "failed in production stage Deploy-Prod" in held(deliver(enters(F, T0 + timedelta(minutes=55))))


def test_a_resolved_incident_keeps_no_stages_and_a_late_failure_records_nothing(world, story):
    _, deliver = story
    # Given D failed in Build and E succeeded (the incident resolved)
    build_fails(deliver)
    deliver(started(E, T0 + timedelta(minutes=30)))
    deliver(enters(E, T0 + timedelta(minutes=40)))
    deliver(_event("Pipeline", E, "SUCCEEDED", T0 + timedelta(minutes=50)))
    assert item(world)["status"]["S"] == "resolved"
    assert sets(world) == {"failed_stages": set(), "stage_known": set(), "stage_unknown": set(),
                           "deployments_failed": set()}
    # When a redelivery of D's failure arrives late, and G fails in Build afterwards (a new incident)
    deliver(stage_failed(D, "Build", T0 + timedelta(minutes=5, seconds=1)))
    assert sets(world)["stage_known"] == set()
    g = "a7000000-0000-4000-8000-00000000000a"
    deliver(started(g, T0 + timedelta(hours=1)))
    deliver(stage_failed(g, "Build", T0 + timedelta(hours=1, minutes=5)))
    # And D's Deploy-Prod failure (older than E's success) is delivered once more, very late
    deliver(stage_failed(D, "Deploy-Prod", T0 + timedelta(minutes=6)))
    # Then the new incident is about G's Build only: production stays open
    assert sets(world)["failed_stages"] == {"Build"} and sets(world)["stage_known"] == {g}
    deliver(started(F, T0 + timedelta(hours=1, minutes=10)))
    assert held(deliver(enters(F, T0 + timedelta(hours=1, minutes=20)))) is None


def test_warden_freeze_status_says_an_open_incident_of_build_does_not_freeze(tmp_path, capsys):
    # Given the freeze story up to D's Build failure (its incident open)
    scenario = json.loads(STORY.read_text())
    scenario["steps"] = [s for s in scenario["steps"] if s["at"] <= "2026-12-28T10:05:05Z"]
    path = tmp_path / "build-failed.json"
    path.write_text(json.dumps(scenario))
    # When someone asks what is frozen
    assert cli.main(["freeze", "status", "--replay", str(path), "--pipeline", "payments-api",
                     "--at", "2026-12-28T10:20:00Z", "--json"]) == 0
    [row] = [r for r in json.loads(capsys.readouterr().out) if r["stage"] == "Deploy-Prod"]
    # Then Deploy-Prod is open, and the incident is named with why it does not freeze
    assert row["frozen"] is False
    assert [n for n in row["notes"] if n.startswith(
        "open incident, not a freeze: failed only in Build, not a production stage (since 2026-12-28T10:05:00Z: ")]
    assert cli.main(["freeze", "status", "--replay", str(path), "--pipeline", "payments-api",
                     "--at", "2026-12-28T10:20:00Z"]) == 0
    assert "open incident, not a freeze: failed only in Build" in capsys.readouterr().out


def test_a_failed_deployment_of_the_group_still_freezes_its_next_deployment(world):
    from tests.integration.rollback.test_validation_hook import setup as hook_setup
    from warden_local.fakes import codedeploy_state

    # Given checkout's prod deployment group (quiet alarms), and a deployment of it that failed
    event = hook_setup(world)
    world.client("ssm").put_parameter(Name="/pipeline-warden/freeze", Type="String", Overwrite=True, Value="{}")
    failed = world.client("codedeploy").create_deployment(applicationName="checkout", deploymentGroupName="prod",
                                                          revision={"revisionType": "AppSpecContent",
                                                                    "appSpecContent": {"content": "{}"}})
    world.set_time(T0)
    notice = json.loads((ROOT / "events" / "codedeploy" / "deployment-failure.json").read_text())
    notice["time"] = clock.iso(T0)
    notice["detail"].update(application="checkout", deploymentGroup="prod", deploymentId=failed["deploymentId"])
    assert world.invoke("NotificationRouter", notice).error is None
    # When the next deployment's lifecycle hook asks the gate
    world.set_time(T0 + timedelta(minutes=10))
    outcome = world.invoke("DeploymentValidationHook", event)
    # Then it fails: a deployment incident is about production, and the reason says so
    assert codedeploy_state().hook_status(event["LifecycleEventHookExecutionId"]) == "Failed"
    assert "a deployment failed or was rolled back" in outcome.result["frozen"]
