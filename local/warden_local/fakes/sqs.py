"""Embedded SQS: SendMessage refuses what SQS refuses.

A message body, attribute name or string value may hold only #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
#x10000-#x10FFFF (SQS SendMessage); anything else is rejected with InvalidMessageContents. moto 5.2 stores
such a message (a lone surrogate, a C0 control) and then fails on every ReceiveMessage of its queue with a
UnicodeEncodeError, so a dead-letter writer that would fail in AWS looked as if it worked.
"""

from __future__ import annotations

import re
from typing import Any

from moto.sqs.exceptions import SQSException
from moto.sqs.responses import SQSResponse

_MARK = "_warden_embedded"
_OUTSIDE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class InvalidMessageContents(SQSException):
    def __init__(self, where: str) -> None:
        super().__init__("InvalidMessageContents",
                         f"The message contains characters outside the allowed set ({where}).")


def refused(body: Any, attributes: Any) -> str | None:
    """Where a message holds a character SQS refuses (`MessageBody`, `MessageAttributes.NAME`), or None."""
    if isinstance(body, str) and _OUTSIDE.search(body):
        return "MessageBody"
    for name, value in (attributes or {}).items():
        text = value.get("StringValue") if isinstance(value, dict) else None
        if _OUTSIDE.search(str(name)) or (isinstance(text, str) and _OUTSIDE.search(text)):
            return f"MessageAttributes.{name!r}"
    return None


def install() -> None:
    if getattr(SQSResponse, _MARK, False):
        return
    original = SQSResponse.send_message

    def send_message(self: SQSResponse) -> Any:
        where = refused(self._get_param("MessageBody"), self._get_param("MessageAttributes", {}))
        if where is not None:
            raise InvalidMessageContents(where)
        return original(self)

    SQSResponse.send_message = send_message  # type: ignore[method-assign]
    setattr(SQSResponse, _MARK, True)
