"""A value read on first use and kept for `max_age` seconds of Warden's clock (warden.core.clock), so that a
replayed story sees a change at the story's time, not the wall clock's. Only a value `keep` accepts is kept,
and a read that raises keeps nothing: a secret fixed after a refusal is read by the very next use."""

from __future__ import annotations

from collections.abc import Callable

from warden.core.clock import now


class Aged[T]:
    def __init__(self, read: Callable[[], T], max_age: float, keep: Callable[[T], bool] = lambda _: True) -> None:
        self._read = read
        self._max_age = max_age
        self._keep = keep
        self._cached: tuple[float, T] | None = None  # (read at, value), seconds on Warden's clock

    def __call__(self) -> T:
        at = now().timestamp()
        if self._cached is not None and self._cached[0] <= at < self._cached[0] + self._max_age:
            return self._cached[1]
        self._cached = None
        value = self._read()
        if self._keep(value):
            self._cached = (at, value)
        return value
