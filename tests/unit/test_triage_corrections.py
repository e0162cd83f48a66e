"""Pure rules for label corrections: which heads and labels are allowed, and how corrections join the seed
corpus as training examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from caredesk.errors import InvalidInput
from caredesk.learning.corrections import CORRECTABLE, check_correction, correctable_heads
from caredesk.learning.retrain import split_holdout
from caredesk.triage.examples import CorrectionRecord, merge_examples

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
SEED = [
    {"text": "转账失败了", "content_type": "system", "problem_type": "complaint", "urgency": "attention"},
    {"text": "how do I open an account", "content_type": "business", "problem_type": "consultation",
     "urgency": "general"},
]


def test_check_correction_accepts_every_label_of_every_head() -> None:
    for head, labels in CORRECTABLE.items():
        for label in labels:
            check_correction(head, label)
    assert set(CORRECTABLE) == {"content_type", "problem_type", "urgency", "emotion"}


@pytest.mark.parametrize(("head", "label", "field"), [
    ("colour", "red", "head"), ("urgency", "panic", "label"), ("emotion", "urgent", "label"), ("", "", "head"),
])
def test_check_correction_refuses_unknown_head_or_label(head: str, label: str, field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_correction(head, label)
    assert info.value.code == "invalid_input"
    assert info.value.details["field"] == field
    assert info.value.details["allowed"]


def test_correctable_heads_include_intent_only_when_the_model_has_it() -> None:
    assert "intent" not in correctable_heads()
    heads = correctable_heads(("card_arrival", "lost_card"))
    check_correction("intent", "lost_card", heads)
    with pytest.raises(InvalidInput):
        check_correction("intent", "weather", heads)


def test_merge_examples_correction_overrides_its_head_and_weighs_more() -> None:
    corrections = [CorrectionRecord("转账失败了", "urgency", "urgent", T0)]
    examples = {e.text: e for e in merge_examples(SEED, corrections, correction_weight=3.0)}
    fixed = examples["转账失败了"]
    assert fixed.labels == {"content_type": "system", "problem_type": "complaint", "urgency": "urgent"}
    assert fixed.corrected and fixed.weight == 3.0
    untouched = examples["how do I open an account"]
    assert not untouched.corrected and untouched.weight == 1.0


def test_merge_examples_newest_correction_wins_whatever_the_order_given() -> None:
    corrections = [CorrectionRecord("卡被吞了", "urgency", "urgent", T0 + timedelta(minutes=5)),
                   CorrectionRecord("卡被吞了", "urgency", "general", T0)]
    [new] = [e for e in merge_examples(SEED, corrections) if e.text == "卡被吞了"]
    assert new.labels == {"urgency": "urgent"}  # a new text knows only the corrected head


def test_merge_examples_trains_emotion_corrections_and_leaves_out_other_heads() -> None:
    """The emotion head is trained now, so agents' emotion corrections feed it; a head the triage model does
    not train (intent) is left out."""
    merged = merge_examples(SEED, [CorrectionRecord("气死我了", "emotion", "angry", T0)])
    assert merged[-1].text == "气死我了" and merged[-1].labels == {"emotion": "angry"} and merged[-1].corrected
    other = merge_examples(SEED, [CorrectionRecord("查余额", "intent", "balance", T0)])
    assert [e.text for e in other] == [r["text"] for r in SEED]


def test_split_holdout_is_stable_and_disjoint() -> None:
    examples = merge_examples([{**SEED[0], "text": f"message {i}"} for i in range(500)], [])
    train, held = split_holdout(examples, 0.2)
    _, again_held = split_holdout(list(reversed(examples)), 0.2)
    assert {e.text for e in held} == {e.text for e in again_held}
    assert not {e.text for e in train} & {e.text for e in held}
    assert 60 < len(held) < 140 and len(train) + len(held) == 500
