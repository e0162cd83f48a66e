"""Pure checks of customer contact and identity fields. Each returns the stored (canonical) form or raises
InvalidInput naming the field; nothing here reads the database or echoes the value back."""

from __future__ import annotations

import re
import unicodedata

from caredesk.compliance.masking import id_checksum_valid, luhn_valid
from caredesk.errors import InvalidInput

__all__ = ["ADDRESS_MAX", "NAME_MAX", "clean_address", "clean_bank_card", "clean_email", "clean_id_number",
           "clean_name", "clean_phone"]

NAME_MAX = 200
ADDRESS_MAX = 500
_PHONE = re.compile(r"^\+?[0-9][0-9 -]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _plain_text(value: str, field: str, max_chars: int) -> str:
    """Printable text of bounded length: no control characters (NUL included), valid Unicode."""
    text = value.strip()
    if not text:
        raise InvalidInput(f"{field} is empty", field=field)
    if len(text) > max_chars:
        raise InvalidInput(f"{field} is longer than {max_chars} characters", field=field, problem="too_long",
                           limit=max_chars)
    if any(unicodedata.category(ch) in {"Cc", "Cs"} for ch in text):
        raise InvalidInput(f"{field} contains control or invalid characters", field=field)
    return text


def clean_name(value: str) -> str:
    return _plain_text(value, "name", NAME_MAX)


def clean_address(value: str) -> str:
    return _plain_text(value, "address", ADDRESS_MAX)


def clean_phone(value: str) -> str:
    """Digits with an optional leading +, separators dropped: 138-1234-5678 and 138 1234 5678 are stored
    (and searched) as 13812345678, so that the keyed hash matches however the number was typed."""
    text = value.strip()
    digits = re.sub(r"\D", "", text)
    if not _PHONE.match(text) or not 5 <= len(digits) <= 20:
        raise InvalidInput("phone must be 5-20 digits, with an optional leading + and spaces or dashes",
                           field="phone")
    return ("+" if text.startswith("+") else "") + digits


def clean_email(value: str) -> str:
    text = value.strip()
    if len(text) > 254 or not _EMAIL.match(text) or not text.isprintable():
        raise InvalidInput("email is not a valid e-mail address", field="email")
    return text


def clean_id_number(value: str) -> str:
    """A resident ID: 18 characters whose last is the check digit (0-9 or X), or the older 15 digits."""
    text = "".join(value.split()).upper()
    if len(text) == 15 and text.isascii() and text.isdigit():
        return text
    if len(text) == 18 and text.isascii() and id_checksum_valid(text):
        return text
    raise InvalidInput("id_number must be 18 characters with a valid check digit, or 15 digits",
                       field="id_number")


def clean_bank_card(value: str) -> str:
    """12-19 digits (spaces and dashes allowed) passing the Luhn check; stored as digits only."""
    text = value.strip()
    digits = re.sub(r"[ -]", "", text)
    if not (digits.isascii() and digits.isdigit() and 12 <= len(digits) <= 19 and luhn_valid(digits)):
        raise InvalidInput("bank_card must be 12-19 digits passing the Luhn check", field="bank_card")
    return digits
