"""Deploying Warden as people do: staging and prod side by side in one account (samconfig.toml), a ledger
that outlives its stack, and seed alarms that inform without paging twice."""

from __future__ import annotations

import shlex
import tomllib

import pytest

from tests.conftest import ROOT
from warden_local.template import Template
from warden_local.world import World

# Properties that give a resource its account-wide (or region-wide) name.
NAME_PROPERTIES = ("TableName", "TopicName", "QueueName", "FunctionName", "LogGroupName", "AlarmName",
                   "DashboardName", "AliasName", "LayerName", "StatementId", "RoleName", "Name")
ENVIRONMENTS = ("staging", "prod")


def samconfig() -> dict:
    return tomllib.loads((ROOT / "samconfig.toml").read_text())


def overrides(env: str) -> dict[str, str]:
    text = samconfig()[env]["deploy"]["parameters"]["parameter_overrides"]
    return dict(pair.split("=", 1) for pair in shlex.split(text))


def physical_names(parameters: dict[str, str]) -> dict[str, str]:
    """Every explicit resource name of the stack deployed with these parameters (resolved, not deployed)."""
    world = World(parameters=parameters)
    names = {}
    for lid, res in world.template.resources.items():
        props = world.resolve(res.get("Properties", {}))
        for prop in NAME_PROPERTIES:
            if isinstance(props.get(prop), str):
                names[f"{lid}.{prop}"] = props[prop]
    return names


def test_staging_and_prod_are_separate_stacks_with_their_own_configuration():
    config = samconfig()
    stacks = {env: config[env]["deploy"]["parameters"]["stack_name"] for env in ENVIRONMENTS}
    assert stacks["staging"] != stacks["prod"]
    params = {env: overrides(env) for env in ENVIRONMENTS}
    assert params["staging"]["Environment"] == "staging" and params["prod"]["Environment"] == "prod"
    assert params["staging"]["ConfigPrefix"] == "/pipeline-warden/staging"
    assert params["prod"]["ConfigPrefix"] == "/pipeline-warden/prod"
    # Neither prefix contains the other: a function may read <prefix>/* and nothing of the other stack.
    assert not params["prod"]["ConfigPrefix"].startswith(params["staging"]["ConfigPrefix"] + "/")
    assert not params["staging"]["ConfigPrefix"].startswith(params["prod"]["ConfigPrefix"] + "/")
    template = Template(ROOT / "template.yaml")
    for env in ENVIRONMENTS:
        assert set(params[env]) <= set(template.parameters), env  # no parameter the template lacks


def test_no_resource_name_of_staging_is_also_one_of_prod():
    staging = physical_names(overrides("staging"))
    prod = physical_names(overrides("prod"))
    assert staging.keys() == prod.keys()
    assert len(staging) > 30  # tables, topics, queues, functions, log groups, alarms, ...
    clashes = {where: name for where, name in staging.items() if name in set(prod.values())}
    assert clashes == {}
    for where in ("DeploymentValidationHook.FunctionName", "LedgerTable.TableName", "FailedExecutionsAlarm.AlarmName"):
        assert staging[where] != prod[where] and "staging" in staging[where], where


@pytest.mark.parametrize("prefix", ["/pipeline-warden/prod/", "pipeline-warden", "/a//b"])
def test_a_config_prefix_that_would_break_the_parameter_arns_is_refused(prefix):
    import re

    pattern = Template(ROOT / "template.yaml").parameters["ConfigPrefix"]["AllowedPattern"]
    assert not re.fullmatch(pattern, prefix)
    assert re.fullmatch(pattern, "/pipeline-warden/prod") and re.fullmatch(pattern, "/pipeline-warden")


def test_the_ledger_outlives_its_stack_and_stays_readable():
    """The retained ledger is encrypted with WardenKey: the key is retained with it, or the record is lost."""
    resources = Template(ROOT / "template.yaml").resources
    ledger = resources["LedgerTable"]
    assert ledger["DeletionPolicy"] == "Retain"
    assert ledger["UpdateReplacePolicy"] == "Retain"
    key = ledger["Properties"]["SSESpecification"]["KMSMasterKeyId"]
    assert "WardenKey" in str(key)
    assert resources["WardenKey"]["DeletionPolicy"] == "Retain"
    assert resources["WardenKey"]["UpdateReplacePolicy"] == "Retain"


def test_only_wardens_own_breakage_pages_on_call_from_an_alarm():
    """Failures page on-call once through NotificationRouter; approval waits belong to the escalation tiers.
    So no pipeline-health alarm notifies OnCallTopic, and every dead-letter alarm does."""
    world = World()
    alarms = {lid: world.resolve(res["Properties"])
              for lid, res in world.template.of_type("AWS::CloudWatch::Alarm").items()}
    for lid, props in alarms.items():
        actions = [a for key in ("AlarmActions", "OKActions", "InsufficientDataActions") for a in props.get(key, [])]
        assert actions, lid  # every alarm tells someone
        if lid.endswith("DLQAlarm"):
            assert actions == ["OnCallTopic"], lid
        else:
            assert "OnCallTopic" not in actions, lid
            assert set(actions) == {"TeamTopic"}, lid
    # The failure alarm is a trend (several failures in an hour), not a second page per failure.
    failed = alarms["FailedExecutionsAlarm"]
    assert failed["Threshold"] >= 2 and failed["Metrics"][0]["Period"] == 3600


def test_a_guided_deploy_starts_from_a_dev_stack_that_reads_nothing_of_staging_or_prod():
    """`sam deploy --guided` (what `sam build` suggests) and any sam command run without `--config-env` read
    samconfig's `default` environment: `[default.<command>.parameters]` over `[default.global.parameters]`,
    then the template's defaults. None of that may be staging's or prod's stack, environment or configuration."""
    config = samconfig()
    default = config.get("default", {})
    named_stacks = {config[env]["deploy"]["parameters"]["stack_name"] for env in ENVIRONMENTS}
    for command in {"global", "deploy", "delete", "sync", "logs", "list", "traces", *default}:
        resolved = {**default.get("global", {}).get("parameters", {}),
                    **default.get(command, {}).get("parameters", {})}
        assert resolved.get("stack_name") not in named_stacks, command
    deploy = {**default.get("global", {}).get("parameters", {}), **default["deploy"]["parameters"]}
    template = Template(ROOT / "template.yaml")
    offered = {name: str(p.get("Default", "")) for name, p in template.parameters.items()}
    offered |= dict(pair.split("=", 1) for pair in shlex.split(deploy.get("parameter_overrides", "")))
    assert set(offered) == set(template.parameters)
    assert offered["Environment"] not in ENVIRONMENTS
    taken = {overrides(env)["ConfigPrefix"] for env in ENVIRONMENTS}
    assert offered["ConfigPrefix"] not in taken
    # Neither reads the other's documents (a function may read <ConfigPrefix>/*).
    assert not any((prefix + "/").startswith(offered["ConfigPrefix"] + "/")
                   or (offered["ConfigPrefix"] + "/").startswith(prefix + "/") for prefix in taken)
    assert deploy["confirm_changeset"] is True
