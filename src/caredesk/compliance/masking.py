"""PII detection and masking for Chinese and English text (mobile and landline numbers, 18-character resident
IDs, bank cards, account and other long numbers, e-mail). Masked forms keep enough to recognise: 138****5678.

Masking goes by shape, not validity: a mistyped ID or a card number that fails Luhn is still someone's number
(checksums only decide which kind a match is called). The original stays in the encrypted text for those
allowed to reveal it.

Used by the triage PII step, by the log filter and wherever text leaves the system of record."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PiiMatch", "find_pii", "id_checksum_valid", "id_shaped", "luhn_valid", "mask_address", "mask_text",
           "mask_value"]


@dataclass(frozen=True, slots=True)
class PiiMatch:
    kind: str
    start: int
    end: int
    masked: str


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_ID_CARD = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){15,18}\d(?!\d)")
_LONG_NUMBER = re.compile(r"(?<!\d)(?:\d[ -]?){11,18}\d(?!\d)")  # 12 to 19 digits: accounts, cards, IDs
_BIRTH_DATE = re.compile(r"(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
_CN_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")
_CN_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")
_INTL_PHONE = re.compile(r"(?<![\d\w])(?:\+\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?!\d)")


def id_checksum_valid(value: str) -> bool:
    """An 18-character resident ID number whose last character is its ISO 7064 check digit."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17].upper()


def id_shaped(value: str) -> bool:
    """18 characters laid out as a resident ID (a birth date in the middle, or an X at the end), whatever its
    check digit says: customers mistype them."""
    return (len(value) == 18 and value[:17].isdigit() and value[17] in "0123456789Xx"
            and (value[17] in "Xx" or _BIRTH_DATE.fullmatch(value[6:14]) is not None))


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# A Chinese address starts with its province (or autonomous region) and its city: enough for an agent to
# place the customer, nothing that finds their door. The characters before a suffix may not be digits or
# street words, so that 市 in 市民中心 or 区 in a street name is not taken for a city or province.
_CN_REGION = re.compile(r"^(?:[^\d\s省市区县路街道号]{2,8}?(?:省|自治区|特别行政区))?"
                        r"(?:[^\d\s省市区县路街道号]{1,10}?(?:市|自治州|地区|盟))?")


def mask_address(address: str) -> str:
    """广东省深圳市南山区科技园1号 -> 广东省深圳市****; 1 Main St, Springfield, USA -> ****, USA (the
    country or city at the end of a Western address); anything else is masked whole."""
    value = address.strip()
    if not value:
        return value
    start = _CN_REGION.match(value)
    kept = start.group() if start else ""
    if kept and len(kept) < len(value):
        return f"{kept}****"
    head, comma, tail = value.rpartition(",")
    if comma and head.strip() and tail.strip() and not any(ch.isdigit() for ch in tail):
        return f"****, {tail.strip()}"
    return "****"


def mask_value(kind: str, value: str) -> str:
    digits = re.sub(r"\D", "", value)
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if kind == "id_card":
        return f"{value[:3]}{'*' * 11}{value[-4:]}"
    if kind == "bank_card":
        return f"{digits[:4]} **** **** {digits[-4:]}"
    if kind == "account":  # a long number of unknown kind: a card's form when it is as long, else the last four
        return f"{digits[:4]} **** **** {digits[-4:]}" if len(digits) >= 16 else f"**** {digits[-4:]}"
    if kind == "address":
        return mask_address(value)
    if kind in {"phone", "landline"}:
        return f"{digits[-11:-8]}****{digits[-4:]}" if len(digits) >= 11 else f"{'*' * (len(digits) - 4)}{digits[-4:]}"
    return "*" * len(value)


def find_pii(text: str) -> list[PiiMatch]:
    """Non-overlapping PII spans, most specific kinds first."""
    found: list[PiiMatch] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    def add(kind: str, m: re.Match[str]) -> None:
        found.append(PiiMatch(kind, m.start(), m.end(), mask_value(kind, m.group())))
        taken.append((m.start(), m.end()))

    for m in _EMAIL.finditer(text):
        add("email", m)
    mistyped: list[re.Match[str]] = []  # ID-shaped with a wrong check digit: an ID unless a valid card
    for m in _ID_CARD.finditer(text):
        if free(m.start(), m.end()):
            if id_checksum_valid(m.group()):
                add("id_card", m)
            elif id_shaped(m.group()):
                mistyped.append(m)
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if free(m.start(), m.end()) and 16 <= len(digits) <= 19 and luhn_valid(digits):
            add("bank_card", m)
    for m in mistyped:
        if free(m.start(), m.end()):
            add("id_card", m)
    for kind, pattern in (("phone", _CN_MOBILE), ("landline", _CN_LANDLINE), ("phone", _INTL_PHONE)):
        for m in pattern.finditer(text):
            if free(m.start(), m.end()):
                add(kind, m)
    for m in _LONG_NUMBER.finditer(text):  # a card failing Luhn, an account, any long number: masked all the same
        if free(m.start(), m.end()):
            add("account", m)
    return sorted(found, key=lambda p: p.start)


def mask_text(text: str) -> tuple[str, list[PiiMatch]]:
    matches = find_pii(text)
    out: list[str] = []
    last = 0
    for m in matches:
        out.append(text[last : m.start])
        out.append(m.masked)
        last = m.end
    out.append(text[last:])
    return "".join(out), matches
