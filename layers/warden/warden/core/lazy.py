"""A collaborator built on its first use.

A service wired with another that only some events need (the router's release lookup and rollback marks are
read for failures and rollbacks only) takes `Later(lambda: ...)` instead (and so does every shared AWS client,
warden.aws.clients): the same object, built (its module
imported, its clients made) when it is first used, then the same one for ever after. A cold start then pays
only for what its first event uses. Construction has no effects, so building it later changes nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Later:
    """Stands for `make()`: every attribute is the built object's, built on the first lookup."""

    __slots__ = ("_made", "_make")

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._made: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._made is None:
            self._made = self._make()
        return getattr(self._made, name)

    def __repr__(self) -> str:
        return f"Later({self._made!r})"
