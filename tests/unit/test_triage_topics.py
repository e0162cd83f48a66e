"""Topic and product (triage/components/topics.py): the documented rule (longest phrase, then file order), whole
words for Latin phrases with `*` for a prefix, the product a topic implies, the shipped file, and a bad file
reported with line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from caredesk.config_files import load_config
from caredesk.errors import InvalidConfig
from caredesk.triage.components.topics import TopicMatcher, load_topic_matcher, weight
from caredesk.triage.doc import TriageDoc
from caredesk.triage.lexicon_files import TopicLexicon
from caredesk.triage.registry import get_component

TOPICS = """topics:
  fees:
    title_zh: 费用
    title_en: Fees
    phrases: [手续费, fee, fees]
  transfer:
    title_zh: 转账
    title_en: Transfers
    phrases: [转账, "transfer*", 跨行]
  card_bill:
    title_zh: 账单
    title_en: Card bill
    product: credit_card
    phrases: [账单, 收费]
products:
  credit_card:
    title_zh: 信用卡
    title_en: Credit card
    phrases: [信用卡, "credit card"]
"""


def _matcher(tmp_path: Path, text: str = TOPICS) -> TopicMatcher:
    path = tmp_path / "topics.yaml"
    path.write_text(text, encoding="utf-8")
    return TopicMatcher(load_config(TopicLexicon, path))


def test_topics_longest_phrase_wins_then_file_order(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    assert m.match("跨行转账手续费多少").topic == "fees"  # 手续费 (3) over 跨行, 转账 (2)
    assert m.match("跨行转账").topic == "transfer"
    assert m.match("账单收费").topic == "card_bill"  # a tie between two phrases of one topic
    assert m.match("转账账单").topic == "transfer"  # a tie between topics: the one written first
    assert m.match("你好").topic is None and m.match("你好").product is None


def test_topics_latin_phrases_match_whole_words_unless_starred(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    assert m.match("I feel fine").topic is None  # "fee" is not in "feel"
    assert m.match("what fee applies?").topic == "fees"
    assert m.match("my transfers failed").topic == "transfer"  # transfer*
    assert m.match("Wire Transferred yesterday").topic == "transfer"  # case-insensitive
    assert m.match("retransfer").topic is None  # must start a word


def test_topics_latin_words_weigh_two_characters() -> None:
    assert (weight("fee"), weight("transfer*"), weight("fee for"), weight("手续费"), weight("u盾")) == (2, 2, 4, 3, 3)
    m = load_topic_matcher()
    assert m.match("is there a fee for transfers?").topic == "fees_charges"  # "fee for" (4) over "transfer*" (2)
    assert m.match("my transfer failed").topic == "transfer_payment"


def test_topics_product_named_or_implied(tmp_path: Path) -> None:
    m = _matcher(tmp_path)
    named = m.match("信用卡转账")
    assert (named.topic, named.product, named.product_phrase) == ("transfer", "credit_card", "信用卡")
    implied = m.match("账单看不到")
    assert (implied.topic, implied.product, implied.product_phrase) == ("card_bill", "credit_card",
                                                                        "topic:card_bill")
    assert m.titles("zh")["card_bill"] == "账单" and m.titles("en")["credit_card"] == "Credit card"


def test_topics_bad_file_names_line_and_field(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig) as unknown:
        _matcher(tmp_path, TOPICS.replace("product: credit_card", "product: debit_card"))
    assert unknown.value.line == 13 and "unknown product 'debit_card'" in unknown.value.reason
    with pytest.raises(InvalidConfig) as twice:
        _matcher(tmp_path, TOPICS.replace("[账单, 收费]", "[账单, 转账]"))
    assert "already a phrase of 'transfer'" in twice.value.reason and twice.value.path == "topics.card_bill.phrases[1]"
    with pytest.raises(InvalidConfig) as untitled:
        _matcher(tmp_path, TOPICS.replace("    title_en: Fees\n", ""))
    assert untitled.value.path == "topics.fees.title_en"


def test_topics_shipped_file_and_pipeline_step() -> None:
    matcher = load_topic_matcher()
    assert all(e.title_zh and e.title_en for e in matcher.lexicon.topics.values())
    step = get_component("caredesk.topics.v1").factory()
    cases = {"我的信用卡丢了，怎么挂失？": ("card_lost_frozen", "credit_card"),
             "手机银行转账手续费怎么收": ("fees_charges", "mobile_app"),
             "I was charged a fee on my statement": ("fees_charges", None),
             "My mortgage escrow payment went up": ("loan_mortgage", "mortgage"),
             "今天天气不错": (None, None)}
    for text, expected in cases.items():
        doc = step(TriageDoc(text=text, masked=text.lower()))
        assert (doc.topic, doc.product) == expected, text
    assert "topic:card_lost_frozen:" in step(TriageDoc(text="x", masked="卡丢了")).topic_reasons[0]
