"""The one error every model parse raises: InvalidEvent, a ValueError with a one-line message.

`invalid CodePipeline Action Execution State Change: detail.stage: Field required`
"""

from __future__ import annotations

from typing import Any

from warden.core.text import wire_safe

MAX_LISTED = 3


class InvalidEvent(ValueError):
    """An input that is not a well-formed event of a kind Pipeline Warden understands.

    `kind` names what the input looked like (a detail-type, "approval message", ...); `fields` lists the
    dotted locations that failed (empty when the input as a whole is wrong).
    """

    def __init__(self, message: str, *, kind: str | None = None, fields: tuple[str, ...] = ()):
        # Always one line, and text any AWS call and log stream takes, whatever of the input it quotes.
        super().__init__(wire_safe(" ".join(str(message).split())))
        self.kind = kind
        self.fields = fields

    @classmethod
    def from_validation_error(cls, kind: str, error: Any) -> InvalidEvent:
        """Build from a pydantic ValidationError: `invalid <kind>: a.b: msg; c: msg (+N more)`."""
        problems: list[str] = []
        fields: list[str] = []
        for item in error.errors(include_url=False, include_input=False):
            where = location(item.get("loc", ()))
            fields.append(where)
            problems.append(f"{where}: {item.get('msg', 'invalid')}")
        shown = "; ".join(problems[:MAX_LISTED]) or "invalid"
        if len(problems) > MAX_LISTED:
            shown += f" (+{len(problems) - MAX_LISTED} more)"
        return cls(f"invalid {kind}: {shown}", kind=kind, fields=tuple(fields))


def location(loc: tuple[Any, ...] | list[Any]) -> str:
    """('detail', 'input-artifacts', 0, 'name') -> 'detail.input-artifacts[0].name'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(event)"
