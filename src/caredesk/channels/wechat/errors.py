"""Refusals of a callback, each with its stable code (see caredesk/errors.py). None says more than the
reason: the body and the customer's id are never echoed or logged."""

from __future__ import annotations

from caredesk.errors import Forbidden, InvalidInput

__all__ = ["BadSignature", "EncryptionRequired", "MalformedCallback", "StaleCallback", "WrongAppId"]


class BadSignature(Forbidden):
    """`signature` / `msg_signature` is not the SHA-1 of the account's token with the request's values."""

    code = "wechat_bad_signature"


class StaleCallback(Forbidden):
    """The timestamp is outside the window, or its nonce was seen before (a replay)."""

    code = "wechat_stale_callback"


class WrongAppId(Forbidden):
    """The encrypted frame names another app id / corp id than the account's."""

    code = "wechat_wrong_app_id"


class EncryptionRequired(Forbidden):
    """A plaintext callback to an account with an AES key (safe or compatible mode only)."""

    code = "wechat_encryption_required"


class MalformedCallback(InvalidInput):
    """Not a WeChat callback body: malformed or hostile XML, an encrypted frame that does not decrypt."""

    code = "wechat_malformed_callback"
