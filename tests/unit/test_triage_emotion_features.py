"""The emotion head's own features: which way a text leans whatever its topic, and that the head is trained
with them while the other heads are not."""

from __future__ import annotations

import numpy as np

from caredesk.text.normalise import normalise_text
from caredesk.triage.emotion_features import EMOTION_FEATURES, emotion_features
from caredesk.triage.model import OWN_FEATURE_HEADS, TriageModel

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
    widths = {head: clf.n_features_in_ for head, clf in triage_model.heads.items()}
    shared = widths["urgency"]
    assert "emotion" in OWN_FEATURE_HEADS
    assert widths["emotion"] == shared + len(EMOTION_FEATURES)
    assert {w for h, w in widths.items() if h not in OWN_FEATURE_HEADS} == {shared}
