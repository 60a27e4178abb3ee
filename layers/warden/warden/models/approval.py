"""The JSON body CodePipeline publishes to a manual-approval action's SNS topic.

Documented: https://docs.aws.amazon.com/codepipeline/latest/userguide/approvals-json-format.html
- {region, consoleLink, approval{pipelineName, stageName, actionName, token, expires (`2016-07-07T20:22Z`,
no seconds), externalEntityLink, approvalReviewLink, customData}}; an older revision shows empty strings for the
links. Delivered to Lambda inside an SNS record: https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "<the JSON as a string>", ...}}]}).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import Field, ValidationError, field_validator

from warden.models.base import Region, WardenModel, parse_time, reject_unencodable, within_years
from warden.models.errors import InvalidEvent

APPROVAL_KIND = "manual approval message"


# CodePipeline's own rule for pipeline, stage and action names (PutApprovalResult: 1-100, [A-Za-z0-9.@\-_]+).
NAME = r"^[A-Za-z0-9.@_-]{1,100}$"


class ApprovalDetails(WardenModel):
    pipeline_name: str = Field(alias="pipelineName", pattern=NAME)
    stage_name: str = Field(alias="stageName", pattern=NAME)
    action_name: str = Field(alias="actionName", pattern=NAME)
    token: str = Field(min_length=1, max_length=200)
    expires: str | None = None

    @field_validator("expires")
    @classmethod
    def _a_time(cls, value: str | None) -> str | None:
        # `2016-07-07T20:22Z` (documented); an expiry that is not a time is not CodePipeline's.
        moment = parse_time(value) if value is not None else None
        if value is not None and moment is None:
            raise ValueError(f"not a time: {value[:40]!r}")
        if moment is not None:
            within_years(moment)
        return value
    external_entity_link: str | None = Field(None, alias="externalEntityLink")
    approval_review_link: str | None = Field(None, alias="approvalReviewLink")
    custom_data: str | None = Field(None, alias="customData")

    @property
    def expires_at(self) -> datetime | None:
        return parse_time(self.expires)


class ManualApprovalMessage(WardenModel):
    region: Region | None = None
    console_link: str | None = Field(None, alias="consoleLink")
    approval: ApprovalDetails

    @property
    def pipeline(self) -> str:
        return self.approval.pipeline_name

    @property
    def stage(self) -> str:
        return self.approval.stage_name

    @property
    def action(self) -> str:
        return self.approval.action_name

    @property
    def token(self) -> str:
        return self.approval.token

    @property
    def expires_at(self) -> datetime | None:
        return self.approval.expires_at

    @classmethod
    def parse(cls, body: Any) -> ManualApprovalMessage:
        """The message body (dict or JSON text) -> model; InvalidEvent otherwise."""
        if isinstance(body, (str, bytes)):
            try:
                body = json.loads(body)
            except ValueError as exc:
                raise InvalidEvent(f"invalid {APPROVAL_KIND}: not JSON ({exc})", kind=APPROVAL_KIND) from None
        if not isinstance(body, dict):
            raise InvalidEvent(
                f"invalid {APPROVAL_KIND}: expected a JSON object, got {type(body).__name__}", kind=APPROVAL_KIND
            )
        reject_unencodable(body, APPROVAL_KIND)
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            raise InvalidEvent.from_validation_error(APPROVAL_KIND, exc) from None

    @classmethod
    def from_sns(cls, value: Any) -> ManualApprovalMessage:
        """Parse from an SNS record (`{"EventSource": "aws:sns", "Sns": {...}}`), an SNS notification
        (`{"Type": "Notification", "Message": "..."}`), the message string, or the body itself."""
        return cls.parse(sns_message(value))


def sns_message(value: Any) -> Any:
    """The Message of an SNS Lambda record or notification; anything else is returned unchanged."""
    if isinstance(value, dict):
        if isinstance(value.get("Sns"), dict):
            value = value["Sns"]
        if "Message" in value and "approval" not in value:
            return value["Message"]
    return value


def approvals_from_sns_event(event: Any) -> list[ManualApprovalMessage]:
    """Every approval message in an SNS-to-Lambda event (`{"Records": [...]}`)."""
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list) or not records:
        raise InvalidEvent("invalid SNS event: Records: expected a non-empty list", kind="SNS event")
    return [ManualApprovalMessage.from_sns(record) for record in records]
