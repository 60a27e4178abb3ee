"""What a feature sees of the configuration documents: one validated document per kind (routing, escalation,
artifacts, rollback, ledger), read through the container's store (warden.runtime.documents.ConfigStore, the one
implementation). Features are handed a store; they never build one, and never name the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict


class StrictDocument(BaseModel):
    """The base of every document's models: configuration is typed by people, so a misspelt key is an error,
    not a silent default. Each model's validator is built on its first use (`defer_build`), not when its module
    is imported: a cold start builds only the documents its first event reads."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class Documents(Protocol):
    def get(self, kind: str) -> Any:
        """The document, or its defaults when there is none (or, loudly, when it cannot be read)."""

    def require(self, kind: str) -> Any:
        """The document as written, or its defaults when there is none; never defaults in its place."""

    def fallback(self, kind: str) -> str | None:
        """Why the last `get(kind)` returned defaults: "unreadable", "invalid", or None."""


class ConfigUnreadable(Exception):
    """`Documents.require`: the document exists but could not be read now (throttling, access, network):
    retrying may help, acting on the defaults instead would not be what the document says."""


@dataclass(frozen=True)
class InvalidDocument:
    """A stored document that does not validate, and what runs instead of it."""

    kind: str
    parameter: str
    problems: tuple[str, ...]
    digest: str  # of the stored value: one notice per change of it
    using: str  # "version 3 of the parameter, the last that validates", "the built-in defaults", "nothing: ..."

    @property
    def error(self) -> str:
        return "; ".join(self.problems)
