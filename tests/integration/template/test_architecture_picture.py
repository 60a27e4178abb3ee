"""docs/architecture.svg and docs/accounts.svg are drawn from the templates (docs/architecture.py): every
function, rule, subscription, schedule and dead-letter queue of template.yaml is in the picture, every
forwarding rule and role of workload-account.yaml in the second, the committed pictures are what the
drawing makes today, and a rule or function added to a template without redrawing fails these tests."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import yaml

from tests.conftest import ROOT

SVG = ROOT / "docs" / "architecture.svg"
ACCOUNTS = ROOT / "docs" / "accounts.svg"
REDRAW = "run: make architecture"
TRIGGER_RESOURCES = ("AWS::Events::Rule", "AWS::SNS::Subscription", "AWS::Scheduler::Schedule",
                     "AWS::Lambda::EventSourceMapping")


def drawer():
    spec = importlib.util.spec_from_file_location("architecture", ROOT / "docs" / "architecture.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["architecture"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class _Any(yaml.SafeLoader):
    """template.yaml read plainly (intrinsics as plain values): the test's own reading, not the drawer's."""


_Any.add_multi_constructor("!", lambda loader, suffix, node: (
    loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else
    loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node)))


def wired(template: Path) -> set[str]:
    """What the picture must name: each function, each of its Events, and its dead-letter queue."""
    doc = yaml.load(template.read_text(), Loader=_Any)  # noqa: S506 (a SafeLoader)
    names = set()
    for lid, res in doc["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res.get("Properties", {})
        names |= {lid, *(props.get("Events") or {})}
        dlq = (props.get("DeadLetterQueue") or {}).get("TargetArn")
        if dlq:
            names.add(str(dlq).split(".")[0] if isinstance(dlq, str) else str(dlq[0]))
    # Rules, subscriptions, schedules and queue mappings written as resources of their own
    names |= {lid for lid, res in doc["Resources"].items() if res.get("Type") in TRIGGER_RESOURCES}
    return names


def titles(svg: str) -> set[str]:
    return set(re.findall(r'class="title">([^<]+)</text>', svg))


def undrawn(template: Path, svg: str) -> set[str]:
    return wired(template) - titles(svg)


def test_the_picture_names_every_function_rule_subscription_schedule_and_queue():
    names = wired(ROOT / "template.yaml")
    assert {"NotificationRouter", "RollbackDeploymentEvents", "ApprovalRequests", "Sweep",
            "RollbackTriggerDLQ"} <= names
    assert undrawn(ROOT / "template.yaml", SVG.read_text()) == set()


def test_the_pictures_are_up_to_date():
    module = drawer()
    assert SVG.read_text() == module.draw(), REDRAW
    assert ACCOUNTS.read_text() == module.draw_accounts(), REDRAW


def test_codedeploy_feeds_rollback_trigger_and_effects_come_from_policies():
    functions, effects = drawer().read(ROOT / "template.yaml")
    by_name = {f.name: f for f in functions}
    assert "CodeDeploy" in {t.source for t in by_name["RollbackTrigger"].triggers}
    assert by_name["RollbackTrigger"].effects["changes:codepipeline"] == "changes"
    assert "RollbackStage" in effects["changes:codepipeline"].line
    assert "StopDeployment" in effects["changes:codedeploy"].line
    assert by_name["NotificationRouter"].effects["PagerDuty"] == "pages"
    assert by_name["DeploymentTracker"].effects["LedgerTable"] == "writes"
    assert "changes:s3" not in by_name["NotificationRouter"].effects
    assert effects["NotificationRouterDLQ"].line.endswith("depth alarm → OnCallTopic")


RULE = """        FreezeWindowChanges:
          Type: EventBridgeRule
          Properties:
            Pattern: {source: [aws.codepipeline], detail-type: [CodePipeline Pipeline Execution State Change]}
"""
FUNCTION = """  FreezeGuard:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/freeze_guard/
      Events:
        FreezeSweep:
          Type: Schedule
          Properties: {Schedule: rate(1 hour)}

"""


def test_a_rule_or_function_added_to_the_template_fails_until_it_is_drawn(tmp_path):
    # Given a copy of template.yaml with one more rule on RollbackTrigger and one more function
    text = (ROOT / "template.yaml").read_text()
    assert text.count("        AlarmStateChanges:\n") == 1 and text.count("\nOutputs:\n") == 1
    copy = tmp_path / "template.yaml"
    copy.write_text(text.replace("        AlarmStateChanges:\n", RULE + "        AlarmStateChanges:\n")
                    .replace("\nOutputs:\n", "\n" + FUNCTION + "Outputs:\n"))
    module = drawer()
    # Then the committed picture lacks them (the coverage test would fail) ...
    assert undrawn(copy, SVG.read_text()) == {"FreezeWindowChanges", "FreezeGuard", "FreezeSweep"}
    # ... and the drawing made from that template shows them (redrawing fixes it)
    redrawn = module.draw(copy)
    assert redrawn != SVG.read_text()
    assert undrawn(copy, redrawn) == set()


STANDALONE_RULE = """  DeploymentFreezeRule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [aws.codepipeline], detail-type: [CodePipeline Stage Execution State Change]}
      Targets:
        - Id: router
          Arn: !GetAtt NotificationRouter.Arn

"""


def test_a_rule_written_as_its_own_resource_is_drawn_too(tmp_path):
    text = (ROOT / "template.yaml").read_text()
    copy = tmp_path / "template.yaml"
    copy.write_text(text.replace("\nOutputs:\n", "\n" + STANDALONE_RULE + "Outputs:\n"))
    assert undrawn(copy, SVG.read_text()) == {"DeploymentFreezeRule"}
    assert undrawn(copy, drawer().draw(copy)) == set()


def test_the_accounts_picture_names_every_forwarding_rule_queue_and_role():
    doc = yaml.load((ROOT / "workload-account.yaml").read_text(), Loader=_Any)  # noqa: S506
    wanted = {lid for lid, r in doc["Resources"].items()
              if r["Type"] in ("AWS::Events::Rule", "AWS::IAM::Role", "AWS::SQS::Queue")}
    assert {"ForwardDeploymentEvents", "ForwardToWardenRole", "DeployRole"} <= wanted
    assert wanted <= titles(ACCOUNTS.read_text())
    assert "RollbackTrigger" in titles(ACCOUNTS.read_text())  # the one function that assumes the deploy role


def test_the_readme_shows_both_pictures():
    readme = (ROOT / "README.md").read_text()
    assert "](docs/architecture.svg)" in readme and "](docs/accounts.svg)" in readme
