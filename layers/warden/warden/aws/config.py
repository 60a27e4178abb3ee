"""Configuration documents: one JSON document per concern, validated by a pydantic model.

Deployed, each lives in SSM Parameter Store at `<prefix>/<kind>` and is read through powertools
Parameters (cached); a missing parameter means the safe defaults built into the models.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from pydantic import BaseModel, ValidationError

from warden.core.clock import now
from warden.core.errors import PermanentError
from warden.core.log import logger

# kind -> "module:Model"; imported on demand so that a handler only pays for the documents it reads.
DOCUMENTS: dict[str, str] = {
    "routing": "warden.notify.rules:RoutingConfig",
    "ledger": "warden.ledger.config:LedgerConfig",
    "escalation": "warden.approvals.tiers:EscalationConfig",
    "rollback": "warden.rollback.config:RollbackConfig",
    "artifacts": "warden.artifacts.config:ArtifactsConfig",
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


class ConfigUnreadable(Exception):
    """`ConfigStore.require`: the document exists but could not be read now (throttling, access, network):
    retrying may help, acting on the defaults instead would not be what the document says."""


def model_for(kind: str) -> type[BaseModel]:
    if kind not in DOCUMENTS:
        raise ConfigError(f"unknown configuration document {kind!r} (known: {', '.join(sorted(DOCUMENTS))})")
    module, _, name = DOCUMENTS[kind].partition(":")
    return getattr(importlib.import_module(module), name)


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


class ConfigStore:
    """Documents for one container: SSM first, then the model's defaults; cached for `max_age` seconds of
    Warden's clock,
    found or not, so that a steady stream of events costs no SSM call and no re-validation. Defaults that
    stand in for a document SSM would not show (throttling, an outage) are not cached, and `fallback(kind)`
    says "unreadable" (or "invalid" for a broken document), so that a function that changes other people's
    resources can refuse to act on defaults it was not configured with."""

    def __init__(self, ssm_client: Any, prefix: str, max_age: int = CACHE_SECONDS) -> None:
        self._ssm = ssm_client
        self._prefix = prefix.rstrip("/")
        self._max_age = max_age
        self._provider: Any = None
        self._cache: dict[str, tuple[float, BaseModel]] = {}
        self._fallback: dict[str, str] = {}

    def get(self, kind: str) -> BaseModel:
        cached = self._cache.get(kind)
        if cached and self._fresh(cached[0]):
            return cached[1]
        self._fallback.pop(kind, None)
        document = self._load(kind)
        if self._fallback.get(kind) != "unreadable":
            self._cache[kind] = (now().timestamp(), document)
        return document

    def _fresh(self, read_at: float) -> bool:
        """Read less than `max_age` seconds ago on Warden's clock (warden.core.clock): a replayed story sees
        a changed document at the story's time. A clock that went back (a replay's earlier step) reads
        again."""
        return read_at <= now().timestamp() < read_at + self._max_age

    def fallback(self, kind: str) -> str | None:
        """Why the last `get(kind)` returned defaults instead of the stored document: "unreadable" or
        "invalid"; None when the document was read (or none is stored)."""
        return self._fallback.get(kind)

    def require(self, kind: str) -> BaseModel:
        """The document as written, or its defaults when there is none; never the defaults in place of a
        document that exists. Unreadable: ConfigUnreadable (retry); invalid: InvalidConfig (permanent, the
        input is dead-lettered with the reason). For documents whose defaults act (rollback): a `dry_run`
        document that cannot be read must not become an `enforce` default."""
        cached = self._cache.get(kind)
        if cached and self._fresh(cached[0]) and kind not in self._fallback:  # not defaults `get` cached
            return cached[1]
        document = self._load(kind, strict=True)
        self._cache[kind] = (now().timestamp(), document)
        return document

    def _load(self, kind: str, strict: bool = False) -> BaseModel:
        from aws_lambda_powertools.utilities.parameters import SSMProvider
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        if self._provider is None:
            self._provider = SSMProvider(boto3_client=self._ssm)
        name = f"{self._prefix}/{kind}"
        try:
            raw = self._provider.get(name, max_age=0, force_fetch=True)  # cached above, on Warden's clock
        except GetParameterError as exc:
            if "ParameterNotFound" not in repr(exc.__cause__ or exc):
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
            return parse_document(kind, json.loads(raw))
        except (ValueError, ConfigError) as exc:
            if strict:
                logger.error("configuration invalid: not acting on defaults", extra={"parameter": name,
                                                                                   "error": str(exc)})
                raise InvalidConfig(f"{name} is invalid ({exc}); Warden does not act on defaults in place of "
                                    "the document: fix it, then redrive the dead letters") from None
            # A broken document must not silence Warden: keep working on the defaults, loudly.
            logger.error("configuration invalid, using defaults", extra={"parameter": name, "error": str(exc)})
            self._fallback[kind] = "invalid"
            return model_for(kind)()
