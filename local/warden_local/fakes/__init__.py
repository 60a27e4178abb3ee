"""An honest extension of moto for the CodePipeline and CodeDeploy calls moto 5.2 lacks.

`install()` once (idempotent), then use boto3 under `moto.mock_aws()` as usual. Feed CodePipeline
events and approval messages with `apply_event`; read recorded state with `codepipeline_state` /
`codedeploy_state`. Credentials from AssumeRole act in the role's account (`accounts`).
"""

from . import accounts, codedeploy, codepipeline, moto_model, s3
from .codedeploy import EmbeddedCodeDeploy, codedeploy_state
from .codepipeline import EmbeddedCodePipeline, apply_event, codepipeline_state

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
    codepipeline.install()
    codedeploy.install()
    accounts.install()
    s3.install()  # bucket-policy conditions, default encryption, time and lifecycle (fakes/s3.py)
