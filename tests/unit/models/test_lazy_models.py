"""warden.models imports a model's module when it is first needed: a function compiles and builds only the
models of the inputs it is sent (a cold start cost), and every public name still resolves."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import warden.models
from warden.models import approval, cloudtrail, cloudwatch, codedeploy, codepipeline, lifecycle, parse

ROOT = Path(__file__).resolve().parents[3]


def _modules_after(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return {name for name in json.loads(done.stdout.splitlines()[-1]) if name.startswith("warden.models")}


def test_parsing_a_pipeline_event_imports_only_its_models():
    # Given a fresh interpreter and a documented pipeline state change
    sample = (ROOT / "events" / "codepipeline" / "pipeline-succeeded.json").read_text()
    # When it imports warden.models and parses the event
    loaded = _modules_after(f"import json\nfrom warden.models import parse_event\n"
                            f"print(type(parse_event(json.loads({sample!r}))).__name__)")
    # Then CodePipeline's models are imported, and no other input's
    assert "warden.models.codepipeline" in loaded
    assert not loaded & {"warden.models.cloudwatch", "warden.models.cloudtrail", "warden.models.approval",
                         "warden.models.lifecycle", "warden.models.codedeploy"}


def test_the_detail_type_table_is_the_models_own():
    # Given the models' own constants, when parse's table is read, then each names its module's model and source
    assert dict(parse.KNOWN_DETAIL_TYPES) == {
        codepipeline.PIPELINE_DETAIL_TYPE: codepipeline.PipelineExecutionStateChange,
        codepipeline.STAGE_DETAIL_TYPE: codepipeline.StageExecutionStateChange,
        codepipeline.ACTION_DETAIL_TYPE: codepipeline.ActionExecutionStateChange,
        codedeploy.DEPLOYMENT_DETAIL_TYPE: codedeploy.CodeDeployDeploymentStateChange,
        cloudwatch.ALARM_DETAIL_TYPE: cloudwatch.CloudWatchAlarmStateChange,
        cloudtrail.CLOUDTRAIL_DETAIL_TYPE: cloudtrail.CloudTrailApiCallEvent,
    }
    assert dict(parse.EXPECTED_SOURCES) == {
        codepipeline.PIPELINE_DETAIL_TYPE: codepipeline.SOURCE, codepipeline.STAGE_DETAIL_TYPE: codepipeline.SOURCE,
        codepipeline.ACTION_DETAIL_TYPE: codepipeline.SOURCE, codedeploy.DEPLOYMENT_DETAIL_TYPE: codedeploy.SOURCE,
        cloudwatch.ALARM_DETAIL_TYPE: cloudwatch.SOURCE,
    }
    assert (parse.APPROVAL_KIND, parse.LIFECYCLE_KIND, parse.ALARM_NOTIFICATION_KIND) == (
        approval.APPROVAL_KIND, lifecycle.LIFECYCLE_KIND, cloudwatch.ALARM_NOTIFICATION_KIND)


def test_every_public_name_resolves_to_its_modules_own():
    # Given every name warden.models exports, when each is looked up, then it is the defining module's object
    for name in warden.models.__all__:
        module = sys.modules[f"warden.models.{warden.models._EXPORTS[name]}"]
        assert getattr(warden.models, name) is getattr(module, name)
    assert set(warden.models.__all__) <= set(dir(warden.models))
    assert set(warden.models.Event.__args__) == {
        codepipeline.PipelineExecutionStateChange, codepipeline.StageExecutionStateChange,
        codepipeline.ActionExecutionStateChange, codedeploy.CodeDeployDeploymentStateChange,
        cloudwatch.CloudWatchAlarmStateChange, cloudtrail.CloudTrailApiCallEvent, approval.ManualApprovalMessage,
        lifecycle.CodeDeployLifecycleHookEvent, cloudwatch.CloudWatchAlarmNotification}


def test_the_lazy_table_and_the_type_checkers_imports_name_the_same_modules():
    # Given the two lists warden.models keeps (the names it resolves on first use, and the imports a type
    # checker reads), when one gains or moves a name, then the other must too
    import ast

    tree = ast.parse(Path(warden.models.__file__).read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    typed = {alias.name: node.module.rsplit(".", 1)[1] for node in block.body for alias in node.names}
    assert typed == warden.models._EXPORTS
