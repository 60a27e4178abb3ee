"""Trust in template.yaml, resolved as CloudFormation would for a given set of parameters (issue 12,
items 2 and 4): who may publish approval messages, which accounts the rules accept, whom the key
serves, where the read role may be assumed, and what the bus admits."""

from __future__ import annotations

import pytest

from warden_local.world import World

ACCOUNT = "111122223333"
TRUSTED = ["222233334444", "444455556666"]
ORG = "o-a1b2c3d4e5"


@pytest.fixture(scope="module", params=["accounts", "organization", "single"])
def stack(request):
    parameters = {"WorkloadReadRoleName": "warden-read",
                  "TrustedAccountIds": ",".join(TRUSTED) if request.param == "accounts" else "",
                  "OrganizationId": ORG if request.param == "organization" else ""}
    with World(parameters=parameters) as world:
        resources = {lid: res for lid, res in world.template.resources.items() if world.condition_of(res)}
        yield request.param, world, {lid: world.resolve(res.get("Properties", {})) for lid, res in resources.items()}


def statements(document):
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def test_the_approval_topic_admits_this_account_and_the_trusted_ones_only(stack):
    kind, _, props = stack
    allows = [s for s in statements(props["ApprovalRequestTopicPolicy"]["PolicyDocument"]) if s["Effect"] == "Allow"]
    principals = [s["Principal"]["AWS"] for s in allows]
    assert f"arn:aws:iam::{ACCOUNT}:root" in principals
    if kind == "accounts":
        assert TRUSTED in principals
    if kind == "organization":
        [org] = [s for s in allows if s["Principal"]["AWS"] == "*"]
        assert org["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}}
    assert all(s["Principal"]["AWS"] != "*" or "Condition" in s for s in allows)
    # ... and the key lets them encrypt through SNS, and only through SNS.
    key = statements(props["WardenKey"]["KeyPolicy"])
    grants = [s for s in key if s["Sid"] in ("TrustedAccountsEncryptApprovalMessages",
                                               "OrganizationEncryptsApprovalMessages")]
    assert len(grants) == (0 if kind == "single" else 1)
    for grant in grants:
        assert grant["Condition"]["StringEquals"]["kms:ViaService"] == "sns.us-east-1.amazonaws.com"


def test_service_principals_use_the_key_only_for_this_stacks_resources(stack):
    _, _, props = stack
    for statement in statements(props["WardenKey"]["KeyPolicy"]):
        service = statement["Principal"].get("Service") if isinstance(statement["Principal"], dict) else None
        if service and not str(service).startswith("logs."):
            condition = statement.get("Condition", {})
            assert condition.get("StringEquals", {}).get("aws:SourceAccount") == ACCOUNT, statement["Sid"]
            assert condition.get("ArnLike", {}).get("aws:SourceArn", "").startswith("arn:aws:"), statement["Sid"]
            assert f":{ACCOUNT}:" in condition["ArnLike"]["aws:SourceArn"], statement["Sid"]


def test_the_read_role_is_assumed_only_in_trusted_accounts(stack):
    kind, world, props = stack
    for lid in (f for f in world.functions if f in props):  # functions the stack has (ApprovalGateway: Slack)
        for policy in props[lid].get("Policies", []):
            for statement in statements(policy) if "Statement" in policy else []:
                if statement["Action"] != "sts:AssumeRole":
                    continue
                resources = statement["Resource"] if isinstance(statement["Resource"], list) else [
                    statement["Resource"]]
                if kind == "accounts":
                    assert sorted(resources) == [f"arn:aws:iam::{a}:role/warden-read" for a in TRUSTED]
                else:
                    assert kind == "organization", (lid, statement)
                    assert statement["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORG}}


def test_every_rule_matches_this_account_and_the_trusted_ones(stack):
    kind, world, _ = stack
    expected = {"accounts": [ACCOUNT, *TRUSTED], "single": [ACCOUNT]}.get(kind)
    for lid, fn in world.functions.items():
        for trigger in fn.triggers:
            if trigger.type != "EventBridgeRule":
                continue
            pattern = world.resolve(trigger.properties["Pattern"])
            # With an organisation the bus policy pins the senders; otherwise the rule names the accounts.
            assert pattern.get("account") == expected, (lid, trigger.name)


def test_the_bus_admits_trusted_senders_and_only_the_sources_warden_consumes(stack):
    kind, _, props = stack
    policy = {"accounts": "TrustedAccountsBusPolicy", "organization": "OrganizationBusPolicy"}.get(kind)
    if policy is None:
        assert "TrustedAccountsBusPolicy" not in props and "OrganizationBusPolicy" not in props
        return
    statement = props[policy]["Statement"]
    condition = statement["Condition"]["ForAllValues:StringEquals"]
    assert set(condition["events:source"]) == {"aws.codepipeline", "aws.codedeploy", "aws.cloudwatch", "aws.s3"}
    assert "CodeDeploy Deployment State-change Notification" in condition["events:detail-type"]
    if kind == "organization":
        assert statement["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": ORG}
    else:
        assert statement["Principal"] == {"AWS": TRUSTED}


# -- a small evaluator of key and topic policy statements (what these tests need) ---------------------------
def _values(value):
    return value if isinstance(value, list) else [value]


def _like(pattern, value):
    from fnmatch import fnmatchcase

    return fnmatchcase(value, pattern)


OPERATORS = {"StringEquals": lambda want, got: got == want, "ArnEquals": lambda want, got: got == want,
             "StringLike": _like, "ArnLike": _like}


def _not(test):
    return lambda want, got: not test(want, got)


OPERATORS |= {"ArnNotEquals": _not(OPERATORS["ArnEquals"]), "Bool": lambda want, got: str(got).lower() == str(
    want).lower()}


def applies(statement, principal, action, context):
    """Whether a statement (Allow or Deny) applies to the request. A negated operator whose key the request
    lacks applies (as in IAM)."""
    given = statement["Principal"]
    kind, who = next(iter(principal.items()))
    if given != "*" and who not in _values(given.get(kind, [])) and "*" not in _values(given.get(kind, [])):
        return False
    if not any(_like(a, action) for a in _values(statement["Action"])):
        return False
    for operator, keys in statement.get("Condition", {}).items():
        test = OPERATORS[operator]
        for key, wanted in keys.items():
            if key not in context:
                if operator.startswith(("ArnNot", "StringNot")):
                    continue
                return False
            if operator.startswith(("ArnNot", "StringNot")):
                if not all(test(w, context[key]) for w in _values(wanted)):
                    return False
            elif not any(test(w, context[key]) for w in _values(wanted)):
                return False
    return True


def decide(document, principal, action, context):
    """allow | deny | implicit: an explicit Deny wins; else an Allow; else nothing grants it."""
    found = [s["Effect"] for s in statements(document) if applies(s, principal, action, context)]
    return "deny" if "Deny" in found else "allow" if "Allow" in found else "implicit"


def allowed(document, principal, action, context):
    return decide(document, principal, action, context) == "allow"


CLOUDWATCH = {"Service": "cloudwatch.amazonaws.com"}
ROLLBACK_TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:pipeline-warden-prod-rollback-alarms"


def alarm_context(alarm_account, name, topic=ROLLBACK_TOPIC):
    return {"aws:SourceAccount": alarm_account, "aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{alarm_account}:"
            f"alarm:{name}", "kms:EncryptionContext:aws:sns:topicArn": topic}


@pytest.mark.parametrize("action", ["kms:GenerateDataKey", "kms:Decrypt"])
def test_a_customer_alarm_may_use_the_key_to_publish_to_the_rollback_alarm_topic(stack, action):
    # Given the key policy, when CloudWatch publishes a customer alarm (any name) of this account to the
    # encrypted RollbackAlarmTopic, then the key lets it (else CloudWatch records a failed action, silently).
    _, _, props = stack
    key = props["WardenKey"]["KeyPolicy"]
    assert allowed(key, CLOUDWATCH, action, alarm_context(ACCOUNT, "checkout-api-prod-5xx"))
    # Warden's own alarms still may; another account's alarm, or a customer alarm on another topic, may not.
    assert allowed(key, CLOUDWATCH, action, alarm_context(ACCOUNT, "pipeline-warden-prod-router-dlq"))
    assert not allowed(key, CLOUDWATCH, action, alarm_context("999988887777", "checkout-api-prod-5xx"))
    on_call = f"arn:aws:sns:us-east-1:{ACCOUNT}:pipeline-warden-prod-oncall"
    assert not allowed(key, CLOUDWATCH, action, alarm_context(ACCOUNT, "checkout-api-prod-5xx", on_call))


def test_the_rollback_alarm_topic_name_is_the_one_the_key_names(stack):
    _, world, _ = stack
    name = world.resolve(world.template.resources["RollbackAlarmTopic"]["Properties"]["TopicName"])
    assert ROLLBACK_TOPIC.endswith(f":{name}")


AUDIENCES = ["OnCallTopic", "ApproversTopic", "TeamTopic", "ChatTopic"]
PUBLISHERS = ["NotificationRouter", "ApprovalTracker", "ApprovalEscalator", "RollbackTrigger", "ArtifactGuard",
              "DeploymentTracker"]


def test_only_wardens_functions_and_the_account_owner_may_publish_to_the_audience_topics(stack):
    # Given the audience topics' policy, a principal of this account whose own IAM policy allows sns:Publish
    # (a workload role, a developer) is denied; Warden's publishing functions and the account owner may publish.
    _, world, props = stack
    [policy] = [p for p in props.values() if "Topics" in p and sorted(p["Topics"]) == sorted(
        world.resolve({"Ref": t}) for t in AUDIENCES)]
    document = policy["PolicyDocument"]

    def iam(arn):
        return {"AWS": arn}, {"aws:PrincipalArn": arn, "aws:PrincipalIsAWSService": "false"}

    for function in PUBLISHERS:
        role = world.resolve({"Fn::GetAtt": [f"{function}Role", "Arn"]})
        assert decide(document, *[iam(role)[0]], "sns:Publish", iam(role)[1]) == "allow", function
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert decide(document, iam(root)[0], "sns:Publish", iam(root)[1]) == "allow"
    intruder = f"arn:aws:iam::{ACCOUNT}:role/checkout-deploy"
    assert decide(document, iam(intruder)[0], "sns:Publish", iam(intruder)[1]) == "deny"
    # CloudWatch publishes Warden's own alarms; a customer alarm may not post to the audiences.
    own = {"aws:SourceAccount": ACCOUNT, "aws:PrincipalIsAWSService": "true",
           "aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:pipeline-warden-prod-failed-executions"}
    assert decide(document, CLOUDWATCH, "sns:Publish", own) == "allow"
    customer = own | {"aws:SourceArn": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:checkout-api-prod-5xx"}
    assert decide(document, CLOUDWATCH, "sns:Publish", customer) == "implicit"


def test_every_function_that_may_publish_to_an_audience_is_named_in_the_topic_policy(stack):
    _, world, props = stack
    for function in (f for f in world.functions if f in props):
        policies = props[function].get("Policies", [])
        if any("SNSPublishMessagePolicy" in p for p in policies if isinstance(p, dict)):
            assert function in PUBLISHERS, function
