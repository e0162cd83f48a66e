"""The refusals of the SMS webhooks, each with a stable code (the error tree is caredesk/errors.py)."""

from __future__ import annotations

from caredesk.errors import Forbidden, InvalidInput

__all__ = ["InvalidSmsPayload", "SmsSignatureRefused"]


class InvalidSmsPayload(InvalidInput):
    """A webhook body that is not the documented JSON (400): nothing of it is stored."""

    code = "invalid_sms_payload"


class SmsSignatureRefused(Forbidden):
    """A missing, forged or stale signature or token (403): the request is not read further."""

    code = "sms_signature_refused"
