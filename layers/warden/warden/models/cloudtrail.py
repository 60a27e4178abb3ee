"""AWS API calls delivered to EventBridge by CloudTrail (detail-type "AWS API Call via CloudTrail").

Documented: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html and the
CloudTrail record contents https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
- detail {eventVersion, userIdentity{type, principalId, arn, accountId, accessKeyId, sessionContext, invokedBy},
eventTime, eventSource, eventName, awsRegion, sourceIPAddress, userAgent, requestParameters, responseElements,
errorCode?, errorMessage?, requestID, eventID, readOnly, eventType, managementEvent, recipientAccountId, ...}.
CodePipeline UpdatePipeline/CreatePipeline carry requestParameters.pipeline (the pipeline structure);
S3 PutBucket* calls carry requestParameters.bucketName.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from warden.models.base import WardenEventBridgeModel, WardenModel

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"


class UserIdentity(WardenModel):
    type: str | None = None
    principal_id: str | None = Field(None, alias="principalId")
    arn: str | None = None
    account_id: str | None = Field(None, alias="accountId")
    access_key_id: str | None = Field(None, alias="accessKeyId")
    invoked_by: str | None = Field(None, alias="invokedBy")
    session_context: dict[str, Any] | None = Field(None, alias="sessionContext")


class CloudTrailDetail(WardenModel):
    event_source: str = Field(alias="eventSource")
    event_name: str = Field(alias="eventName")
    event_version: str | None = Field(None, alias="eventVersion")
    user_identity: UserIdentity | None = Field(None, alias="userIdentity")
    event_time: str | None = Field(None, alias="eventTime")
    aws_region: str | None = Field(None, alias="awsRegion")
    source_ip_address: str | None = Field(None, alias="sourceIPAddress")
    user_agent: str | None = Field(None, alias="userAgent")
    request_parameters: dict[str, Any] | None = Field(None, alias="requestParameters")
    response_elements: dict[str, Any] | None = Field(None, alias="responseElements")
    error_code: str | None = Field(None, alias="errorCode")
    error_message: str | None = Field(None, alias="errorMessage")
    request_id: str | None = Field(None, alias="requestID")
    event_id: str | None = Field(None, alias="eventID")
    read_only: bool | None = Field(None, alias="readOnly")
    event_type: str | None = Field(None, alias="eventType")
    management_event: bool | None = Field(None, alias="managementEvent")
    recipient_account_id: str | None = Field(None, alias="recipientAccountId")

    @property
    def succeeded(self) -> bool:
        return self.error_code is None

    @property
    def actor(self) -> str | None:
        identity = self.user_identity
        return (identity.arn or identity.invoked_by or identity.principal_id) if identity else None

    @property
    def params(self) -> dict[str, Any]:
        return self.request_parameters or {}


class CloudTrailApiCallEvent(WardenEventBridgeModel):
    detail: CloudTrailDetail

    @property
    def api(self) -> str:
        """`codepipeline:UpdatePipeline`, from eventSource and eventName."""
        return f"{self.detail.event_source.split('.', 1)[0]}:{self.detail.event_name}"
