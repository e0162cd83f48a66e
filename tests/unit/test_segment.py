"""Segmentation over the automaton of jieba's dictionary cuts exactly as jieba's own `cut(text, HMM=False)`
(the shipped corpus, mixed scripts, whitespace, symbols), and holds far less memory than jieba's dict."""

from __future__ import annotations

import csv
import random
from importlib import resources

import pytest

from caredesk.text.segment import Segmenter, jieba_tokenizer, tokenize


@pytest.fixture(scope="module")
def pair() -> tuple[object, Segmenter]:
    jieba = jieba_tokenizer()
    return jieba, Segmenter(jieba)


def _corpus() -> list[str]:
    shipped = resources.files("caredesk.triage").joinpath("corpus/shipped.csv")
    with shipped.open(encoding="utf-8") as f:
        return [row["text"] for row in csv.DictReader(f)]


def test_segment_cuts_as_jieba_on_the_corpus_and_on_odd_text(pair: tuple[object, Segmenter]) -> None:
    jieba, ours = pair
    texts = _corpus()
    texts += ["我的卡被盗刷了😡 ABC123 x y z  hello世界", "a b c", "", "   ", "银行卡\r\n信用卡 -- 12.5% #tag",
              "ＡＢＣ全角", "手机银行登录不了，转人工！！", "c++ c# a.b_c 50%的利息"]
    rnd = random.Random(7)
    chars = "".join(texts[:500])
    texts += ["".join(rnd.choice(chars) for _ in range(rnd.randint(1, 30))) for _ in range(500)]
    for text in texts:
        lowered = text.lower()  # as tokenize hands it over
        assert list(ours.cut(lowered)) == list(jieba.cut(lowered, HMM=False)), text  # type: ignore[attr-defined]


def test_segment_tokens_keep_domain_words_and_latin_words() -> None:
    assert tokenize("我的手机银行登录不了 Hello, it's me") == ["我", "的", "手机银行", "登录", "不了", "hello",
                                                             "it", "s", "me"]
