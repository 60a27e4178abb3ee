"""Errors that retrying cannot fix: the event goes straight to the function's dead-letter queue.

A sweep reads many stored items; one that cannot be handled (written by an older version, or from a
forged input) must not stop the others. `BAD_ITEM` is what such an item can raise: its own fault,
never the network's (botocore's errors are not among them, so a throttled call still fails the sweep
for Lambda to retry). `one_by_one` runs a sweep's items so: a bad one is handed to `skip` (logged,
counted and dead-lettered with its reason, warden.runtime.container) and the sweep goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


class PermanentError(Exception):
    """Raised by domain code when the input or a third party's answer makes success impossible."""


BAD_ITEM: tuple[type[BaseException], ...] = (PermanentError, ValueError, TypeError, KeyError, IndexError,
                                             AttributeError, ArithmeticError, RecursionError, UnicodeError)

Skip = Callable[[Any, BaseException], Any]


def one_by_one[T](items: Iterable[T], handle: Callable[[T], Any], skip: Skip | None) -> list[T]:
    """`handle(item)` for each item; an item that raises one of BAD_ITEM goes to `skip(item, error)` and
    is returned among the skipped (without `skip`, the error is raised as before)."""
    skipped: list[T] = []
    for item in items:
        try:
            handle(item)
        except BAD_ITEM as exc:
            if skip is None:
                raise
            skip(item, exc)
            skipped.append(item)
    return skipped


class RetryableError(Exception):
    """Raised by domain code when the answer it needs may come on a later attempt (throttling past
    botocore's retries): Lambda retries the invocation, and dead-letters it after its retries."""
