"""The one DynamoDB attribute-value codec of the layer, without boto3's serializer (its import costs cold
start). Numbers come back as int when whole, sets as Python sets; None is never stored inside a map.
Each feature's own keys stay in that feature (warden.ledger.keys, ...): this only turns values into
DynamoDB's typed form and back.
"""

from __future__ import annotations

from typing import Any


def to_av(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float):
        return {"N": repr(round(value, 3)) if isinstance(value, float) else str(value)}
    if isinstance(value, set | frozenset):
        return {"SS": sorted(value)}
    if isinstance(value, dict):
        return {"M": {k: to_av(v) for k, v in value.items() if v is not None}}
    if isinstance(value, list | tuple):
        return {"L": [to_av(v) for v in value]}
    if value is None:
        return {"NULL": True}
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB")


def from_av(av: dict[str, Any]) -> Any:
    (kind, value), = av.items()
    if kind == "N":
        number = float(value)
        return int(number) if number.is_integer() else number
    if kind == "M":
        return {k: from_av(v) for k, v in value.items()}
    if kind == "L":
        return [from_av(v) for v in value]
    if kind in ("SS", "NS"):
        return set(value)
    if kind == "NULL":
        return None
    return value


def from_item(item: dict[str, Any] | None) -> dict[str, Any]:
    return {k: from_av(v) for k, v in (item or {}).items()}
