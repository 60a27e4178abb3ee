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

from pydantic import Field, field_validator

from warden.core.clock import parse_iso
from warden.models.base import Region, WardenEventBridgeModel, WardenModel, within_years

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
    aws_region: Region | None = Field(None, alias="awsRegion")
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

    @field_validator("event_time")
    @classmethod
    def _an_iso_time(cls, value: str | None) -> str | None:
        # CloudTrail writes `2026-11-26T08:21:07Z`; ArtifactGuard orders a person's edit against its own
        # writes by it, so an eventTime that is no ISO 8601 time is invalid input (found by fuzzing).
        if value is None:
            return value
        try:
            moment = parse_iso(value)
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {value[:40]!r}") from None
        within_years(moment)
        return value

    @field_validator("request_parameters")
    @classmethod
    def _bucket_named(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # An S3 call names its bucket; anything else there cannot be matched to a bucket, nor acted on.
        name = (value or {}).get("bucketName", "")
        if name != "" and not (isinstance(name, str) and 3 <= len(name) <= 63):
            raise ValueError("bucketName is not a bucket name")
        return value

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


class EncryptionKey(WardenModel):
    id: str = Field(min_length=1, max_length=400)
    type: str | None = None


class ArtifactStore(WardenModel):
    type: str = "S3"
    location: str = Field(min_length=1, max_length=255)
    encryption_key: EncryptionKey | None = Field(None, alias="encryptionKey")


class PipelineDeclaration(WardenModel):
    """The parts of a pipeline structure (CreatePipeline/UpdatePipeline `pipeline`) that name its artifact
    stores: one `artifactStore`, or `artifactStores` by Region (cross-region actions)."""

    name: str = Field(pattern=r"^[A-Za-z0-9.@_-]{1,100}$")
    version: int | None = Field(None, ge=0)
    artifact_store: ArtifactStore | None = Field(None, alias="artifactStore")
    artifact_stores: dict[Region, ArtifactStore] | None = Field(None, alias="artifactStores")


class CloudTrailApiCallEvent(WardenEventBridgeModel):
    detail: CloudTrailDetail

    def pipeline_declaration(self) -> dict[str, Any] | None:
        """The pipeline structure a CreatePipeline/UpdatePipeline call carries (the response's, else the
        request's), validated; None when it carries none; InvalidEvent (dead-lettered) when it is malformed."""
        from pydantic import ValidationError

        from warden.models.errors import InvalidEvent

        found = (self.detail.response_elements or {}).get("pipeline") or self.detail.params.get("pipeline")
        if not found:
            return None
        try:
            return PipelineDeclaration.model_validate(found).model_dump(by_alias=True, exclude_none=True)
        except ValidationError as exc:
            raise InvalidEvent.from_validation_error(f"{CLOUDTRAIL_DETAIL_TYPE} pipeline structure", exc) from None

    @property
    def api(self) -> str:
        """`codepipeline:UpdatePipeline`, from eventSource and eventName."""
        return f"{self.detail.event_source.split('.', 1)[0]}:{self.detail.event_name}"
