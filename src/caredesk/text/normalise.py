"""Full-width to half-width (NFKC) and folded white space; traditional Chinese is left as is."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold_width", "normalise_text"]

_SPACE = re.compile(r"\s+")
# Full-width digits, Latin letters and the signs inside numbers and addresses (+ - . @ _, the ideographic
# space) to their ASCII forms, one character for one; Chinese punctuation (，。！？：；（）) is left alone.
_FOLD = {cp: cp - 0xFEE0 for cp in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B),
                                    0xFF0B, 0xFF0D, 0xFF0E, 0xFF20, 0xFF3F)} | {0x3000: 0x20}


def normalise_text(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def fold_width(text: str) -> str:
    """The customer's text with full-width digits and letters made ASCII so that PII patterns find them, and
    everything else as written (what people are shown keeps the customer's punctuation)."""
    return text.translate(_FOLD).strip()
