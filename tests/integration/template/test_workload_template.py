"""workload-account.yaml (the StackSet for workload accounts) and template.yaml agree: what the workload
account forwards is what the tools stack's rules consume from workload accounts and what its bus policy
accepts; the roles it makes are the ones the tools stack assumes, trusted only by the functions that
assume them, with the permissions those functions use."""

from __future__ import annotations

import itertools
import re

import pytest

from tests.conftest import ROOT
from warden_local.template import Template
from warden_local.world import World

WORKLOAD = Template(ROOT / "workload-account.yaml")
TRUSTED = ["222233334444", "444455556666"]


def as_list(value):
    return value if isinstance(value, list) else [value]


@pytest.fixture(scope="module")
def tools():
    """template.yaml resolved for trusted workload accounts (nothing deployed)."""
    return World(parameters={"TrustedAccountIds": ",".join(TRUSTED), "WorkloadReadRoleName": "pipeline-warden-read",
                             "WorkloadDeployRoleName": "pipeline-warden-deploy"})


def forwarded() -> dict[str, dict]:
    return {lid: res["Properties"]["EventPattern"] for lid, res in WORKLOAD.of_type("AWS::Events::Rule").items()}


def consumed(tools) -> dict[str, dict]:
    """Every EventBridge rule of the tools stack that accepts events of a workload account."""
    found = {}
    for lid, fn in tools.functions.items():
        for trigger in fn.triggers:
            if trigger.type == "EventBridgeRule":
                pattern = tools.resolve(trigger.properties["Pattern"])
                if "account" not in pattern or set(TRUSTED) <= set(pattern["account"]):
                    found[f"{lid}.{trigger.name}"] = pattern
    return found


def pairs(pattern: dict) -> set[tuple[str, str]]:
    return set(itertools.product(as_list(pattern["source"]), as_list(pattern["detail-type"])))


def no_narrower(forward: dict, rule: dict, path: str = "detail") -> bool:
    """Every event `rule` matches on this path passes `forward`'s filter too (values are lists or nested maps)."""
    for key, allowed in forward.items():
        if key not in rule:
            return False  # forwarding filters on something the rule accepts any value of
        if isinstance(allowed, dict):
            if not (isinstance(rule[key], dict) and no_narrower(allowed, rule[key], f"{path}.{key}")):
                return False
        elif not set(as_list(rule[key])) <= set(as_list(allowed)):
            return False
    return True


def test_everything_the_tools_rules_consume_is_forwarded(tools):
    forwards = forwarded()
    rules = consumed(tools)
    assert len(rules) >= 10  # router, tracker, approvals, rollback, artifacts
    for name, rule in rules.items():
        for pair in pairs(rule):
            covering = [f for f, p in forwards.items()
                        if pair in pairs(p) and no_narrower(p.get("detail", {}), rule.get("detail", {}))]
            assert covering, f"{name} consumes {pair} {rule.get('detail', {})}, which no workload rule forwards"


def test_nothing_is_forwarded_that_no_rule_consumes(tools):
    consumed_pairs = set().union(*map(pairs, consumed(tools).values()))
    for name, pattern in forwarded().items():
        assert pairs(pattern) <= consumed_pairs, name


@pytest.mark.parametrize("policy", ["TrustedAccountsBusPolicy", "OrganizationBusPolicy"])
def test_the_bus_accepts_exactly_what_is_forwarded(tools, policy):
    statement = tools.resolve(tools.template.resources[policy]["Properties"]["Statement"])
    accepted = statement["Condition"]["ForAllValues:StringEquals"]
    patterns = forwarded().values()
    assert set(accepted["events:source"]) == {s for p in patterns for s in as_list(p["source"])}
    assert set(accepted["events:detail-type"]) == {d for p in patterns for d in as_list(p["detail-type"])}


def test_every_rule_forwards_to_the_tools_bus_with_the_forwarding_role():
    for lid, res in WORKLOAD.of_type("AWS::Events::Rule").items():
        [target] = res["Properties"]["Targets"]
        # The region Warden runs in, named: never this stack's own region by default (a region without Warden
        # has no bus policy for these events, and they would vanish).
        assert target["Arn"] == {"Fn::Sub": "arn:${AWS::Partition}:events:${ToolsRegion}:${ToolsAccountId}:"
                                            "event-bus/default"}, lid
        assert target["RoleArn"] == {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${ForwardRoleName}"}


def test_the_tools_region_must_be_named():
    region = WORKLOAD.parameters["ToolsRegion"]
    assert "Default" not in region  # a StackSet without it fails to create, instead of forwarding nowhere
    assert not re.fullmatch(region["AllowedPattern"], "")
    assert re.fullmatch(region["AllowedPattern"], "us-east-2") and re.fullmatch(region["AllowedPattern"],
                                                                                  "us-gov-west-1")
    assert "ToolsInThisRegion" not in WORKLOAD.conditions


def test_what_cannot_be_forwarded_lands_in_an_encrypted_dead_letter_queue_with_an_alarm():
    """EventBridge gives up on an event it cannot put on Warden's bus (no bus policy, a wrong region, throttling
    past its retries): it goes to the queue, and the queue's depth alarms."""
    [(queue_id, queue)] = WORKLOAD.of_type("AWS::SQS::Queue").items()
    props = queue["Properties"]
    assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props
    assert props["MessageRetentionPeriod"] == 1209600  # 14 days to redrive
    rules = WORKLOAD.of_type("AWS::Events::Rule")
    for lid, res in rules.items():
        [target] = res["Properties"]["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}, lid
    [policy] = WORKLOAD.of_type("AWS::SQS::QueuePolicy").values()
    assert policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sorted(s["Fn::GetAtt"][0] for s in sources) == sorted(rules)  # exactly the forwarding rules
    [alarm] = [a["Properties"] for a in WORKLOAD.of_type("AWS::CloudWatch::Alarm").values()
               if a["Properties"].get("Dimensions", [{}])[0].get("Value") == {"Fn::GetAtt": [queue_id, "QueueName"]}]
    assert alarm["Namespace"] == "AWS/SQS" and alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" and alarm["Threshold"] == 1
    assert alarm["TreatMissingData"] == "notBreaching"


def test_stackset_ready_no_account_id_or_region_written_in():
    text = (ROOT / "workload-account.yaml").read_text()
    body = text.split("\nResources:", 1)[1]
    assert not re.search(r"\b\d{12}\b", body)
    assert not re.search(r"\b[a-z]{2}-[a-z]+-\d\b", body)
    # IAM is global: the roles exist once per account, the rules in every region.
    for lid, res in WORKLOAD.of_type("AWS::IAM::Role").items():
        assert res["Condition"] in ("InRolesRegion", "CreatesReadRole", "CreatesDeployRole"), lid
    assert all("Condition" not in res for res in WORKLOAD.of_type("AWS::Events::Rule").values())


TRUST_OUTPUTS = {"ReaderRoleArns": "WorkloadReadRoleTrust", "RollbackRoleArn": "WorkloadDeployRoleTrust"}


def trusted_functions(role: str, tools) -> set[str]:
    """The tools stack's functions whose exact role ARNs may assume `role`: the workload template trusts the
    ARNs its parameter passes (never a name pattern), and the tools stack's output that fills the parameter
    names those functions' roles."""
    statement = WORKLOAD.resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert set(statement["Condition"]) == {"ArnEquals"}  # exact ARNs: no ArnLike, no wildcard
    parameter = statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]["Ref"]
    assert "Default" not in WORKLOAD.parameters[parameter]  # required: nothing trusted by default
    output = tools.template.doc["Outputs"][TRUST_OUTPUTS[parameter]]["Value"]
    names = set()
    for arn in tools.resolve(output).split(","):
        match = re.fullmatch(r"(\w+)Role\.Arn", arn)  # the embedded world's stand-in for the role's ARN
        assert match, arn
        names.add(match.group(1))
    assert statement["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${ToolsAccountId}:root"}}
    return names


def granted(props: dict) -> set[str]:
    actions = set()
    for policy in props.get("Policies", []):
        document = policy.get("PolicyDocument", policy)
        for statement in as_list(document.get("Statement", [])):
            if isinstance(statement, dict) and statement.get("Effect") == "Allow":
                actions |= set(as_list(statement["Action"]))
    return actions


def test_the_read_role_is_trusted_by_exactly_the_functions_that_assume_it(tools):
    readers = {lid for lid, fn in tools.functions.items()
               if "WORKLOAD_READ_ROLE_NAME" in fn.environment and tools.exists(fn)}
    assert trusted_functions("ReadRole", tools) == readers
    role = WORKLOAD.resources["ReadRole"]["Properties"]
    assert role["RoleName"] == {"Ref": "ReadRoleName"}
    # Read only: the CodePipeline reads those functions make, and the S3 Get* calls of ArtifactGuard's audit.
    used = set().union(*(granted(tools.resolve(tools.template.resources[lid]["Properties"])) for lid in readers))
    wanted = {a for a in used if a.startswith("codepipeline:Get") or a == "codepipeline:ListActionExecutions"}
    wanted |= {a for a in used if re.fullmatch(r"s3:Get\w+", a)} - {"s3:GetObject"}
    assert granted(role) == wanted
    assert not any(a.split(":")[1].startswith(("Put", "Delete", "Stop", "Rollback")) for a in granted(role))


def test_the_deploy_role_is_trusted_by_rollback_trigger_alone_with_what_it_calls(tools):
    deployers = {lid for lid, fn in tools.functions.items()
                 if "WORKLOAD_DEPLOY_ROLE_NAME" in fn.environment and tools.exists(fn)}
    assert trusted_functions("DeployRole", tools) == deployers == {"RollbackTrigger"}
    role = WORKLOAD.resources["DeployRole"]["Properties"]
    used = {a for a in granted(tools.resolve(tools.template.resources["RollbackTrigger"]["Properties"]))
            if a.split(":")[0] in ("codepipeline", "codedeploy", "cloudwatch")}
    # DescribeAlarms: RollbackTrigger confirms an alarm's state in the alarm's own account before acting.
    # PutApprovalResult: ApprovalGateway, when the tools stack has a Slack app (test below).
    assert used <= granted(role) and granted(role) - used <= {"cloudwatch:DescribeAlarms",
                                                              "codepipeline:PutApprovalResult"}


def test_with_a_slack_app_the_gateway_is_trusted_too_and_decides_with_the_deploy_role():
    with_slack = World(parameters={"TrustedAccountIds": ",".join(TRUSTED), "SlackSecretArn": "arn:slack",
                                   "WorkloadReadRoleName": "pipeline-warden-read",
                                   "WorkloadDeployRoleName": "pipeline-warden-deploy"})
    assert trusted_functions("DeployRole", with_slack) == {"RollbackTrigger", "ApprovalGateway"}
    assert "ApprovalGateway" in trusted_functions("ReadRole", with_slack)
    gateway = granted(with_slack.resolve(with_slack.template.resources["ApprovalGateway"]["Properties"]))
    role = WORKLOAD.resources["DeployRole"]["Properties"]
    assert "codepipeline:PutApprovalResult" in gateway & granted(role)


def test_the_tools_stack_parameters_name_the_workload_roles():
    tools_params = Template(ROOT / "template.yaml").parameters
    assert {"WorkloadReadRoleName", "WorkloadDeployRoleName"} <= set(tools_params)
    assert WORKLOAD.parameters["ReadRoleName"]["Default"] == "pipeline-warden-read"
    assert WORKLOAD.parameters["DeployRoleName"]["Default"] == "pipeline-warden-deploy"


def test_the_readmes_stackset_command_gives_every_parameter_the_template_requires():
    """README's `create-stack-set` as a user copies it: every parameter exists in workload-account.yaml, every
    one without a default is given, each literal value passes its AllowedPattern, the trust parameters come from
    the tools stack's outputs, and the tools stack it reads them from is one samconfig.toml deploys, in the
    region it deploys to."""
    import shlex
    import tomllib

    from tests.readme import commands

    readme = (ROOT / "README.md").read_text()
    [block] = [b for b in re.findall(r"```sh\n(.*?)```", readme, re.S) if "create-stack-set" in b]
    given = dict(re.findall(r"ParameterKey=(\w+),ParameterValue=(\\?\"?\$\([^)]*\)\\?\"?|[^\s\\]+)", block))
    assert set(given) <= set(WORKLOAD.parameters), set(given) - set(WORKLOAD.parameters)
    required = {name for name, p in WORKLOAD.parameters.items() if "Default" not in p}
    assert required <= set(given), f"create-stack-set: missing {sorted(required - set(given))}"
    for name, value in given.items():
        pattern = WORKLOAD.parameters[name].get("AllowedPattern")
        assert "$(" in value or pattern is None or re.fullmatch(pattern, value), (name, value)
    # The trust parameters come from the tools stack's outputs, as the README says.
    for parameter, output in TRUST_OUTPUTS.items():
        assert f"$(output {output})" in given[parameter], parameter
        assert output in Template(ROOT / "template.yaml").doc["Outputs"], parameter
    [stack] = re.findall(r"describe-stacks --stack-name (\S+)", block)
    samconfig = tomllib.loads((ROOT / "samconfig.toml").read_text())
    deployed = {env["deploy"]["parameters"]["stack_name"]: env["deploy"]["parameters"]
                for env in samconfig.values()
                if isinstance(env, dict) and "stack_name" in env.get("deploy", {}).get("parameters", {})}
    assert stack in deployed
    assert given["ToolsRegion"] == deployed[stack]["region"]
    overrides = dict(pair.split("=", 1) for pair in shlex.split(deployed[stack]["parameter_overrides"]))
    assert overrides.get("WorkloadReadRoleName", "") in ("", given.get("ReadRoleName", "pipeline-warden-read"))
    [create] = [c for c in commands() if c.argv[:3] == ("aws", "cloudformation", "create-stack-set")]
    assert create.option("--template-body") == ["file://workload-account.yaml"]
    assert "CAPABILITY_NAMED_IAM" in create.option("--capabilities")  # the roles have names
    [instances] = [c for c in commands() if c.argv[:3] == ("aws", "cloudformation", "create-stack-instances")]
    assert instances.option("--stack-set-name") == create.option("--stack-set-name")
    # The roles' region first: the other regions' rules use the forwarding role made there.
    roles_region = given.get("RolesRegion", WORKLOAD.parameters["RolesRegion"]["Default"])
    assert instances.option("--regions")[0] == roles_region
