"""The trained triage heads (content type, problem type, urgency): one shared TF-IDF featuriser over
characters and jieba words, one logistic-regression head per label set. Saved as versioned artefacts."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion
from threadpoolctl import threadpool_limits

from caredesk.errors import InvalidFile, InvalidInput, Unavailable
from caredesk.triage.components.segment import tokenize
from caredesk.triage.corrections import CorrectionRecord, Example, merge_examples
from caredesk.triage.doc import LabelScore
from caredesk.triage.fast_scoring import FastTriageScorer, top_reasons
from caredesk.triage.labels import HEADS

__all__ = ["TriageModel", "activate", "active_version", "load_active_model", "read_corpus", "score_model",
           "seed_corpus_path", "train_examples", "train_model"]

ARTEFACT = "model.joblib"


def seed_corpus_path() -> Path:
    with resources.as_file(resources.files("caredesk.triage").joinpath("seed/seed_corpus.csv")) as path:
        return Path(path)


def read_corpus(path: Path) -> list[dict[str, str]]:
    """Rows with `text` and every head's label; a bad file fails whole, naming the line."""
    if not path.is_file():
        raise InvalidFile(f"training file not found: {path}")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"text", *HEADS} - set(reader.fieldnames or ())
        if missing:
            raise InvalidFile(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        rows = []
        for line, row in enumerate(reader, start=2):
            for head, labels in HEADS.items():
                if row[head] not in {m.value for m in labels}:
                    raise InvalidFile(f"{path}:{line}: {head} {row[head]!r} is not one of {[m.value for m in labels]}")
            if row["text"].strip():
                rows.append(row)
    return rows


def _featuriser() -> FeatureUnion:
    return FeatureUnion([
        ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1)),
        ("word", TfidfVectorizer(tokenizer=tokenize, token_pattern=None, lowercase=False, ngram_range=(1, 2),
                                 sublinear_tf=True)),
    ])


def _head() -> LogisticRegression:
    return LogisticRegression(C=8.0, max_iter=2000, class_weight="balanced")


@dataclass
class TriageModel:
    version: str
    featuriser: FeatureUnion
    heads: dict[str, LogisticRegression]
    metrics: dict[str, Any] = field(default_factory=dict)
    _names: np.ndarray | None = field(default=None, repr=False)
    _fast: FastTriageScorer | None = field(default=None, init=False, repr=False, compare=False)

    def predict(self, masked_text: str) -> dict[str, LabelScore]:
        """One message (the product's case): the fast path, same labels, scores and reasons as
        `predict_many([masked_text])[0]`."""
        if self._fast is None:
            self._fast = FastTriageScorer(self.featuriser, self.heads)
        return self._fast.predict(masked_text)

    def predict_many(self, texts: list[str]) -> list[dict[str, LabelScore]]:
        """A batch through scikit-learn: one transform and one predict_proba per head for all texts."""
        x = self.featuriser.transform(texts).tocsr()
        x.sort_indices()
        if self._names is None:
            self._names = self.featuriser.get_feature_names_out()
        out: list[dict[str, LabelScore]] = [{} for _ in texts]
        for head, clf in self.heads.items():
            probs = clf.predict_proba(x)
            classes = [str(c) for c in clf.classes_]
            for i, row in enumerate(probs):
                order = np.argsort(row, kind="stable")[::-1]
                best = int(order[0])
                ranking = tuple((classes[j], float(row[j])) for j in order)
                out[i][head] = LabelScore(classes[best], float(row[best]), ranking,
                                          self._reasons(x, i, clf, best))
        return out

    def _reasons(self, x: Any, i: int, clf: LogisticRegression, cls: int) -> tuple[str, ...]:
        """The features of row i that pushed hardest towards the chosen label (binary heads have one coef
        row). Reads the CSR arrays directly: slicing a row out as a matrix costs more than the rest."""
        coef = clf.coef_[cls] if clf.coef_.shape[0] > 1 else clf.coef_[0] * (1 if cls == 1 else -1)
        start, end = x.indptr[i], x.indptr[i + 1]
        idx = x.indices[start:end]
        assert self._names is not None
        return top_reasons(self._names, idx, x.data[start:end] * coef[idx])

    def save(self, root: Path) -> Path:
        folder = root / "triage" / self.version
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump({"version": self.version, "featuriser": self.featuriser, "heads": self.heads,
                     "metrics": self.metrics}, folder / ARTEFACT, compress=3)
        (folder / "metrics.json").write_text(json.dumps(self.metrics, indent=2, ensure_ascii=False))
        return folder

    @classmethod
    def load(cls, folder: Path) -> TriageModel:
        data = joblib.load(folder / ARTEFACT)
        return cls(data["version"], data["featuriser"], data["heads"], data["metrics"])


def _stratify(examples: Sequence[Example]) -> list[str] | None:
    """Split by urgency (the rarest label matters most) when every class can be split, else at random."""
    labels = [e.labels.get("urgency", "?") for e in examples]
    counts = Counter(labels)
    return labels if min(counts.values()) >= 2 else None


def _fit(examples: Sequence[Example]) -> tuple[FeatureUnion, dict[str, LogisticRegression]]:
    with threadpool_limits(limits=1):  # on 2 cores, BLAS threads made lbfgs ~8x slower, not faster
        return _fit_heads(examples)


def _fit_heads(examples: Sequence[Example]) -> tuple[FeatureUnion, dict[str, LogisticRegression]]:
    feat = _featuriser()
    x = feat.fit_transform([e.text for e in examples])
    heads = {}
    for head in HEADS:
        idx = [i for i, e in enumerate(examples) if head in e.labels]
        y = [examples[i].labels[head] for i in idx]
        if len(set(y)) < 2:
            raise InvalidInput(f"head {head} needs examples of at least two labels", head=head)
        heads[head] = _head().fit(x[idx], y, sample_weight=np.array([examples[i].weight for i in idx]))
    return feat, heads


def score_model(featuriser: FeatureUnion, heads: dict[str, LogisticRegression], examples: Sequence[Example]
                ) -> dict[str, Any]:
    """Accuracy and macro-F1 per head on labelled examples (the classifier alone, no lexicon rules)."""
    out: dict[str, Any] = {"n_holdout": len(examples), "heads": {}}
    if not examples:
        return out
    x = featuriser.transform([e.text for e in examples])
    for head, clf in heads.items():
        idx = [i for i, e in enumerate(examples) if head in e.labels]
        if not idx:
            continue
        truth = [examples[i].labels[head] for i in idx]
        pred = clf.predict(x[idx])
        macro_f1 = f1_score(truth, pred, average="macro", zero_division=0)
        out["heads"][head] = {"accuracy": round(float(accuracy_score(truth, pred)), 4),
                              "macro_f1": round(float(macro_f1), 4), "n": len(idx)}
    return out


def train_examples(examples: Sequence[Example], *, holdout: float = 0.2, seed: int = 13) -> TriageModel:
    """Measure on a stratified hold-out, then fit every head on all examples."""
    metrics: dict[str, Any] = {"n_train": len(examples),
                               "n_corrections": sum(1 for e in examples if e.corrected), "heads": {}}
    if holdout:
        train_part, test_part = train_test_split(list(examples), test_size=holdout, random_state=seed,
                                                 stratify=_stratify(examples))
        measured = score_model(*_fit(train_part), test_part)
        metrics["heads"] = measured["heads"]
        metrics["n_holdout"] = measured["n_holdout"]
    feat, heads = _fit(examples)
    version = datetime.now(UTC).strftime("v%Y%m%d%H%M%S%f")
    return TriageModel(version, feat, heads, metrics)


def train_model(rows: list[dict[str, str]], *, holdout: float = 0.2, seed: int = 13,
                corrections: Sequence[CorrectionRecord] = ()) -> TriageModel:
    """The seed rows (every head labelled) plus agents' corrections (see `merge_examples`)."""
    return train_examples(merge_examples(rows, corrections), holdout=holdout, seed=seed)


def _active_file(root: Path) -> Path:
    return root / "triage" / "ACTIVE"


def active_version(root: Path) -> str | None:
    active = _active_file(root)
    return active.read_text().strip() or None if active.is_file() else None


def activate(model: TriageModel, root: Path) -> None:
    model.save(root)
    pending = _active_file(root).with_suffix(".tmp")
    pending.write_text(model.version)
    pending.replace(_active_file(root))  # atomic: a process reading ACTIVE never sees it half-written


def load_active_model(root: Path, *, train_if_missing: bool = True) -> TriageModel:
    """The active model; on a fresh install the shipped seed corpus trains one (seconds)."""
    active = _active_file(root)
    if active.is_file():
        folder = root / "triage" / active.read_text().strip()
        if (folder / ARTEFACT).is_file():
            return TriageModel.load(folder)
    if not train_if_missing:
        raise Unavailable("no triage model is trained yet; run `caredesk train`")
    model = train_model(read_corpus(seed_corpus_path()))
    activate(model, root)
    return model
