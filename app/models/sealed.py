"""Columns sealed at rest (等保 三级: authentication data is stored encrypted).

``SealedString`` encrypts with AES-256-GCM on the way into the database and decrypts on the
way out, so services see plain values and a copy of the database (a backup, a dump) does not
reveal them. The key is set once at start by ``create_app`` from ``DATA_KEY``, or derived from
``SECRET_KEY`` with HKDF when ``DATA_KEY`` is not set (then rotating ``SECRET_KEY`` makes the
sealed values unreadable: set ``DATA_KEY`` in production). Stored form: ``v1:`` + base64 of
nonce ‖ ciphertext ‖ tag; the column name is bound in as associated data, so a value copied
into another sealed column does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String, TypeDecorator
from sqlalchemy.engine import Dialect

_PREFIX = "v1:"
_KEY: bytes | None = None


class SealedValueError(RuntimeError):
    """A sealed value could not be opened: wrong key, or the value was tampered with."""


def derive_data_key(secret_key: str | None, data_key: str | None) -> bytes:
    """The 32-byte key: ``data_key`` (base64) if given, else HKDF-SHA256 of ``secret_key``."""
    if data_key:
        try:
            key = base64.b64decode(data_key, validate=True)
        except binascii.Error as exc:
            raise ValueError(
                "DATA_KEY must be base64 of 32 random bytes, e.g. from "
                "`python -c 'import os, base64; print(base64.b64encode(os.urandom(32)).decode())'`"
            ) from exc
        if len(key) != 32:
            raise ValueError("DATA_KEY must decode to 32 bytes (AES-256).")
        return key
    if not secret_key:
        raise ValueError("Either DATA_KEY or SECRET_KEY must be set to seal values at rest.")
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"jixiao sealed columns v1")
    return hkdf.derive(secret_key.encode())


def set_data_key(key: bytes) -> None:
    global _KEY
    _KEY = key


def _aead() -> AESGCM:
    if _KEY is None:
        raise SealedValueError("No data key is set: create the app (create_app) before touching sealed columns.")
    return AESGCM(_KEY)


class SealedString(TypeDecorator[str]):
    """A string column stored encrypted; ``length`` is the stored (encrypted, base64) length."""

    impl = String
    cache_ok = True

    def __init__(self, length: int, purpose: str) -> None:
        super().__init__(length)
        self.purpose = purpose.encode()

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        nonce = os.urandom(12)
        sealed = nonce + _aead().encrypt(nonce, value.encode(), self.purpose)
        return _PREFIX + base64.b64encode(sealed).decode()

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not value.startswith(_PREFIX):
            raise SealedValueError("A sealed column holds a value that was not sealed.")
        raw = base64.b64decode(value[len(_PREFIX) :])
        try:
            return _aead().decrypt(raw[:12], raw[12:], self.purpose).decode()
        except InvalidTag as exc:
            raise SealedValueError(
                "A sealed value does not open with this data key: was SECRET_KEY or DATA_KEY changed?"
            ) from exc
