"""The WeChat / WeCom message crypto (WXBizMsgCrypt): SHA-1 signatures over the sorted parameters, and the
AES-256-CBC frame `random(16) | length(4, big-endian) | message | receive id`, PKCS#7-padded to 32-byte blocks,
key = base64(EncodingAESKey + "="), IV = the key's first 16 bytes. Written on `cryptography` rather than
wechatpy (no release since 2021; it does not check the padding it strips)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["BLOCK", "BadFrame", "MessageCrypto", "signature", "signature_matches"]

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16


class BadFrame(ValueError):
    """The encrypted frame does not decrypt to a well-formed message (wrong key, tampered, truncated)."""


def signature(token: str, *parts: str) -> str:
    """SHA-1 hex of the token and the parts, sorted and joined (the `signature` / `msg_signature` rule)."""
    return hashlib.sha1("".join(sorted((token, *parts))).encode("utf-8")).hexdigest()


def signature_matches(given: str, token: str, *parts: str) -> bool:
    return hmac.compare_digest(given.lower().encode("ascii", "replace"), signature(token, *parts).encode("ascii"))


def _pad(data: bytes) -> bytes:
    n = BLOCK - len(data) % BLOCK
    return data + bytes([n]) * n


def _unpad(data: bytes) -> bytes:
    if not data or len(data) % 16:
        raise BadFrame("the frame is not a whole number of blocks")
    n = data[-1]
    if not 1 <= n <= BLOCK or data[-n:] != bytes([n]) * n:
        raise BadFrame("bad padding")
    return data[:-n]


class MessageCrypto:
    """One account's AES key and receive id (the Official Account's app id, the WeCom corp id)."""

    def __init__(self, encoding_aes_key: str, receive_id: str) -> None:
        if len(encoding_aes_key) != 43:
            raise ValueError("the EncodingAESKey must be 43 characters")
        try:
            self._key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error:
            raise ValueError("the EncodingAESKey is not base64") from None
        if len(self._key) != 32:
            raise ValueError("the EncodingAESKey must decode to 32 bytes")
        self.receive_id = receive_id

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def decrypt(self, encrypted: str) -> tuple[str, str]:
        """(message, receive id of the frame). The caller compares the receive id with its own."""
        try:
            raw = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise BadFrame("not base64") from None
        if not raw or len(raw) % 16:
            raise BadFrame("the ciphertext is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        plain = _unpad(decryptor.update(raw) + decryptor.finalize())
        if len(plain) < 20:
            raise BadFrame("the frame is too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise BadFrame("the message length runs past the frame")
        try:
            return plain[20:20 + length].decode("utf-8"), plain[20 + length:].decode("utf-8")
        except UnicodeDecodeError:
            raise BadFrame("the frame is not UTF-8") from None

    def encrypt(self, message: str, *, random_prefix: bytes | None = None) -> str:
        prefix = random_prefix if random_prefix is not None else os.urandom(16)
        body = message.encode("utf-8")
        frame = _pad(prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8"))
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(frame) + encryptor.finalize()).decode("ascii")
