"""Knowledge retrieval's pure pieces: BM25 normalisation, whitening, score combination, calibration, stored
embeddings, filters. A small hashing embedder stands in for the sentence encoder (no model load)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pytest

from caredesk.knowledge import calibration
from caredesk.knowledge.embedding import decode_entry_embedding, embed_entry_questions
from caredesk.knowledge.lexical import LexicalIndex, query_terms
from caredesk.knowledge.retrieval import LEXICAL_WEIGHT, SEMANTIC_WEIGHT, KnowledgeIndex
from caredesk.knowledge.semantic import SemanticIndex, whitening
from caredesk.knowledge.store import IndexedEntry


class HashEmbedder:
    """Character bigrams hashed into 64 dimensions: similar texts get similar vectors."""

    name = "test-hash"
    dims = 64

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for i, t in enumerate(texts):
            t = t.lower()
            for j in range(max(len(t) - 1, 1)):
                out[i, zlib.crc32(t[j:j + 2].encode()) % self.dims] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def entry(i: str, q: str, sims: tuple[str, ...] = (), ct: str = "system", pt: str = "consultation") -> IndexedEntry:
    return IndexedEntry(i, 1, ct, pt, q, sims, f"answer {i}")


ENTRIES = [
    entry("login", "忘记手机银行登录密码怎么办？", ("登录密码忘了", "网银密码想不起来了")),
    entry("pin", "交易密码忘了怎么重置？", ("转账密码忘了", "支付密码被锁")),
    entry("card", "信用卡怎么激活？", ("新卡开卡",), ct="business"),
    entry("complain", "网点服务态度差怎么投诉？", ("柜员态度不好",), ct="branch", pt="complaint"),
    entry("en-card", "How do I activate my new credit card?", ("activate card",), ct="business"),
]


def test_query_terms_chars_and_words() -> None:
    terms = query_terms("登录密码？")
    assert {"登", "登录", "登录密", "\x01登录", "\x01密码"} <= set(terms)
    assert "?" not in terms and "？" not in terms
    assert "a" not in query_terms("a card")  # single Latin letters say nothing


def test_lexical_scores_are_normalised_and_rank_exact_overlap_first() -> None:
    index = LexicalIndex([["登录密码忘了"], ["交易密码忘了"], ["信用卡激活"]])
    scores = index.scores("登录密码忘了")
    assert scores.dtype == np.float32 and scores.min() >= 0 and scores.max() <= 1.0 + 1e-6
    assert np.argmax(scores) == 0 and scores[0] > scores[1] > scores[2]
    assert not index.scores("完全无关").any()


def test_whitening_is_identity_without_paraphrases_and_damps_noisy_directions() -> None:
    assert np.allclose(whitening(np.zeros((4, 4)), 0), np.eye(4))
    scatter = np.diag([10.0, 1.0, 1.0, 1.0])  # paraphrases vary a lot along the first axis
    w = whitening(scatter, 1000)
    assert w[0, 0] < w[1, 1]


def test_semantic_centroids_are_unit_vectors() -> None:
    rng = np.random.default_rng(0)
    vectors = [rng.standard_normal((3, 8)).astype(np.float32) for _ in range(5)]
    index = SemanticIndex(iter(vectors), 5, 8)
    assert np.allclose(np.linalg.norm(index.centroids, axis=1), 1.0, atol=1e-5)
    positions, scores = index.scores(index.query(vectors[2][0]))
    assert positions is None and int(np.argmax(scores)) == 2


def test_score_is_the_weighted_sum_of_lexical_and_semantic() -> None:
    index = KnowledgeIndex(ENTRIES, embedder=HashEmbedder())
    text = "登录密码忘了怎么办"
    pos, score = index.rank(text, limit=1)[0]
    assert index.entries[pos].entry_id == "login"
    assert index.semantic is not None
    semantic = float(index.semantic.centroids[pos] @ index.semantic.query(HashEmbedder().encode([text])[0]))
    assert score == pytest.approx(LEXICAL_WEIGHT * index.lexical.scores(text)[pos] + SEMANTIC_WEIGHT * semantic,
                                  abs=1e-5)
    assert pytest.approx(1.0) == LEXICAL_WEIGHT + SEMANTIC_WEIGHT


def test_calibration_is_monotone_and_bounded() -> None:
    grid = np.linspace(-0.5, 1.0, 31)
    for cross in (False, True):
        by_score = [calibration.confidence(s, 0.0, cross_language=cross) for s in grid]
        by_margin = [calibration.confidence(0.6, m, cross_language=cross) for m in np.linspace(0, 0.5, 11)]
        assert all(a <= b for a, b in pairwise(by_score))
        assert all(a <= b for a, b in pairwise(by_margin))
        assert all(0.0 <= c <= 1.0 for c in by_score + by_margin)
    assert calibration.confidence(0.6, -0.3) == calibration.confidence(0.6, 0.0)  # only a lead counts
    assert calibration.confidence(0.95, 0.3) > 0.9 and calibration.confidence(0.1, 0.0) < 0.1


def test_search_returns_calibrated_matches_best_first_and_honours_filters() -> None:
    index = KnowledgeIndex(ENTRIES, embedder=HashEmbedder())
    found = index.search("登录密码忘了怎么办", limit=3)
    assert found[0].entry_id == "login" and found[0].answer == "answer login" and found[0].version == 1
    assert all(0 <= m.score <= 1 for m in found) and found[0].score >= found[1].score
    assert {m.entry_id for m in index.search("信用卡", content_type="business")} <= {"card", "en-card"}
    assert [m.entry_id for m in index.search("态度差", content_type="branch", problem_type="complaint")] == ["complain"]
    assert index.search("态度差", content_type="nothing-like-this") == []
    assert len(index) == 5 and index.get("pin") is not None and index.get("nope") is None


def test_filter_does_not_inflate_confidence() -> None:
    index = KnowledgeIndex(ENTRIES, embedder=HashEmbedder())
    alone = index.search("交易密码忘了", content_type="system", limit=1)[0]
    assert alone.entry_id == "pin"
    assert alone.score == index.search("交易密码忘了", limit=1)[0].score


def test_language_preference_penalises_the_other_language() -> None:
    index = KnowledgeIndex(ENTRIES, embedder=HashEmbedder())
    neutral = dict(index.rank("credit card 信用卡 激活", limit=5))
    zh = dict(index.rank("credit card 信用卡 激活", limit=5, language="zh"))
    en_pos = next(p for p, e in enumerate(index.entries) if e.entry_id == "en-card")
    zh_pos = next(p for p, e in enumerate(index.entries) if e.entry_id == "card")
    assert zh[zh_pos] == pytest.approx(neutral[zh_pos])
    assert zh.get(en_pos, -1.0) < neutral[en_pos]


def test_lexical_only_index_needs_no_embedder() -> None:
    index = KnowledgeIndex(ENTRIES, semantic=False)
    assert index.search("交易密码忘了", limit=1)[0].entry_id == "pin"
    assert KnowledgeIndex([], semantic=False).search("x") == []


def test_stored_embeddings_are_used_and_stale_ones_re_encoded() -> None:
    emb = HashEmbedder()
    questions = ["交易密码忘了怎么重置？", "转账密码忘了", "支付密码被锁"]
    blob = embed_entry_questions(emb, questions)
    vectors = decode_entry_embedding(blob, questions, emb)
    assert vectors is not None and vectors.shape == (3, 64) and vectors.dtype == np.float32
    assert np.allclose(vectors, emb.encode(questions), atol=1e-3)  # float16 storage
    assert decode_entry_embedding(blob, [*questions[:2], "改过的问题"], emb) is None  # edited since
    assert decode_entry_embedding(b"junk", questions, emb) is None
    assert decode_entry_embedding(None, questions, emb) is None
    stored = IndexedEntry("pin", 1, "system", "consultation", questions[0], tuple(questions[1:]), "a", blob)
    stale = IndexedEntry("x", 1, "system", "consultation", "新问题", (), "b", blob)
    counting = HashEmbedder()
    index = KnowledgeIndex([stored, stale], embedder=counting)
    assert counting.calls == 1  # one batch, for the stale entry only
    assert all(e.embedding is None for e in index.entries)  # the vectors live in the index, not twice
