"""SMS text rules, pure: how many segments a text takes, cutting a reply to fit, the opt-out and opt-in
keywords, and the phone number form contacts are kept under."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["OPT_IN", "OPT_OUT", "SmsLength", "fit_segments", "keyword", "normalise_phone", "sms_length"]

# The GSM 03.38 default alphabet (the basic set; its extension characters count twice)
_GSM = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
           "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM_EXT = set("^{}\\[~]|€\f")

OPT_OUT = frozenset({"td", "退订", "stop", "unsubscribe"})
OPT_IN = frozenset({"start", "恢复"})
_STRIP = " \t\r\n\u3000.。!！?？,，;；~～"


@dataclass(frozen=True)
class SmsLength:
    encoding: Literal["gsm7", "ucs2"]
    units: int  # septets (GSM) or UTF-16 code units (UCS-2)
    segments: int


def sms_length(text: str) -> SmsLength:
    """160 GSM characters (153 each when split) or 70 UCS-2 units (67 each when split), as handsets count."""
    if all(c in _GSM or c in _GSM_EXT for c in text):
        units, single, part, encoding = sum(2 if c in _GSM_EXT else 1 for c in text), 160, 153, "gsm7"
    else:
        units, single, part, encoding = len(text.encode("utf-16-le")) // 2, 70, 67, "ucs2"
    segments = 1 if units <= single else -(-units // part)
    return SmsLength("gsm7" if encoding == "gsm7" else "ucs2", units, segments)


def fit_segments(text: str, max_segments: int) -> str:
    """The text, cut with "…" so that it takes at most `max_segments` segments (an over-long bot answer costs
    the bank per segment and arrives out of order on some handsets)."""
    if sms_length(text).segments <= max_segments:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        mid = (low + high + 1) // 2
        if sms_length(text[:mid].rstrip() + "…").segments <= max_segments:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + "…"


def keyword(text: str) -> Literal["opt_out", "opt_in"] | None:
    """"TD", "退订", "STOP", "UNSUBSCRIBE" alone (any case, trailing punctuation allowed) opt out; "START",
    "恢复" opt back in. A keyword inside a sentence is an ordinary message."""
    word = text.strip(_STRIP).casefold()
    if word in OPT_OUT:
        return "opt_out"
    if word in OPT_IN:
        return "opt_in"
    return None


_PHONE = re.compile(r"^\+?[0-9]{5,20}$")


def normalise_phone(raw: str) -> str | None:
    """The number as contacts are kept: digits, "+" and the country code for mainland mobiles ("13800000000",
    "8613800000000", "008613800000000" -> "+8613800000000"); None when it is not a phone number."""
    value = re.sub(r"[\s\-()]", "", raw)
    if value.startswith("00"):
        value = "+" + value[2:]
    if not _PHONE.match(value):
        return None
    if re.fullmatch(r"1[3-9][0-9]{9}", value):
        return "+86" + value
    if re.fullmatch(r"861[3-9][0-9]{9}", value):
        return "+" + value
    return value
