"""What the triage's sentence encoder reads of a message: about the same number of tokens in either language,
so a long Chinese review costs no more than a long English narrative."""

from __future__ import annotations

from caredesk.triage.sentence_vectors import MAX_CHARS, MAX_CHARS_CJK, SentenceVectors, opening, sentence_vectors


def test_the_opening_is_shorter_for_chinese_than_for_english() -> None:
    chinese = "酒店房间很脏，服务员态度恶劣，我要投诉。" * 40
    english = "The card was charged twice and nobody answers the phone. " * 20
    mixed = "My 银行卡 was blocked " * 30  # mostly Latin letters: read as English

    assert opening(chinese) == chinese[:MAX_CHARS_CJK]
    assert opening(english) == english[:MAX_CHARS]
    assert opening(mixed) == mixed[:MAX_CHARS]
    assert opening("转人工") == "转人工"


def test_texts_that_share_an_opening_get_the_same_vector() -> None:
    base = "我的信用卡被盗刷了，" * 20
    a, b = sentence_vectors().encode([base + "请尽快处理", base + "完全不同的结尾"])
    assert (a == b).all()
    assert abs(float(a @ a) - 1.0) < 1e-6


def test_triaged_messages_are_not_kept_but_training_texts_are() -> None:
    """Serving looks the cache up without filling it (a process sees every message once: kept, they grew its
    memory by ~30 MB per 10,000); training keeps its corpus for the next retraining in the same process."""
    vectors = SentenceVectors(cache_size=100)
    corpus = ["信用卡账单怎么查询", "How do I block my card?"]
    kept = vectors.encode(corpus, keep=True)
    assert len(vectors) == 2
    served = vectors.encode(["转账一直失败，怎么办", corpus[0]])
    assert len(vectors) == 2 and (served[1] == kept[0]).all()
