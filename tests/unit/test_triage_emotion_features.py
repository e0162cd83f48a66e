"""The emotion head's own features: which way a text leans whatever its topic, and that the head is trained
with them while the other heads are not."""

from __future__ import annotations

import numpy as np

from caredesk.text.normalise import normalise_text
from caredesk.triage.emotion_features import EMOTION_FEATURES, emotion_features
from caredesk.triage.model import TriageModel
from caredesk.triage.training import OWN_FEATURE_HEADS

BALANCE = EMOTION_FEATURES.index("balance")


def test_praise_and_judgement_lean_opposite_ways_on_the_same_topic() -> None:
    praise, judgement = emotion_features(["房间干净，前台很热情，下次还住这里", "房间又脏又旧，前台态度很差"])
    assert praise[BALANCE] > 0 > judgement[BALANCE]


def test_exclamation_emoji_and_repeats_are_counted_after_normalising() -> None:
    calm, loud = emotion_features([normalise_text("卡被吞了"), normalise_text("卡被吞了！！！😭😭")])
    for name in ("exclamation", "emoji", "repeated"):
        assert loud[EMOTION_FEATURES.index(name)] > calm[EMOTION_FEATURES.index(name)] == 0, name


def test_one_row_per_text_even_for_none() -> None:
    assert emotion_features([]).shape == (0, len(EMOTION_FEATURES))
    assert np.isfinite(emotion_features(["", "   ", "a" * 5000])).all()


def test_only_the_emotion_head_learns_from_its_own_features(triage_model: TriageModel) -> None:
    """The emotion features are the last dense columns: the served weights of every other head are zero there."""
    scorer = triage_model.scorer()
    own = scorer.dense_weights[-len(EMOTION_FEATURES):]
    assert "emotion" in OWN_FEATURE_HEADS
    for head, spec in scorer.heads.items():
        weights = own[:, spec.columns]
        if head in OWN_FEATURE_HEADS:
            assert np.abs(weights).max() > 0.01, head
        else:
            assert not weights.any(), head
