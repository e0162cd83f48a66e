"""Knowledge retrieval (v2): hybrid lexical + semantic matching of a question against the published entries,
filtered by content type and problem type, calibrated into one confidence per match.

score(entry) = 0.25 x normalised BM25 (characters + words, knowledge/lexical.py)
             + 0.75 x whitened embedding cosine to the entry's centroid (knowledge/semantic.py)
confidence   = logistic(score, margin over the next best entry) (knowledge/calibration.py)

The weights were tuned on a development split of a 940-answer Chinese bank FAQ (top-1 0.93 there against 0.77
for the v1 index; see calibration.py for how the confidence was fitted). The embedder is multilingual, so an
English question can find an entry written only in Chinese."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import replace

import numpy as np

from caredesk.knowledge.calibration import confidence
from caredesk.knowledge.embedding import decode_entry_embedding
from caredesk.knowledge.lexical import LexicalIndex
from caredesk.knowledge.match import KbMatch
from caredesk.knowledge.semantic import SemanticIndex
from caredesk.knowledge.store import IndexedEntry
from caredesk.text.encoder import Embedder, default_embedder

__all__ = ["LEXICAL_WEIGHT", "SEMANTIC_WEIGHT", "IndexedEntry", "KnowledgeIndex", "entry_language"]

LEXICAL_WEIGHT = 0.25
SEMANTIC_WEIGHT = 0.75
LEXICAL_CANDIDATES = 64  # with an inverted file: the best lexical entries are always scored exactly too
OTHER_LANGUAGE_PENALTY = 0.05
CROSS_LANGUAGE_SCALE = 0.75  # = SEMANTIC_WEIGHT: the lexical share stays empty
_CJK = re.compile(r"[\u4e00-\u9fff]")
# One content type, any of several (the triage's likely ones), or None: every content type.
ContentTypes = str | Collection[str] | None


def entry_language(text: str) -> str:
    return "zh" if _CJK.search(text) else "en"


def _questions(e: IndexedEntry) -> list[str]:
    return [e.question, *e.similar_questions]


class KnowledgeIndex:
    """Immutable once built; `KnowledgeStore` swaps in a new one when the published set changes.

    `embedder` defaults to the process's multilingual sentence encoder; `semantic=False` gives a lexical-only
    index (no model load). Entries carrying a current `embedding` blob are not re-encoded."""

    def __init__(self, entries: Iterable[IndexedEntry], *, embedder: Embedder | None = None,
                 semantic: bool = True) -> None:
        self.entries = list(entries)
        self._by_id = {e.entry_id: pos for pos, e in enumerate(self.entries)}
        self.lexical = LexicalIndex([_questions(e) for e in self.entries])
        codes: dict[str, int] = {}
        self._content = np.array([codes.setdefault(e.content_type, len(codes)) for e in self.entries], dtype=np.int32)
        self._problem = np.array([codes.setdefault(e.problem_type, len(codes)) for e in self.entries], dtype=np.int32)
        self._codes = codes
        self._chinese = np.array([entry_language(e.question) == "zh" for e in self.entries], dtype=bool)
        self.embedder: Embedder | None = None
        self.semantic: SemanticIndex | None = None
        if semantic and self.entries:
            self.embedder = embedder or default_embedder()
            self.semantic = SemanticIndex(self._embeddings(self.embedder), len(self.entries), self.embedder.dims)
        if any(e.embedding is not None for e in self.entries):  # the vectors now live in the index
            self.entries = [replace(e, embedding=None) for e in self.entries]

    def _embeddings(self, embedder: Embedder) -> Iterator[np.ndarray]:
        """Each entry's question embeddings: decoded from its blob, or encoded (all missing ones in one batch)."""
        missing = [pos for pos, e in enumerate(self.entries)
                   if decode_entry_embedding(e.embedding, _questions(e), embedder) is None]
        encoded: dict[int, np.ndarray] = {}
        if missing:
            flat = embedder.encode([q for pos in missing for q in _questions(self.entries[pos])])
            offset = 0
            for pos in missing:
                n = 1 + len(self.entries[pos].similar_questions)
                encoded[pos] = flat[offset:offset + n]
                offset += n
        for pos, e in enumerate(self.entries):
            found = encoded.pop(pos, None)
            if found is None:
                found = decode_entry_embedding(e.embedding, _questions(e), embedder)
            assert found is not None
            yield found

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, entry_id: str) -> IndexedEntry | None:
        pos = self._by_id.get(entry_id)
        return None if pos is None else self.entries[pos]

    def _allowed(self, content_type: ContentTypes, problem_type: str | None) -> np.ndarray | None:
        if not content_type and not problem_type:
            return None
        allowed = np.ones(len(self.entries), dtype=bool)
        for wanted, column in ((content_type, self._content), (problem_type, self._problem)):
            if wanted:
                names = (wanted,) if isinstance(wanted, str) else wanted
                allowed &= np.isin(column, [self._codes.get(name, -1) for name in names])
        return allowed

    def rank(self, text: str, *, content_type: ContentTypes = None, problem_type: str | None = None,
             limit: int = 5, language: str | None = None) -> list[tuple[int, float]]:
        """(entry position, combined score) of the best `limit` allowed entries, best first (uncalibrated). With
        the customer's `language` ("zh" / "en"), entries written in the other one lose OTHER_LANGUAGE_PENALTY."""
        return self._ranked(text, content_type, problem_type, limit, language)[0]

    def search(self, text: str, *, content_type: ContentTypes = None, problem_type: str | None = None,
               limit: int = 5, language: str | None = None, vector: np.ndarray | None = None) -> list[KbMatch]:
        """The best entries with a calibrated confidence each (the probability that the entry answers the text),
        best first; entries with no lexical or semantic affinity at all are left out.

        The margin that feeds the confidence is taken over every entry, filtered or not: a filter that happens
        to leave one candidate does not make it a surer answer (the triage that chose the filter can be wrong).
        `vector`: the text's sentence embedding when the caller has it (triage computed it), else encoded here."""
        ranked, overall = self._ranked(text, content_type, problem_type, max(limit, 2), language, vector)
        out: list[KbMatch] = []
        for pos, score in ranked[:limit]:
            if score <= 0:
                break
            best_other = next((s for p, s in overall if p != pos), 0.0)
            cross = language in ("zh", "en") and self._chinese[pos] != (language == "zh")
            out.append(self._match(pos, confidence(score, score - best_other, cross_language=bool(cross))))
        return out

    def _ranked(self, text: str, content_type: ContentTypes, problem_type: str | None, limit: int,
                language: str | None, vector: np.ndarray | None = None
                ) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """The best `limit` allowed entries, and the best two of all entries (for margins)."""
        if not self.entries or limit <= 0:
            return [], []
        allowed = self._allowed(content_type, problem_type)
        lexical = self.lexical.scores(text)
        if self.semantic is None or self.embedder is None:
            positions, scores = np.arange(len(self.entries)), lexical
        else:
            positions, semantic = self._semantic(text, lexical, allowed, vector)
            scores = LEXICAL_WEIGHT * lexical[positions] + SEMANTIC_WEIGHT * semantic
            if language in ("zh", "en"):
                # characters and words cannot match across languages: there the embedding speaks alone
                other = self._chinese[positions] != (language == "zh")
                scores[other] = CROSS_LANGUAGE_SCALE * semantic[other] - OTHER_LANGUAGE_PENALTY
        overall = _top(positions, scores, 2)
        if allowed is not None:
            keep = allowed[positions]
            positions, scores = positions[keep], scores[keep]
        return _top(positions, scores, limit), overall

    def _semantic(self, text: str, lexical: np.ndarray, allowed: np.ndarray | None,
                  vector: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(positions, semantic scores) of the candidates: every entry (brute force), or the probed groups'
        entries plus the best allowed lexical ones (inverted file)."""
        assert self.semantic is not None and self.embedder is not None
        if vector is None or vector.shape[-1] != self.embedder.dims:  # not the same encoder's vector
            vector = self.embedder.encode([text])[0]
        query = self.semantic.query(vector)
        probed, semantic = self.semantic.scores(query)
        if probed is None:
            return np.arange(len(self.entries)), semantic
        pool = lexical if allowed is None else np.where(allowed, lexical, 0.0)
        k = min(LEXICAL_CANDIDATES, len(pool) - 1)
        best = np.argpartition(-pool, k)[:k + 1]
        best = best[pool[best] > 0]
        full = np.full(len(self.entries), np.nan, dtype=np.float32)
        full[probed] = semantic
        missing = best[np.isnan(full[best])]
        if len(missing):
            full[missing] = self.semantic.exact(query, missing)
        positions = np.flatnonzero(~np.isnan(full))
        return positions, full[positions]

    def _match(self, pos: int, score: float) -> KbMatch:
        e = self.entries[pos]
        return KbMatch(e.entry_id, e.version, round(score, 4), e.question, e.answer)


def _top(positions: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, float]]:
    if len(positions) == 0 or k <= 0:
        return []
    k = min(k, len(positions))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(positions) else np.arange(len(positions))
    top = top[np.argsort(-scores[top], kind="stable")]
    return [(int(positions[i]), float(scores[i])) for i in top]
