"""Exact IAM (issue 12, item 5): every AWS call a function makes is allowed by its own policies in
template.yaml, and every action its policies allow is one it makes.

The bundled story, every scenario and every sample event are replayed in the embedded world with
each call recorded per function (warden_local.observe.RECORDER.access); the functions' policies are
read from template.yaml with the default parameters (SAM policy templates expanded to their actions).
Calls AWS makes on a function's behalf are added: Lambda decrypts the environment and dead-letters
asynchronous invocations with the function's role; SNS and SQS need the caller's KMS permissions on
encrypted topics and queues. A missing permission or an unused one fails the build.
"""

from __future__ import annotations

import fnmatch

import pytest

from tests.helpers import EVENTS
from warden_local.observe import RECORDER
from warden_local.replay import replay
from warden_local.world import World

# SAM policy templates used in template.yaml, with the actions they grant.
SAM_TEMPLATES = {
    "SNSPublishMessagePolicy": ["sns:Publish"],
    "KMSDecryptPolicy": ["kms:Decrypt"],
    "SQSSendMessagePolicy": ["sqs:SendMessage*", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
    "AWSSecretsManagerGetSecretValuePolicy": ["secretsmanager:GetSecretValue"],
    "DynamoDBCrudPolicy": ["dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Scan",
                           "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem",
                           "dynamodb:BatchGetItem", "dynamodb:DescribeTable", "dynamodb:ConditionCheckItem"],
    "DynamoDBReadPolicy": ["dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query", "dynamodb:BatchGetItem",
                           "dynamodb:DescribeTable"],
    "S3ReadPolicy": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion",
                     "s3:GetLifecycleConfiguration"],
    "CloudWatchPutMetricPolicy": ["cloudwatch:PutMetricData"],
}
# IAM actions whose names differ from the API operation called (Service Authorization Reference, S3).
IAM_ACTION_OF = {
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3:GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "s3:PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3:ListObjectsV2": "s3:ListBucket",
    # DynamoDB transactions are authorised as their parts (Using IAM with DynamoDB transactions): Warden's
    # transactions only update items.
    "dynamodb:TransactWriteItems": "dynamodb:UpdateItem",
}
# Parts of SAM templates that no Warden code path calls, but that the template cannot leave out.
TEMPLATE_EXTRAS = {"sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
# Allowed and needed, but on a path the replayed inputs do not take; each says which path.
IDEMPOTENCY_FAILURE = "powertools Idempotency deletes the in-progress record when the handler raises"
INVALID_DOCUMENT = "the last valid version of a stored document that does not validate (test_config_runtime.py)"
ELSEWHERE = {
    ("ApprovalGateway", "ssm:GetParameterHistory"): INVALID_DOCUMENT,
    ("ApprovalGateway", "codepipeline:ListActionExecutions"): "a decision retried after its call was made checks "
    "that CodePipeline's summary is its own (test_slack_approvals.py), and a PARALLEL execution's approval",
    ("NotificationRouter", "dynamodb:DeleteItem"): IDEMPOTENCY_FAILURE,
    ("ApprovalTracker", "dynamodb:DeleteItem"): IDEMPOTENCY_FAILURE,
    ("ApprovalEscalator", "dynamodb:DeleteItem"): IDEMPOTENCY_FAILURE,
    ("ApprovalEscalator", "dynamodb:GetItem"): "powertools Idempotency: a redelivered schedule event reads the "
                                               "saved sweep result",
    ("ApprovalEscalator", "codepipeline:GetPipelineExecution"): "the release of an escalation page when the "
                                                                "execution's STARTED was lost (warden.notify.release)",
    ("ApprovalTracker", "codepipeline:GetPipelineExecution"): "who waits, when the execution's STARTED was lost",
    ("DeploymentTracker", "codepipeline:GetPipelineExecution"): "the commit of an execution whose event has no "
                                                                "trigger (V1 pipelines, test_ledger.py)",
    ("DeploymentTracker", "codecommit:GetCommit"): "CodeCommit sources only (tests/integration/ledger/test_ledger.py)",
    ("RollbackTrigger", "dynamodb:DeleteItem"): IDEMPOTENCY_FAILURE,
    ("RollbackTrigger", "codepipeline:ListPipelineExecutions"): "when the ledger lags behind the alarm, the "
                                                                "release's start and end (test_rollback.py)",
    ("RollbackTrigger", "codedeploy:ListDeployments"): "an alarm guarding a deployment group (test_rollback.py)",
    ("RollbackTrigger", "codedeploy:BatchGetDeployments"): "an alarm guarding a deployment group (test_rollback.py)",
    ("RollbackTrigger", "codedeploy:StopDeployment"): "an alarm guarding a deployment group (test_rollback.py)",
    ("RollbackTrigger", "codepipeline:StopPipelineExecution"): "an alarm while the stage is still deploying "
                                                               "(test_rollback.py)",
    ("RollbackTrigger", "cloudwatch:DescribeAlarms"): "confirming an alarm message from SNS "
                                                      "(tests/faults/test_rollback_hostile.py)",
    ("RollbackTrigger", "codepipeline:ListActionExecutions"): "which execution ran a deployment CodeDeploy rolled "
                                                              "back on its own (tests/integration/ledger/"
                                                              "test_dora_facts.py)",
    ("RollbackTrigger", "codedeploy:GetDeployment"): "CodeDeploy's rollback of a deployment Warden stopped "
                                                     "(tests/faults/test_rollback_hostile.py)",
    ("DeploymentValidationHook", "dynamodb:UpdateItem"): "counting attempts after a transient read failure "
                                                         "(tests/faults/test_rollback_hostile.py)",
    ("DeploymentValidationHook", "codedeploy:GetDeploymentGroup"): "the group's alarms (test_validation_hook.py)",
    ("DeploymentValidationHook", "cloudwatch:DescribeAlarms"): "the group's alarms (test_validation_hook.py)",
    ("DeploymentValidationHook", "tag:GetResources"): "alarms tagged for the group (test_validation_hook.py)",
    **{("DeploymentGate", action): "a stage condition's rule job (freeze/test_gate.py)" for action in (
        "codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult", "codepipeline:GetJobDetails",
        "codepipeline:GetPipelineExecution", "codepipeline:ListTagsForResource",
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem",
        "sns:Publish", "cloudwatch:DescribeAlarms", "ssm:GetParameter", "kms:GenerateDataKey")},
    ("DeploymentValidationHook", "dynamodb:GetItem"): "the deployment gate's freezes (test_gate.py)",
    ("DeploymentValidationHook", "dynamodb:PutItem"): "the gate's first answer per deployment (test_gate.py)",
    ("DeploymentValidationHook", "sns:Publish"): "telling the team of an automatic freeze (test_gate.py)",
    ("ArtifactGuard", "dynamodb:DeleteItem"): "a deleted pipeline leaves the artifact map (test_artifacts.py)",
    ("ArtifactGuard", "s3:PutEncryptionConfiguration"): "enforce mode with a customer managed key known "
                                                        "(test_artifacts.py)",
    ("ArtifactGuard", "s3:GetObject"): "refreshing a rollback target's artifacts (test_artifact_rollback_targets.py)",
    ("ArtifactGuard", "s3:PutObject"): "refreshing a rollback target's artifacts (test_artifact_rollback_targets.py)",
    ("ArtifactGuard", "secretsmanager:GetSecretValue"): "paging a finding when PagerDuty is configured",
    ("ApprovalEscalator", "codepipeline:ListActionExecutions"): "reconciling an approval that is not the latest "
                                                                "at its stage (PARALLEL mode, test_approvals.py)",
    ("DeploymentTracker", "sns:Publish"): "telling the team of an invalid ledger document (test_config_runtime.py)",
    ("DeploymentTracker", "dynamodb:PutItem"): "the claim of that notice (test_config_runtime.py)",
    ("DeploymentTracker", "dynamodb:DeleteItem"): "releasing the claim when its publish fails",
    ("NotificationRouter", "ssm:GetParameterHistory"): INVALID_DOCUMENT,
    ("ApprovalTracker", "ssm:GetParameterHistory"): INVALID_DOCUMENT,
    ("ApprovalEscalator", "ssm:GetParameterHistory"): INVALID_DOCUMENT,
    ("DeploymentTracker", "ssm:GetParameterHistory"): INVALID_DOCUMENT,
    ("RollbackTrigger", "ssm:GetParameterHistory"): INVALID_DOCUMENT,
    ("ArtifactGuard", "ssm:GetParameterHistory"): INVALID_DOCUMENT,
}


def implicit(template_fn: dict) -> set[str]:
    """Calls made with the function's role by AWS itself."""
    found = {"kms:Decrypt"}  # Lambda decrypts the environment (KmsKeyArn in Globals)
    if template_fn.get("DeadLetterQueue"):
        found |= {"sqs:SendMessage"}  # Lambda dead-letters failed asynchronous invocations
    return found


def needs_kms(actions: set[str]) -> set[str]:
    """Publishing to an encrypted topic, or sending to an encrypted queue, needs the caller's KMS grants."""
    return {"kms:GenerateDataKey", "kms:Decrypt"} if actions & {"sns:Publish", "sqs:SendMessage"} else set()


def allowed(world: World, policies: list) -> set[str]:
    actions: set[str] = set()
    for policy in world.resolve(policies):
        if isinstance(policy, str):
            pytest.fail(f"managed policy {policy}: list the actions the function calls instead")
        for name, value in policy.items():
            if name == "Statement":
                for statement in value if isinstance(value, list) else [value]:
                    if statement.get("Effect") == "Allow":
                        action = statement["Action"]
                        actions |= set(action if isinstance(action, list) else [action])
            elif name in SAM_TEMPLATES:
                actions |= set(SAM_TEMPLATES[name])
            else:
                pytest.fail(f"unknown SAM policy template {name}: add its actions to SAM_TEMPLATES")
    return actions


def covered(action: str, patterns: set[str]) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def gate_story():
    """DeploymentGate asked by a stage condition: frozen by the calendar, then by an open incident, then let in."""
    from datetime import UTC, datetime

    from tests.integration.freeze.test_gate import HOLIDAYS, ask, configure, pipeline
    from warden.notify.incidents import Incidents, incident_key

    with World() as world:
        execution = pipeline(world)
        configure(world, HOLIDAYS | {"automatic": {"enabled": True}})
        world.client("ssm").put_parameter(Name="/pipeline-warden/rollback", Type="String", Overwrite=True,
                                          Value='{"rules": [{"name": "p", "alarms": ["payments-5xx"], '
                                                '"pipeline": "payments-api", "stage": "Prod"}]}')
        ask(world, execution, datetime(2026, 12, 25, 12, tzinfo=UTC))
        at = datetime(2026, 11, 27, 9, tzinfo=UTC)
        Incidents(world.client("dynamodb"), world.ref("StateTable")).open(
            incident_key(account="111122223333", region="us-east-1", pipeline="payments-api"), event_id="e",
            execution_id="x", at=at, summary="failed")
        ask(world, execution, at)


def exercised():
    """(calls per function, allowed actions per function), from one replay of everything bundled."""
    inputs = [str(p) for p in sorted((EVENTS / "scenarios").glob("*.json"))]
    samples = [str(p) for p in sorted(EVENTS.glob("*/*.json")) if p.parent.name != "scenarios"]
    RECORDER.access.clear()
    with World() as world:
        template = {lid: res.get("Properties", {})
                    for lid, res in world.template.of_type("AWS::Serverless::Function").items()}
        policies = {lid: allowed(world, props.get("Policies", [])) for lid, props in template.items()}
    for path in inputs:
        replay([path])  # each scenario in a world of its own (their world calls overlap)
    replay(samples)
    gate_story()  # a stage condition's rule job: no replay input names one yet (the embedded CodePipeline issues it)
    calls: dict[str, set[str]] = {lid: set() for lid in template}
    for function, action in RECORDER.access:
        calls[function].add(IAM_ACTION_OF.get(action, action))
    for lid, props in template.items():
        calls[lid] |= implicit(props)
        calls[lid] |= needs_kms(calls[lid])
    return calls, policies


def test_each_function_calls_exactly_what_its_policies_allow():
    """One replay (about 20 s of CPU), so one test: missing permissions, unused ones, and the check itself."""
    calls, policies = exercised()
    assert all(len(actions) > 3 for actions in calls.values()), calls  # every function was exercised
    missing = {fn: sorted(a for a in actions if not covered(a, policies[fn])) for fn, actions in calls.items()}
    assert not any(missing.values()), f"calls template.yaml does not allow: {missing}"
    unused = {fn: sorted(p for p in patterns if p not in TEMPLATE_EXTRAS and (fn, p) not in ELSEWHERE
                         and not any(fnmatch.fnmatchcase(a.lower(), p.lower()) for a in calls[fn]))
              for fn, patterns in policies.items()}
    assert not any(unused.values()), f"permissions no call needs: {unused}"
    stale = [(fn, action) for fn, action in ELSEWHERE if action not in policies.get(fn, set())]
    assert not stale, f"ELSEWHERE names permissions the template no longer grants: {stale}"
    # The check can fail: without sns:Publish, the functions that publish would be missing it.
    fewer = {fn: {p for p in patterns if p != "sns:Publish"} for fn, patterns in policies.items()}
    assert any(not covered("sns:Publish", fewer[fn]) for fn, actions in calls.items() if "sns:Publish" in actions)


def test_each_function_gets_only_its_own_environment():
    """A function that never publishes has no topic in its environment; one without a table, no table."""
    with World() as world:
        for lid, fn in world.functions.items():
            env = set(fn.environment)
            policies = str(world.template.resources[lid]["Properties"].get("Policies", []))
            for variable, resource in {"LEDGER_TABLE": "LedgerTable", "STATE_TABLE": "StateTable",
                                       "IDEMPOTENCY_TABLE": "IdempotencyTable", "ONCALL_TOPIC_ARN": "OnCallTopic",
                                       "CHAT_TOPIC_ARN": "ChatTopic"}.items():
                assert (variable in env) == (resource in policies), (lid, variable)


