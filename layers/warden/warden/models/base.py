"""Shared bases: every model keeps unknown fields (AWS adds them) and accepts field names or JSON names."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from warden.core.text import wire_safe
from warden.models.errors import InvalidEvent, location

CONFIG = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)
# An AWS Region code (us-east-1, eu-central-2, us-gov-west-1, cn-north-1, ap-southeast-5): every client
# and link Warden makes from an event's region needs one; anything else is invalid input (dead-lettered).
def _number_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


# A field AWS documents as a string but some samples print as a number (`"version": 1` of an action type,
# in older AWS documentation and in aws-lambda-go / aws-lambda-rust test events): either is accepted.
Text = Annotated[str, BeforeValidator(_number_as_text)]
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$"
Region = Annotated[str, StringConstraints(pattern=REGION_PATTERN, max_length=30)]
# An AWS account id: 12 digits. Keys and ARNs are built from it; anything else is invalid input.
AccountId = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]


# Every time an input carries must lie in these years: Warden adds days to them (expiries, retention),
# subtracts windows and writes epoch seconds, and a time near year 1 or 9999 overflows that arithmetic
# (OverflowError) however often it is retried. AWS has written no event before 2000 and will write none
# in 2100 and later: a time outside them is invalid input, dead-lettered with its field named.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def within_years(moment: datetime) -> datetime:
    """`moment` unchanged when it lies in [EARLIEST, LATEST) (naive means UTC); ValueError otherwise."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not EARLIEST <= aware < LATEST:
        raise ValueError(f"a time outside the years {EARLIEST.year} to {LATEST.year - 1}")
    return moment


def _time_text_within_years(value: str | None) -> str | None:
    moment = parse_time(value)
    if moment is not None:
        within_years(moment)
    return value


# A time field: a datetime in range. TimeText: a time kept as text (AWS's `...+0000` forms), leniently read
# (text that is no time stays as it is), but a time outside the years is invalid.
Moment = Annotated[datetime, AfterValidator(within_years)]
TimeText = Annotated[str, AfterValidator(_time_text_within_years)]


class WardenModel(BaseModel):
    model_config = CONFIG


MAX_EVENT_ID = 256


_SURROGATE = re.compile("[\ud800-\udfff]")


def unencodable(value: Any, limit: int = 100_000) -> str | None:
    """Where `value` (decoded JSON) holds text that is not Unicode: a lone surrogate (U+D800-U+DFFF),
    which JSON's `\\ud800` escape can carry but UTF-8 cannot encode, so that no AWS call, key, digest or
    log line could ever hold it. Returns its location (`detail.pipeline`, `Records[0].Sns.MessageId`), or
    None. A key is checked as well as its value; at most `limit` values are looked at."""
    stack: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    seen = 0
    while stack and seen < limit:
        path, item = stack.pop()
        seen += 1
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return _location(path)
        elif isinstance(item, dict):
            for key, child in item.items():
                if isinstance(key, str) and _SURROGATE.search(key):
                    return _location((*path, key))
                stack.append(((*path, key), child))
        elif isinstance(item, list):
            stack.extend(((*path, index), child) for index, child in enumerate(item))
    return None


def _location(path: tuple[Any, ...]) -> str:
    return wire_safe(location(path))  # a key may be the text at fault


def reject_unencodable(raw: Any, kind: str, prefix: str = "") -> None:
    """InvalidEvent naming the field when `raw` holds text that is not Unicode (a lone surrogate): no key,
    digest, AWS call or log line could hold it, so the input is refused before any of them is made.
    `prefix`: where `raw` sits in what was delivered (`Records[0]`)."""
    where = unencodable(raw)
    if where is not None:
        where = f"{prefix}.{where}" if prefix else where
        raise InvalidEvent(f"invalid {kind}: {where}: text with a lone surrogate (U+D800-U+DFFF) is not Unicode",
                           kind=kind, fields=(where,))


class EventBridgeModel(BaseModel):
    """The EventBridge envelope, field for field as powertools' parser model (whose package imports every
    model it has, a cold-start cost paid for nothing here)."""

    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    version: str
    id: str
    source: str
    account: AccountId
    time: Moment
    region: Region
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    detail: dict[str, Any]
    replay_name: str | None = Field(None, alias="replay-name")


class WardenEventBridgeModel(EventBridgeModel):
    """An EventBridge event, as emitted, or as "processed" by a CodeStar notification rule.

    The processed form (CodePipeline user guide, "Monitoring CodePipeline events") renames `detail-type` to
    `detailType` and has no `id`/`version`: it is normalised here, with a stable id derived from the content
    so that idempotency on the event id still holds. Some documented samples print `account` unquoted.
    """

    model_config = CONFIG

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if "detail-type" not in data and "detail_type" not in data and "detailType" in data:
            data = dict(data)
            data["detail-type"] = data["detailType"]
            if "id" not in data:
                digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
                data["id"] = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
            data.setdefault("version", "0")
        if isinstance(data.get("account"), int) and not isinstance(data.get("account"), bool):
            data = dict(data)
            data["account"] = f"{data['account']:012d}"
        return data

    @model_validator(mode="after")
    def _identified_and_zoned(self) -> Any:
        # Idempotency keys on the id, and every ordering compares times: an empty id or a time without a
        # zone can never be handled right, so the event is invalid (dead-lettered at once with this reason).
        if not str(self.id).strip():
            raise ValueError("the event id is empty")
        if len(self.id) > MAX_EVENT_ID:  # EventBridge's are UUIDs; keys built on it must stay within DynamoDB's
            raise ValueError(f"the event id is longer than {MAX_EVENT_ID} characters")
        if self.time.tzinfo is None:
            raise ValueError("the event time has no time zone")
        start = getattr(getattr(self, "detail", None), "start_time", None)
        if isinstance(start, datetime) and start.tzinfo is None:
            raise ValueError("detail start-time has no time zone")
        return self


def parse_time(value: Any) -> datetime | None:
    """Lenient timestamp parse for fields kept as text (`2016-07-07T20:22Z`, `...+0000`); None if unparseable.
    A time without a zone is UTC (AWS writes every time in UTC), so it compares with the clock."""
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    global _TIME_ADAPTER
    if _TIME_ADAPTER is None:
        _TIME_ADAPTER = TypeAdapter(datetime)
    try:
        moment = _TIME_ADAPTER.validate_python(value)
    except ValidationError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


_TIME_ADAPTER: TypeAdapter[datetime] | None = None
