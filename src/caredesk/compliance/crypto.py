"""Encryption at rest for sensitive columns: AES-256-GCM with key ids (rotation: new writes use the active
key, old rows stay readable while their key is in the keyring, `caredesk keys rotate` re-encrypts them),
and keyed hashes (HMAC-SHA256) so that an encrypted value can still be looked up by equality.

The keyring is process-wide, installed by the composition root before the first query: column types are
built at import, long before settings exist, so they read it at bind time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["PREFIX", "EncryptedText", "Keyring", "KeyringError", "current_keyring", "install_keyring",
           "keyring_from_settings"]

PREFIX = "enc:v1:"
_lock = threading.Lock()
_installed: Keyring | None = None


class KeyringError(ValueError):
    """Keys that cannot be used, or a ciphertext whose key is not in the keyring."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]  # key id -> 32-byte AES key
    active: str
    hash_key: bytes  # for keyed hashes; never rotated silently (the hashes would stop matching)

    def __post_init__(self) -> None:
        if self.active not in self.keys:
            raise KeyringError(f"the active key {self.active!r} is not in the keyring")
        for kid, key in self.keys.items():
            if len(key) != 32:
                raise KeyringError(f"key {kid!r} must be 32 bytes (AES-256), got {len(key)}")
            if ":" in kid:
                raise KeyringError(f"key id {kid!r} must not contain ':'")

    def encrypt(self, plaintext: str, *, context: bytes = b"") -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[self.active]).encrypt(nonce, plaintext.encode("utf-8"), context)
        return f"{PREFIX}{self.active}:{base64.b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, stored: str, *, context: bytes = b"") -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before encryption was switched on: `caredesk keys rotate` encrypts it
        kid, _, blob = stored[len(PREFIX):].partition(":")
        key = self.keys.get(kid)
        if key is None:
            raise KeyringError(f"no key {kid!r} in the keyring to decrypt a stored value")
        raw = base64.b64decode(blob)
        return AESGCM(key).decrypt(raw[:12], raw[12:], context).decode("utf-8")

    def key_id_of(self, stored: str | None) -> str | None:
        if stored is None or not stored.startswith(PREFIX):
            return None
        return stored[len(PREFIX):].partition(":")[0]

    def keyed_hash(self, value: str) -> str:
        """Equality lookups on an encrypted column: the same normalised value always gives the same hash."""
        normalised = "".join(value.split()).lower()
        return hmac.new(self.hash_key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=b"caredesk-field-encryption", info=label).derive(
        secret.encode("utf-8"))


def keyring_from_settings(keys: dict[str, str], active: str | None, secret_key: str) -> Keyring:
    """Explicit keys (base64, 32 bytes each) when configured; otherwise one key derived from the secret key
    (development and demo: the data is encrypted all the same, but rotating the secret key loses it)."""
    if not keys:
        return Keyring({"derived": _derive(secret_key, b"aes")}, "derived", _derive(secret_key, b"hmac"))
    decoded: dict[str, bytes] = {}
    for kid, text in keys.items():
        try:
            decoded[kid] = base64.b64decode(text, validate=True)
        except ValueError:
            raise KeyringError(f"encryption key {kid!r} is not valid base64") from None
    chosen = active or max(decoded)
    return Keyring(decoded, chosen, _derive(secret_key, b"hmac"))


def install_keyring(keyring: Keyring) -> None:
    global _installed
    with _lock:
        _installed = keyring


def current_keyring() -> Keyring:
    if _installed is None:
        raise KeyringError("no encryption keyring installed (the composition root installs it)")
    return _installed


class EncryptedText(TypeDecorator[str]):
    """A Text column stored as AES-256-GCM ciphertext; reads give the plaintext back."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or value.startswith(PREFIX):
            return value
        return current_keyring().encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return current_keyring().decrypt(str(value))
