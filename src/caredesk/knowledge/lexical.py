"""Lexical half of knowledge retrieval: BM25 over entries, each entry one document made of all its questions,
with character 1-3-grams (paraphrase, typos, Chinese without segmentation) and jieba / English words (keeps
登录密码 apart from 交易密码) as terms. A score is normalised by the query's own best possible score, so it reads
as "the share of the query's information this entry contains" and stays in [0, 1]."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from caredesk.text.normalise import normalise_text
from caredesk.text.segment import tokenize

__all__ = ["LexicalIndex", "query_terms"]

_NOT_WORD = re.compile(r"[^\w]+")
_WORD_MARK = "\x01"
STOP_SHARE = 0.05
STOP_MIN_ENTRIES = 2_000


def query_terms(text: str) -> list[str]:
    """Distinct terms of a text: character 1-3-grams of each run of letters/digits/CJK (punctuation and space
    split runs; single Latin letters and digits are dropped as uninformative), then its words."""
    lowered = normalise_text(text).lower()
    out: dict[str, None] = {}
    for run in _NOT_WORD.sub(" ", lowered).split():
        size = len(run)
        for n in (1, 2, 3):
            for i in range(size - n + 1):
                gram = run[i:i + n]
                if n > 1 or not gram.isascii():
                    out.setdefault(gram, None)
    for word in tokenize(lowered):
        out.setdefault(_WORD_MARK + word, None)
    return list(out)


class LexicalIndex:
    """BM25 (k1, b) over entry documents; term-major postings so a query touches only its own terms."""

    def __init__(self, documents: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.size = len(documents)
        self.k1 = k1
        vocab: dict[str, int] = {}
        rows: list[np.ndarray] = []
        counts: list[np.ndarray] = []
        for questions in documents:
            ids = [vocab.setdefault(t, len(vocab)) for q in questions for t in query_terms(q)]
            uniq, uniq_counts = np.unique(np.asarray(ids, dtype=np.int64), return_counts=True)
            rows.append(uniq)
            counts.append(uniq_counts)
        self.vocab = vocab
        n, v = self.size, len(vocab)
        lengths = np.array([int(c.sum()) for c in counts], dtype=np.float64)
        avg = float(lengths.mean()) if n else 1.0
        entry = np.repeat(np.arange(n, dtype=np.int32), [len(r) for r in rows])
        term = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        tf = np.concatenate(counts).astype(np.float64) if counts else np.zeros(0)
        df = np.bincount(term, minlength=v).astype(np.float64)
        self.idf = np.log1p((n - df + 0.5) / (df + 0.5))
        self.oov_idf = float(np.log1p((n + 0.5) / 0.5))
        norm = k1 * (1.0 - b + b * lengths[entry] / max(avg, 1e-9))
        weight = self.idf[term] * tf * (k1 + 1.0) / (tf + norm)
        # Terms in more than STOP_SHARE of a large knowledge base (的, 卡, "ing"...) carry almost no weight
        # (idf < 2.4 against ~11 for a rare term) but long posting lists: they are left out of both the
        # postings and the query's normalisation, like stop words.
        self.stop = df > max(STOP_MIN_ENTRIES, STOP_SHARE * n)
        keep = ~self.stop[term]
        term, entry, weight = term[keep], entry[keep], weight[keep]
        order = np.argsort(term, kind="stable")  # term-major postings
        self.postings_entry = entry[order]
        self.postings_weight = weight[order].astype(np.float32)
        self.postings_start = np.zeros(v + 1, dtype=np.int64)
        np.cumsum(np.bincount(term, minlength=v), out=self.postings_start[1:])

    def scores(self, text: str) -> np.ndarray:
        """Normalised BM25 of every entry for the text (float32, one per entry)."""
        ids = np.array([self.vocab.get(t, -1) for t in query_terms(text)], dtype=np.int64)
        known = ids[ids >= 0]
        known = known[~self.stop[known]]
        oov = int((ids < 0).sum())
        if not len(known):
            return np.zeros(self.size, dtype=np.float32)
        total = float(self.idf[known].sum()) + self.oov_idf * oov
        starts, ends = self.postings_start[known], self.postings_start[known + 1]
        lengths = ends - starts
        # positions of every posting of the query's terms, without a Python loop over terms
        picked = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
        sums = np.bincount(self.postings_entry[picked], weights=self.postings_weight[picked], minlength=self.size)
        return (sums * (1.0 / ((self.k1 + 1.0) * total))).astype(np.float32)
