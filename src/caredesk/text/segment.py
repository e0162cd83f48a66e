"""Word segmentation: jieba's dictionary (with the domain words of domain_words.txt) for Chinese, a simple word
split for English.

jieba keeps its dictionary as a Python dict of ~500,000 strings (every word and every prefix of one): ~65 MB
in each process. Here jieba still reads its dictionary and the domain words (so frequencies, including the
ones it suggests for domain words, are jieba's own), then the words go into an Aho-Corasick automaton
(pyahocorasick, ~23 MB) and jieba's dict is dropped. The cut is jieba's `cut(text, HMM=False)`, step for step:
the same blocks, the same word graph (every dictionary word at every position: the automaton finds them in
one C pass), the same route (log frequencies, the same tie-break) and the same joining of single Latin
characters. tests/unit/test_segment.py compares the two on the shipped corpus."""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from typing import Any

__all__ = ["Segmenter", "jieba_tokenizer", "tokenize"]

_LATIN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LENGTH_BITS = 10  # a value in the automaton is freq << 10 | len(word)


def jieba_tokenizer() -> Any:
    """A jieba Tokenizer with its dictionary and the domain words loaded (its dict of every word: large)."""
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    words = resources.files("caredesk.text").joinpath("domain_words.txt")
    with resources.as_file(words) as path:
        tokenizer.load_userdict(str(path))
    tokenizer.initialize()
    return tokenizer


class Segmenter:
    """jieba's `Tokenizer.cut(text, HMM=False)` over an automaton of its dictionary's words."""

    def __init__(self, tokenizer: Any) -> None:
        import ahocorasick
        from jieba import re_eng, re_han_default, re_skip_default

        self._han, self._skip, self._eng = re_han_default, re_skip_default, re_eng
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        for word, freq in tokenizer.FREQ.items():
            if freq:  # a prefix-only entry (0) only lets jieba's own scan walk on; the automaton needs none
                if len(word) >= 1 << _LENGTH_BITS:
                    raise ValueError(f"dictionary word of {len(word)} characters")
                automaton.add_word(word, freq << _LENGTH_BITS | len(word))
        automaton.make_automaton()
        self._automaton = automaton
        self._logtotal = math.log(tokenizer.total)

    def cut(self, sentence: str) -> Iterator[str]:
        for blk in self._han.split(sentence):
            if not blk:
                continue
            if self._han.match(blk):
                yield from self._cut_block(blk)
            else:
                for x in self._skip.split(blk):
                    if self._skip.match(x):
                        yield x
                    else:
                        yield from x

    def _cut_block(self, sentence: str) -> Iterator[str]:
        n = len(sentence)
        mask = (1 << _LENGTH_BITS) - 1
        # the word graph: start -> [(end, log freq)], as jieba's get_DAG and calc see it
        words: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        for end, value in self._automaton.iter(sentence):
            words[end - (value & mask) + 1].append((end, value >> _LENGTH_BITS))
        route: list[tuple[float, int]] = [(0.0, 0)] * (n + 1)
        log, logtotal = math.log, self._logtotal
        for idx in range(n - 1, -1, -1):
            found = words[idx]
            if found:
                route[idx] = max((log(freq) - logtotal + route[x + 1][0], x) for x, freq in found)
            else:  # no word starts here: the character alone, at jieba's frequency 1
                route[idx] = (log(1) - logtotal + route[idx + 1][0], idx)
        x, buf = 0, ""
        while x < n:
            y = route[x][1] + 1
            word = sentence[x:y]
            if len(word) == 1 and self._eng.match(word):
                buf += word
            else:
                if buf:
                    yield buf
                    buf = ""
                yield word
            x = y
        if buf:
            yield buf


_segmenter: Segmenter | None = None
_segmenter_lock = threading.Lock()


def _loaded() -> Segmenter:
    global _segmenter
    if _segmenter is None:
        with _segmenter_lock:
            if _segmenter is None:
                _segmenter = Segmenter(jieba_tokenizer())  # the tokenizer (and its dict) is dropped here
    return _segmenter


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
    for piece in _loaded().cut(lowered):
        piece = piece.strip()
        if piece and (_CJK.search(piece) or _LATIN.fullmatch(piece)):
            tokens.append(piece)
    return tuple(tokens)
