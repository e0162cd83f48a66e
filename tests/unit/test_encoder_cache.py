"""The sentence encoder's memory of recent texts (the real Universal Sentence Encoder): a text seen again is
not encoded again, gives the same vector, and the memory stays within its bound."""

from __future__ import annotations

import numpy as np

from caredesk.text.encoder import UseEmbedder


class Counting(UseEmbedder):
    """The real encoder, counting the texts it hands to the model."""

    def __init__(self, cache_size: int) -> None:
        super().__init__(cache_size=cache_size)
        self.encoded: list[str] = []

    def _load(self) -> object:
        model = super()._load()
        outer = self

        class Spy:
            def encode(self, texts: list[str]) -> object:
                outer.encoded.extend(texts)
                return model.encode(texts)  # type: ignore[attr-defined]

        return Spy()


def test_a_text_seen_again_is_not_encoded_again_and_keeps_its_vector() -> None:
    encoder = Counting(cache_size=8)
    first = encoder.encode(["我的信用卡被盗刷了", "How do I reset my password?"])
    again = encoder.encode(["How do I reset my password?", "转人工", "我的信用卡被盗刷了", "转人工"])
    assert encoder.encoded == ["我的信用卡被盗刷了", "How do I reset my password?", "转人工"]  # each text once
    assert again.shape == (4, 512) and np.allclose(np.linalg.norm(again, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(again[0], first[1]) and np.array_equal(again[2], first[0])
    alone = UseEmbedder(cache_size=0).encode(["转人工"])[0]  # no memory: the same vector, to float precision
    assert np.allclose(again[1], alone, atol=1e-5) and np.array_equal(again[1], again[3])
    again[0] += 1  # callers get their own copy: the remembered vector is untouched
    assert np.array_equal(encoder.encode(["How do I reset my password?"])[0], first[1])


def test_the_memory_forgets_the_least_recent_text_beyond_its_bound() -> None:
    encoder = Counting(cache_size=2)
    encoder.encode(["一", "二"])
    encoder.encode(["一"])  # 一 is now the most recent
    encoder.encode(["三"])  # 二 is forgotten
    encoder.encode(["一", "二"])
    assert encoder.encoded == ["一", "二", "三", "二"]


def test_a_remembered_row_does_not_keep_its_whole_batch_alive() -> None:
    encoder = UseEmbedder(cache_size=1)
    encoder.encode(["开户需要什么材料", "信用卡额度怎么提高", "转人工"])  # a batch, as a knowledge rebuild encodes
    (kept,) = encoder._cache.values()
    assert kept.base is None and kept.nbytes == 512 * 4  # its own 2 KB, not a view into the 3-row batch
    assert not kept.flags.writeable
