"""Decoding the text of Chinese and English mail. Mail programs label GBK and GB18030 text as GB2312, so
GB2312 and GBK are read as GB18030 (a superset); Big5 as Big5-HKSCS. A wrong label (UTF-8 bytes labelled
GB2312, GBK labelled UTF-8) is read with the common encodings in turn, and noted; a label Python does not know
is read as UTF-8 when the bytes are valid UTF-8, and otherwise the mail is refused whole."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from email.header import decode_header

from caredesk.errors import InvalidEmail

__all__ = ["Decoded", "decode_bytes", "decode_header_value"]

_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "euc-cn": "gb18030",
            "gb_2312-80": "gb18030", "x-euc-cn": "gb18030", "big5": "big5hkscs", "x-big5": "big5hkscs",
            "cn-big5": "big5hkscs", "ascii": "utf-8", "us-ascii": "utf-8", "unknown-8bit": "utf-8"}
_FALLBACKS = ("utf-8", "gb18030", "big5hkscs")


@dataclass(frozen=True)
class Decoded:
    text: str
    note: str | None = None  # how the text was read when not as labelled


def _codec(label: str) -> str | None:
    name = _ALIASES.get(label.strip().lower(), label.strip().lower())
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, label: str | None) -> Decoded:
    """The text of `data` labelled `label` (None: no label; UTF-8 is tried first, then the Chinese encodings)."""
    codec = _codec(label) if label else "utf-8"
    if codec is None:
        shown = (label or "")[:40]
        try:
            return Decoded(data.decode("utf-8"), f"unknown charset {shown!r} read as UTF-8")
        except UnicodeDecodeError:
            raise InvalidEmail(f"the mail's charset {shown!r} is unknown and its text is not UTF-8",
                               problem="unknown_charset", charset=shown) from None
    try:
        return Decoded(data.decode(codec))
    except UnicodeDecodeError:
        pass
    for other in _FALLBACKS:
        if other == codec:
            continue
        try:
            return Decoded(data.decode(other), f"labelled {label or 'nothing'} but read as {other}")
        except UnicodeDecodeError:
            continue
    return Decoded(data.decode(codec, errors="replace"), f"invalid {codec} bytes replaced")


def decode_header_value(raw: str) -> Decoded:
    """An RFC 2047 header (encoded words in any charset above), or raw 8-bit bytes that the parser kept as
    surrogates. Line breaks and control characters become spaces: a header never carries a second header."""
    notes: list[str] = []
    out: list[str] = []
    try:
        chunks = decode_header(raw)
    except Exception:  # a malformed encoded word: read the header as it stands
        chunks = [(raw, None)]
    for chunk, label in chunks:
        if isinstance(chunk, str):
            chunk = chunk.encode("ascii", "surrogateescape") if _has_surrogates(chunk) else chunk
            if isinstance(chunk, str):
                out.append(chunk)
                continue
        decoded = decode_bytes(chunk, label)
        out.append(decoded.text)
        if decoded.note:
            notes.append(decoded.note)
    text = "".join(ch if ch.isprintable() else " " for ch in "".join(out))
    return Decoded(" ".join(text.split()), "; ".join(notes) or None)


def _has_surrogates(s: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in s)
