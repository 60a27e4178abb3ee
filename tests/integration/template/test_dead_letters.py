"""Every function has a dead-letter queue, every path into it is wired, and each queue's policy admits
exactly the senders that need it: the EventBridge rules and schedules SAM generates for the function's
events (aws:SourceArn), the SNS topics it subscribes to (their redrive), and Lambda through the function's
own role. A sender the queue does not admit loses what it could not deliver, silently."""

from __future__ import annotations

import pytest

from warden_local.template import default_template

TEMPLATE = default_template()
FUNCTIONS = TEMPLATE.functions
POLICIES = TEMPLATE.of_type("AWS::SQS::QueuePolicy")


def queue_of(function):
    target = function.dead_letter_queue
    assert isinstance(target, dict) and "Fn::GetAtt" in target, f"{function.logical_id}: DeadLetterQueue"
    queue, attr = target["Fn::GetAtt"]
    assert attr == "Arn"
    return queue


def statements_for(queue):
    """Every statement of a queue policy attached to `queue`."""
    found = []
    for policy in POLICIES.values():
        props = policy["Properties"]
        if {"Ref": queue} in props["Queues"]:
            found += props["PolicyDocument"]["Statement"]
    return found


def admitted(queue, service):
    """The source ARNs (logical ids: rules `{"Fn::GetAtt": [rule, "Arn"]}`, topics `{"Ref": topic}`) a
    queue admits from `service`."""
    sources = set()
    for statement in statements_for(queue):
        if statement["Effect"] != "Allow" or statement["Principal"] != {"Service": service}:
            continue
        assert statement["Action"] in ("sqs:SendMessage", ["sqs:SendMessage"])
        assert statement["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}, statement["Sid"]
        arns = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
        for arn in arns if isinstance(arns, list) else [arns]:
            sources.add(arn["Fn::GetAtt"][0] if "Fn::GetAtt" in arn else arn["Ref"])
    return sources


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_dead_letters_to_its_own_queue_and_knows_its_url(name):
    function = FUNCTIONS[name]
    queue = queue_of(function)
    assert TEMPLATE.resources[queue]["Type"] == "AWS::SQS::Queue"
    assert TEMPLATE.resources[queue]["Properties"].get("KmsMasterKeyId"), "dead letters are encrypted at rest"
    # Container.guard sends invalid inputs and bad sweep items there at once, with their reason.
    assert function.environment.get("DEAD_LETTER_QUEUE_URL") == {"Ref": queue}
    # Lambda's own dead letters (after its retries) go with the function's role.
    policies = TEMPLATE.resources[name]["Properties"]["Policies"]
    assert {"SQSSendMessagePolicy": {"QueueName": {"Fn::GetAtt": [queue, "QueueName"]}}} in policies
    # Each queue serves one function: a dead letter says which function could not handle it.
    others = [f for f, fn in FUNCTIONS.items() if f != name and queue_of(fn) == queue]
    assert others == []


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_event_source_dead_letters_to_the_functions_queue_and_the_queue_admits_it(name):
    function = FUNCTIONS[name]
    queue = queue_of(function)
    rules, topics = set(), set()
    for trigger in function.triggers:
        if trigger.type in ("EventBridgeRule", "Schedule"):
            assert trigger.properties["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}, trigger.name
            assert trigger.properties["RetryPolicy"]["MaximumRetryAttempts"] >= 1
            rules.add(f"{name}{trigger.name}")  # the rule SAM generates for the event
        elif trigger.type == "SNS":
            redrive = trigger.properties["RedrivePolicy"]
            assert redrive == {"deadLetterTargetArn": {"Fn::GetAtt": [queue, "Arn"]}}, trigger.name
            topics.add(trigger.properties["Topic"]["Ref"])
        else:
            pytest.fail(f"{name}.{trigger.name}: no dead-letter wiring known for {trigger.type}")
    assert admitted(queue, "events.amazonaws.com") == rules
    assert admitted(queue, "sns.amazonaws.com") == topics
    if not rules and not topics:  # invoked directly (CodeDeploy's hook): Lambda's role alone sends
        assert statements_for(queue) == []


def test_the_functions_without_a_trigger_are_the_ones_invoked_directly():
    direct = sorted(name for name, fn in FUNCTIONS.items() if not fn.triggers)
    assert direct == ["ApprovalGateway", "DeploymentGate", "DeploymentValidationHook"]
    assert TEMPLATE.resources["ApprovalGateway"]["Properties"]["FunctionUrlConfig"] == {"AuthType": "NONE"}
    assert TEMPLATE.resources["DeploymentGate"]["Metadata"]["InvokedBy"] == "codepipeline-lambdainvoke-rule"
    assert TEMPLATE.resources["DeploymentValidationHook"]["Metadata"]["InvokedBy"] == "codedeploy-lifecycle-hook"


def test_a_dead_letter_queue_with_messages_pages_on_call():
    alarmed = {alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
               for alarm in TEMPLATE.of_type("AWS::CloudWatch::Alarm").values()
               if alarm["Properties"].get("Namespace") == "AWS/SQS"}
    assert {queue_of(fn) for fn in FUNCTIONS.values()} <= alarmed
