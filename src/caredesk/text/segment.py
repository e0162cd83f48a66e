"""Word segmentation: jieba with the domain dictionary (domain_words.txt) for Chinese, a simple word split for
English."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["tokenize"]

_LATIN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    words = resources.files("caredesk.text").joinpath("domain_words.txt")
    with resources.as_file(words) as path:
        tokenizer.load_userdict(str(path))
    tokenizer.initialize()
    return tokenizer


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; Chinese runs go through jieba (HMM off: more stable on short queries).
    Cached for recent texts: the segment step and the classifier's word features cut the same masked text."""
    return list(_tokenize(text))


@lru_cache(maxsize=2048)
def _tokenize(text: str) -> tuple[str, ...]:
    lowered = text.lower()
    if not _CJK.search(lowered):
        return tuple(_LATIN.findall(lowered))
    tokens: list[str] = []
    for piece in _jieba().cut(lowered, HMM=False):
        piece = piece.strip()
        if piece and (_CJK.search(piece) or _LATIN.fullmatch(piece)):
            tokens.append(piece)
    return tuple(tokens)
