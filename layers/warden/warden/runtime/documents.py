"""Configuration documents: one JSON document per concern, validated by a pydantic model.

Deployed, each lives in SSM Parameter Store at `<prefix>/<kind>` and is read with one GetParameter through
the container's SSM client, cached here on Warden's clock (`ConfigStore`); a missing parameter means the safe
defaults built into the models. `parse_value` is
the one parse of a stored value: the functions use it, and so does `warden config validate`, so a document
that validates is exactly what runs.

A stored document that does not validate never silently becomes the defaults. Documents whose features
act on other people's resources (`require`: rollback, artifacts) fail closed: nothing acts until it is
fixed. The others (`get`: routing, escalation, ledger) keep the last version of the parameter that
validates (SSM keeps its history), else the defaults. Either way `on_invalid` hears of it on every read
(the container counts it and tells the team once per stored value), so a typo is loud and never repeats
itself into a flood: the notice's claim is keyed on the value's digest, whichever container reads it.

The registry (`DOCUMENTS`): each kind and the feature module that owns its model, imported on demand with
a plain import statement (so a handler only pays for the documents it reads, and the import-contract test
sees every arrow). A feature adds a document by adding its model to its own `config` module and one line here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from warden.core.clock import now
from warden.core.documents import ConfigUnreadable, InvalidDocument
from warden.core.errors import PermanentError
from warden.core.log import logger


def _routing() -> type[BaseModel]:
    from warden.notify.rules import RoutingConfig

    return RoutingConfig


def _ledger() -> type[BaseModel]:
    from warden.ledger.config import LedgerConfig

    return LedgerConfig


def _escalation() -> type[BaseModel]:
    from warden.approvals.tiers import EscalationConfig

    return EscalationConfig


def _rollback() -> type[BaseModel]:
    from warden.rollback.config import RollbackConfig

    return RollbackConfig


def _artifacts() -> type[BaseModel]:
    from warden.artifacts.config import ArtifactsConfig

    return ArtifactsConfig


def _approvers() -> type[BaseModel]:
    from warden.approvals.policy import ApproversConfig

    return ApproversConfig


def _freeze() -> type[BaseModel]:
    from warden.freeze.config import FreezeConfig

    return FreezeConfig


# kind -> its model, imported on demand so that a handler only pays for the documents it reads.
DOCUMENTS: dict[str, Callable[[], type[BaseModel]]] = {
    "routing": _routing,
    "ledger": _ledger,
    "escalation": _escalation,
    "rollback": _rollback,
    "artifacts": _artifacts,
    "approvers": _approvers,
    "freeze": _freeze,
}

CACHE_SECONDS = 300


class ConfigError(ValueError):
    """A configuration document that does not validate; the message names the rule and field.
    `problems` holds every error, one line each (`routing.rules[1] (name 'x').match.stage: ...`)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or [message]


class InvalidConfig(PermanentError):
    """`ConfigStore.require`: the document exists and does not validate; retrying cannot help."""


def model_for(kind: str) -> type[BaseModel]:
    if kind not in DOCUMENTS:
        raise ConfigError(f"unknown configuration document {kind!r} (known: {', '.join(sorted(DOCUMENTS))})")
    return DOCUMENTS[kind]()


def _where(kind: str, loc: tuple[Any, ...], data: Any) -> str:
    """`routing.rules[2] (name 'prod-deploys').match.pipelnes` from a pydantic error location."""
    text, node = kind, data
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                text += f" (name {node['name']!r})"
        else:
            text += f".{part}"
            node = node.get(part) if isinstance(node, dict) else None
    return text


def parse_document(kind: str, data: Any) -> BaseModel:
    model = model_for(kind)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_where(kind, tuple(err['loc']), data)}: {err['msg']}" for err in exc.errors()]
        raise ConfigError("; ".join(problems), problems) from None


def parse_value(kind: str, raw: str) -> BaseModel:
    """The value of the SSM parameter `<prefix>/<kind>` as the functions read it: JSON, then the document's
    model, nothing else (a value wrapped as `{"<kind>": {...}}` is an unknown key, as it is at run time)."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{kind}: the value is not JSON: {exc}") from None
    return parse_document(kind, data)


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def parse_documents(data: Any) -> dict[str, BaseModel]:
    """A file or a scenario's `config`: {"routing": {...}, "escalation": {...}, ...}. Every error of every
    document is reported (ConfigError.problems), not only the first document's."""
    if not isinstance(data, dict):
        raise ConfigError("a configuration file is a JSON object keyed by document kind "
                          f"({', '.join(sorted(DOCUMENTS))})")
    documents, problems = {}, []
    for kind, doc in data.items():
        try:
            documents[kind] = parse_document(kind, doc)
        except ConfigError as exc:
            problems += exc.problems
    if problems:
        raise ConfigError("; ".join(problems), problems)
    return documents


def is_bundle(data: Any) -> bool:
    """{"routing": {...}, ...}: documents keyed by kind, as in a scenario's `config` (not one SSM value)."""
    return isinstance(data, dict) and bool(data) and all(key in DOCUMENTS for key in data)


def kinds_fitting(data: Any) -> list[str]:
    """The kinds whose model has every top-level key of `data`: which document an SSM value can be."""
    if not isinstance(data, dict):
        return []
    return [kind for kind in sorted(DOCUMENTS) if set(data) <= set(model_for(kind).model_fields)]


# A non-prod stack (Environment dev or staging) watches, unless its own document says otherwise: ArtifactGuard
# audits, RollbackTrigger only says what it would do. A document that sets `mode` is followed as written.
NON_PROD_MODES = {"artifacts": "audit", "rollback": "dry_run"}


def for_environment(kind: str, document: BaseModel, environment: str) -> BaseModel:
    """`document` as a stack of `environment` runs it: a non-prod stack's acting documents default to watching."""
    mode = NON_PROD_MODES.get(kind)
    if mode is None or environment == "prod" or "mode" in document.model_fields_set:
        return document
    return document.model_copy(update={"mode": mode})


class ConfigStore:
    """Documents for one container: SSM first, then the model's defaults; cached for `max_age` seconds of
    Warden's clock,
    found or not, so that a steady stream of events costs no SSM call and no re-validation. Defaults that
    stand in for a document SSM would not show (throttling, an outage) are not cached, and `fallback(kind)`
    says "unreadable" (or "invalid" for a broken document), so that a function that changes other people's
    resources can refuse to act on defaults it was not configured with."""

    def __init__(self, ssm_client: Any, prefix: str, max_age: int = CACHE_SECONDS,
                 on_invalid: Callable[[InvalidDocument], None] | None = None, environment: str = "prod") -> None:
        """`on_invalid(doc)`: called on every read of a stored document that does not validate (after it is
        logged); its own failure is logged and never stops the read. `environment`: a non-prod stack's acting
        documents default to watching."""
        self._environment = environment
        self._ssm = ssm_client
        self._prefix = prefix.rstrip("/")
        self._max_age = max_age
        self._cache: dict[str, tuple[float, BaseModel]] = {}
        self._fallback: dict[str, str] = {}
        self._on_invalid = on_invalid

    def get(self, kind: str) -> BaseModel:
        cached = self._cache.get(kind)
        if cached and self._fresh(cached[0]):
            return cached[1]
        self._fallback.pop(kind, None)
        document = for_environment(kind, self._load(kind), self._environment)
        if self._fallback.get(kind) != "unreadable":
            self._cache[kind] = (now().timestamp(), document)
        return document

    def _fresh(self, read_at: float) -> bool:
        """Read less than `max_age` seconds ago on Warden's clock (warden.core.clock): a replayed story sees
        a changed document at the story's time. A clock that went back (a replay's earlier step) reads
        again."""
        return read_at <= now().timestamp() < read_at + self._max_age

    def fallback(self, kind: str) -> str | None:
        """Why the last `get(kind)` did not return the stored document: "unreadable" (the defaults) or
        "invalid" (its last valid version, else the defaults); None when it was read (or none is stored)."""
        return self._fallback.get(kind)

    def require(self, kind: str) -> BaseModel:
        """The document as written, or its defaults when there is none; never the defaults in place of a
        document that exists. Unreadable: ConfigUnreadable (retry); invalid: InvalidConfig (permanent, the
        input is dead-lettered with the reason). For documents whose defaults act (rollback): a `dry_run`
        document that cannot be read must not become an `enforce` default."""
        cached = self._cache.get(kind)
        if cached and self._fresh(cached[0]) and kind not in self._fallback:  # not defaults `get` cached
            return cached[1]
        document = for_environment(kind, self._load(kind, strict=True), self._environment)
        self._cache[kind] = (now().timestamp(), document)
        return document

    def _load(self, kind: str, strict: bool = False) -> BaseModel:
        name = f"{self._prefix}/{kind}"
        try:
            raw = self._read(name)
        except Exception as exc:  # noqa: BLE001 (any failure to read: unreadable, as Parameters' GetParameterError)
            if "ParameterNotFound" not in repr(exc):
                if strict:
                    logger.error("configuration unreadable: not acting on defaults", extra={
                        "parameter": name, "error": str(exc)})
                    raise ConfigUnreadable(f"{name} could not be read ({exc}); Warden does not act on "
                                           "defaults in place of the document") from exc
                logger.warning("configuration unreadable, using defaults", extra={"parameter": name,
                                                                                 "error": str(exc)})
                self._fallback[kind] = "unreadable"
            return model_for(kind)()
        try:
            return parse_value(kind, raw)
        except ConfigError as exc:
            problems = tuple(exc.problems)
        if strict:
            self._report(InvalidDocument(kind, name, problems, digest(raw), "nothing: what this document governs "
                                         "does not act until it is fixed"))
            raise InvalidConfig(f"{name} is invalid ({'; '.join(problems)}); Warden does not act on defaults in "
                                "place of the document: fix it, then redrive the dead letters")
        # A broken document must not silence Warden, nor quietly become the defaults: its last valid version.
        self._fallback[kind] = "invalid"
        last = self._last_valid(kind, name, raw)
        using = f"version {last[0]} of the parameter, the last that validates" if last else "the built-in defaults"
        self._report(InvalidDocument(kind, name, problems, digest(raw), using))
        return last[1] if last else model_for(kind)()

    def _read(self, name: str) -> str:
        """The stored value, one GetParameter as powertools Parameters' SSMProvider makes it (no decryption),
        through the container's client. The cache is `get`'s and `require`'s, on Warden's clock; the provider's
        own (max_age 0, force_fetch) was never used, and importing it cost every cold start its provider tree
        (AppConfig, DynamoDB, Secrets Manager)."""
        return self._ssm.get_parameter(Name=name, WithDecryption=False)["Parameter"]["Value"]

    def _last_valid(self, kind: str, name: str, current: str) -> tuple[int, BaseModel] | None:
        """The newest earlier version of the parameter that validates (GetParameterHistory, newest first as
        SSM keeps at most 100); None when there is none or the history cannot be read."""
        history: list[dict[str, Any]] = []
        try:
            for page in self._ssm.get_paginator("get_parameter_history").paginate(Name=name, WithDecryption=True):
                history += page.get("Parameters", [])
        except Exception as exc:  # noqa: BLE001 (no history: the defaults, said as such)
            logger.warning("configuration history unreadable", extra={"parameter": name, "error": str(exc)})
            return None
        for entry in sorted(history, key=lambda e: e.get("Version", 0), reverse=True):
            value = entry.get("Value")
            if not isinstance(value, str) or value == current:
                continue
            try:
                return entry.get("Version", 0), parse_value(kind, value)
            except ConfigError:
                continue
        return None

    def _report(self, invalid: InvalidDocument) -> None:
        logger.error("configuration invalid", extra={"parameter": invalid.parameter, "error": invalid.error,
                                                     "using": invalid.using})
        if self._on_invalid is None:
            return
        try:
            self._on_invalid(invalid)
        except Exception as exc:  # noqa: BLE001 (telling of it must not stop what the document governs)
            logger.error("could not tell of an invalid configuration", extra={"parameter": invalid.parameter,
                                                                              "error": str(exc)})
