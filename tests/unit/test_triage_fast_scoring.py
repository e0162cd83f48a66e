"""The single-message fast path gives what the scikit-learn path gives: labels, probabilities, ranking and
the reasons shown to agents."""

from __future__ import annotations

import pytest

from caredesk.triage.model import TriageModel
from caredesk.triage.pipeline import TriagePipeline

TEXTS = [
    "How do I reset my online banking password?",
    "你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法",
    "我的银行卡刚刚被盗刷了，不是我本人操作，请马上冻结 [PHONE]",
    "Please add Apple Pay support to the app, that would be great",
    "", "   ", "zzzz qqqq", "转账 transfer failed 三次了!!!",
]


@pytest.mark.parametrize("text", TEXTS)
def test_fast_predict_equals_sklearn_predict(triage_model: TriageModel, text: str) -> None:
    fast = triage_model.predict(text)
    slow = triage_model.predict_many([text])[0]
    assert fast.keys() == slow.keys()
    for head in slow:
        a, b = fast[head], slow[head]
        assert a.label == b.label
        assert a.confidence == pytest.approx(b.confidence, abs=1e-9)
        assert [lab for lab, _ in a.ranking] == [lab for lab, _ in b.ranking]
        assert [p for _, p in a.ranking] == pytest.approx([p for _, p in b.ranking], abs=1e-9)
        assert a.reasons == b.reasons


def test_fast_predict_equals_sklearn_on_varied_messages(triage_model: TriageModel, pipeline: TriagePipeline
                                                        ) -> None:
    from caredesk.bench.stats import mixed_messages

    masked = [pipeline(t).masked for t in mixed_messages(150, seed=4)]
    for text, slow in zip(masked, triage_model.predict_many(masked), strict=True):
        fast = triage_model.predict(text)
        assert {h: (s.label, s.reasons) for h, s in fast.items()} == {h: (s.label, s.reasons)
                                                                       for h, s in slow.items()}, text
