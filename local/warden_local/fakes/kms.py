"""Embedded KMS: a symmetric key is made as cheaply as KMS makes it.

moto 5.2 gives every new key a private key for Sign, Verify and GetPublicKey, and for a symmetric or HMAC
key spec it falls back to a fresh RSA-2048 pair: ~55 ms of CPU for each key, and every embedded world makes
one. KMS never signs or verifies with such a key, nor shows its public key (Sign, Verify and GetPublicKey
refuse a symmetric key; moto refuses the first two too, by key usage). So a symmetric or HMAC key here shares
one RSA pair, made for the process the first time one is asked for; an asymmetric key (RSA_*, ECC_*, SM2)
gets its own, as before. Encryption is untouched: it uses each key's own key material.
"""

from __future__ import annotations

from typing import Any

from moto.kms import models as kms_models
from moto.kms.utils import KeySpec

_MARK = "_warden_embedded"
_SHARED: list[Any] = []


def _never_used_for_signing(key_spec: str) -> bool:
    return key_spec == KeySpec.SYMMETRIC_DEFAULT or key_spec in KeySpec.hmac_key_specs()


def install() -> None:
    original = kms_models.generate_private_key
    if getattr(original, _MARK, False):
        return

    def generate_private_key(key_spec: str) -> Any:
        if not _never_used_for_signing(key_spec):
            return original(key_spec)
        if not _SHARED:
            _SHARED.append(original(key_spec))
        return _SHARED[0]

    setattr(generate_private_key, _MARK, True)
    kms_models.generate_private_key = generate_private_key
