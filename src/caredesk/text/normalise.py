"""Full-width to half-width (NFKC) and folded white space; traditional Chinese is left as is."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalise_text"]

_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip()
