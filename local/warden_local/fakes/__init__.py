"""An honest extension of moto for the CodePipeline, CodeDeploy and CloudWatch calls moto 5.2 lacks.

`install()` once (idempotent), then use boto3 under `moto.mock_aws()` as usual. Feed CodePipeline
events, approval messages and CloudWatch alarm state changes with `apply_event`; read recorded state with
`codepipeline_state` /
`codedeploy_state`. Credentials from AssumeRole act in the role's account (`accounts`).
"""

from typing import Any

from . import accounts, cloudwatch, codedeploy, codepipeline, kms, loader, moto_model, s3, sqs
from .codedeploy import EmbeddedCodeDeploy, codedeploy_state
from .codepipeline import EmbeddedCodePipeline, codepipeline_state


def apply_event(event: Any, at: Any = None, account_id: str | None = None) -> bool:
    """An event that happened in the embedded AWS: an alarm's state change (fakes/cloudwatch.py), else a
    CodePipeline event or approval message (fakes/codepipeline.py)."""
    if isinstance(event, dict) and event.get("source") == "aws.cloudwatch":
        return cloudwatch.apply_event(event)
    return codepipeline.apply_event(event, at, account_id)


__all__ = [
    "EmbeddedCodeDeploy",
    "EmbeddedCodePipeline",
    "apply_event",
    "codedeploy_state",
    "codepipeline_state",
    "install",
]


def install() -> None:
    """Add the missing actions to moto's handlers; safe to call any number of times."""
    moto_model.check()  # one clear error naming the moto version, not failures downstream
    loader.install()  # every session of the process reads the service models once (fakes/loader.py)
    codepipeline.install()
    codedeploy.install()
    cloudwatch.install()
    accounts.install()
    s3.install()  # bucket-policy conditions, default encryption, time and lifecycle (fakes/s3.py)
    sqs.install()  # SendMessage refuses characters outside SQS's set (fakes/sqs.py)
    kms.install()  # a symmetric key shares one never-used signing pair instead of making its own (fakes/kms.py)
