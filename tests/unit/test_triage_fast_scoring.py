"""The numpy-only serving path gives what the scikit-learn path gives: the TF-IDF row itself, and for the
triage model labels, probabilities and ranking, also after a save and load; for the intent model labels,
confidence, ranking and the out-of-scope decision."""

from __future__ import annotations

import copy
import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from caredesk.triage.fast_scoring import text_features
from caredesk.triage.intent import IntentModel, _prepare, train_intent_model
from caredesk.triage.model import TriageModel
from caredesk.triage.pipeline import TriagePipeline
from caredesk.triage.training import FittedTriage

DATA = Path(__file__).resolve().parents[1] / "data"

TEXTS = [
    "How do I reset my online banking password?",
    "你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法",
    "我的银行卡刚刚被盗刷了，不是我本人操作，请马上冻结 [PHONE]",
    "Please add Apple Pay support to the app, that would be great",
    "", "   ", "zzzz qqqq", "转账 transfer failed 三次了!!!", "My CARD  was\tBLOCKED\n\n请 帮忙 a I",
    # words repeated (each distinct word is cut once and counted): the narrative way
    "credit report shows account account not mine, credit bureau kept account on credit report report report",
]


def sklearn_probabilities(fitted: FittedTriage, model: TriageModel, text: str) -> dict[str, dict[str, float]]:
    """The reference: scikit-learn's own transform and decision function over the TF-IDF row and the dense
    columns (sentence embedding, then the emotion head's own features: each head takes the first columns it was
    trained with), divided by the served model's calibration temperature, then softmax (binary heads: the
    logistic)."""
    x = hstack([fitted.featuriser.transform([text]), csr_matrix(model.dense([text]))]).tocsr()
    out = {}
    for head, clf in fitted.heads.items():
        s = (np.asarray(clf.decision_function(x[:, :clf.n_features_in_]), dtype=np.float64)[0]
             / model.temperatures.get(head, 1.0))
        if np.ndim(s) == 0:
            p1 = 1.0 / (1.0 + np.exp(-float(s)))
            probs = np.array([1.0 - p1, p1])
        else:
            z = np.exp(s - s.max())
            probs = z / z.sum()
        out[head] = {str(c): float(p) for c, p in zip(clf.classes_, probs, strict=True)}
    return out


@pytest.mark.parametrize("text", TEXTS)
def test_fast_predict_equals_sklearn_predict(fitted_triage: FittedTriage, calibrated_model: TriageModel,
                                             text: str) -> None:
    fast = calibrated_model.predict(text)
    slow = sklearn_probabilities(fitted_triage, calibrated_model, text)
    assert set(fast) == set(slow)
    for head, probs in slow.items():
        assert fast[head].label == max(probs, key=probs.__getitem__)
        assert dict(fast[head].ranking) == pytest.approx(probs, abs=1e-9)
        assert fast[head].confidence == pytest.approx(max(probs.values()), abs=1e-9)


def test_fast_predict_equals_sklearn_on_varied_messages(fitted_triage: FittedTriage, calibrated_model: TriageModel,
                                                        pipeline: TriagePipeline) -> None:
    from caredesk.bench.stats import mixed_messages

    for text in [pipeline(t).masked for t in mixed_messages(60, seed=4)]:
        fast = calibrated_model.predict(text)
        slow = sklearn_probabilities(fitted_triage, calibrated_model, text)
        assert {h: s.label for h, s in fast.items()} == {h: max(p, key=p.__getitem__) for h, p in slow.items()}, text


def test_saved_model_scores_as_before_without_scikit_learn_objects(calibrated_model: TriageModel,
                                                                    tmp_path: Path) -> None:
    """The artefact holds plain arrays and vocabularies: loaded back, the same labels, scores and reasons."""
    loaded = TriageModel.load(calibrated_model.save(tmp_path))
    assert loaded.temperatures == calibrated_model.temperatures
    for text in TEXTS:
        assert loaded.predict(text) == calibrated_model.predict(text), text


def test_a_model_saved_as_scikit_learn_objects_still_loads(fitted_triage: FittedTriage, triage_model: TriageModel,
                                                           tmp_path: Path) -> None:
    """An install upgraded from a release that pickled the fitted objects keeps its model until retrained."""
    import joblib

    folder = tmp_path / "triage" / "v-old"
    folder.mkdir(parents=True)
    joblib.dump({"version": "v-old", "featuriser": fitted_triage.featuriser, "heads": fitted_triage.heads,
                 "metrics": {}, "temperatures": {}, "dense_weight": triage_model.dense_weight}, folder / "model.joblib")
    old = TriageModel.load(folder)
    assert old.version == "v-old"
    for text in TEXTS:
        assert old.predict(text) == triage_model.predict(text), text


@pytest.fixture(scope="module")
def calibrated_model(triage_model: TriageModel) -> TriageModel:
    """The session model with temperatures other than 1, so that the test sees them applied."""
    return dataclasses.replace(triage_model, temperatures={h: 0.5 + 0.25 * i for i, h in
                                                           enumerate(triage_model.heads.heads)})


@pytest.fixture(scope="module")
def intent_model() -> IntentModel:
    with (DATA / "intent_train.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return train_intent_model([r["text"] for r in rows], [r["label"] for r in rows], oos_label="oos")


def intent_texts() -> list[str]:
    with (DATA / "intent_test.csv").open(encoding="utf-8", newline="") as fh:
        return [r["text"] for r in csv.DictReader(fh)] + TEXTS


def float64_copy(featuriser: FeatureUnion) -> FeatureUnion:
    """The same fitted featuriser computing in float64 (the intent model's vectorisers output float32)."""
    out = copy.deepcopy(featuriser)
    for _name, vec in out.transformer_list:
        vec.set_params(dtype=np.float64)
    return out


def assert_rows_equal(featuriser: FeatureUnion, texts: list[str]) -> None:
    fast = text_features(featuriser)
    x = float64_copy(featuriser).transform(texts).tocsr()
    x.sort_indices()
    assert fast.width == x.shape[1]
    for i, text in enumerate(texts):
        idx, vals = fast.row(text)
        start, end = x.indptr[i], x.indptr[i + 1]
        assert idx.tolist() == x.indices[start:end].tolist(), text
        assert vals == pytest.approx(x.data[start:end], abs=1e-12), text


def test_fast_featuriser_row_equals_sklearn_transform_for_triage(fitted_triage: FittedTriage) -> None:
    assert_rows_equal(fitted_triage.featuriser, TEXTS)


def test_fast_featuriser_row_equals_sklearn_transform_for_intent(intent_model: IntentModel) -> None:
    assert_rows_equal(intent_model.featuriser, [_prepare(t) for t in intent_texts()])


def test_fast_featuriser_rejects_features_it_cannot_reproduce() -> None:
    union = FeatureUnion([("word", TfidfVectorizer(norm="l1"))]).fit(["a card", "a pin"])
    with pytest.raises(ValueError, match="l2-normalised"):
        text_features(union)
    union = FeatureUnion([("word", TfidfVectorizer())]).fit(["a card", "a pin"])  # scikit-learn's own tokens
    with pytest.raises(ValueError, match="analyser"):
        text_features(union)


def test_intent_fast_predict_equals_sklearn_predict(intent_model: IntentModel) -> None:
    texts = intent_texts()
    for text, slow in zip(texts, intent_model.predict_many(texts), strict=True):
        fast = intent_model.predict(text)
        assert (fast.label, fast.rejected) == (slow.label, slow.rejected), text
        assert [lab for lab, _ in fast.ranking] == [lab for lab, _ in slow.ranking], text
        # the batch path's vectorisers compute in float32; the fast path in float64
        assert fast.confidence == pytest.approx(slow.confidence, abs=1e-6), text
