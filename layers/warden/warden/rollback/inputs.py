"""Which RollbackTrigger entry point an input reaches, and what makes it act once.

An alarm input (the EventBridge state change, or an alarm action's SNS message) becomes its Transition once,
when it arrives (`prepare`): an SNS message without a timestamp is stamped then, so that what is admitted,
claimed and acted on is one transition. It is admitted before any idempotency record is written (`skip`: a
forged, stale or suppressed input claims nothing, so it can neither act nor keep the real transition's
EventBridge event from acting), and claimed on the transition's identity (`key`: the alarm and CloudWatch's
timestamp, not the delivery), so the EventBridge event and the SNS message of one transition, and their
redeliveries, act once. Stage events (a rollback's own, which finish it) and CodeDeploy deployment events
converge by themselves and claim nothing. Anything else is ignored, with its reason.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from warden.rollback.trigger import RollbackTrigger

STAGE = ("warden.models.codepipeline", "StageExecutionStateChange")
DEPLOYMENT = ("warden.models.codedeploy", "CodeDeployDeploymentStateChange")


def _loaded(*models: tuple[str, str]) -> tuple[type, ...]:
    """The models named (module, class) whose module is loaded. An input of a model whose module was never
    imported cannot exist (parse_event imports the model of the input it parses), so testing an input against
    the loaded ones only answers the same, and an alarm's first event imports no CodePipeline or CodeDeploy
    model to find out it is neither."""
    return tuple(getattr(sys.modules[module], name) for module, name in models if module in sys.modules)


def _converging() -> tuple[type, ...]:
    return _loaded(STAGE, DEPLOYMENT)


class RollbackInputs:
    """`trigger()`: the RollbackTrigger (built on first use); `region`: where an SNS message without one is."""

    def __init__(self, trigger: Callable[[], RollbackTrigger], *, region: str) -> None:
        self._trigger = trigger
        self._region = region

    def prepare(self, parsed: Any) -> Any:
        """A stage or deployment event as it is; an alarm input as its Transition; anything else as it is."""
        from warden.rollback.alarm import transition_of

        if isinstance(parsed, _converging()):
            return parsed
        return transition_of(parsed, default_region=self._region) or parsed

    def skip(self, item: Any) -> dict[str, Any] | None:
        """The result of an input that must not act (ignored, or not admitted); None for one that may."""
        from warden.rollback.alarm import Transition

        if isinstance(item, _converging()):
            return None
        if not isinstance(item, Transition):
            return {"status": "ignored", "reason": f"not an alarm: {type(item).__name__}"}
        if not item.into_alarm:
            return {"status": "ignored", "reason": f"{item.previous} -> {item.state}"}
        return self._trigger().admit(item)

    @staticmethod
    def key(item: Any, delivery_id: str) -> dict[str, str] | None:
        """A transition acts once per transition; stage and deployment events claim nothing."""
        from warden.rollback.alarm import Transition

        return {"id": item.key} if isinstance(item, Transition) else None

    def handle(self, item: Any) -> Any:
        trigger = self._trigger()
        if isinstance(item, _loaded(STAGE)):
            return trigger.on_stage(item)
        if isinstance(item, _converging()):
            return trigger.on_deployment(item)
        return trigger.on_alarm(item)
