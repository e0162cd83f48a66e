"""The trained triage heads (content type, problem type, urgency): one shared TF-IDF featuriser over
characters and jieba words, one logistic-regression head per label set. Saved as versioned artefacts."""

from __future__ import annotations

import csv
import json
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

from caredesk.errors import InvalidFile, Unavailable
from caredesk.triage.components.segment import tokenize
from caredesk.triage.doc import LabelScore
from caredesk.triage.labels import HEADS

__all__ = ["TriageModel", "activate", "load_active_model", "read_corpus", "seed_corpus_path", "train_model"]

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

    def predict(self, masked_text: str) -> dict[str, LabelScore]:
        return self.predict_many([masked_text])[0]

    def predict_many(self, texts: list[str]) -> list[dict[str, LabelScore]]:
        x = self.featuriser.transform(texts)
        if self._names is None:
            self._names = self.featuriser.get_feature_names_out()
        out: list[dict[str, LabelScore]] = [{} for _ in texts]
        for head, clf in self.heads.items():
            probs = clf.predict_proba(x)
            for i, row in enumerate(probs):
                order = np.argsort(row)[::-1]
                best = order[0]
                ranking = tuple((str(clf.classes_[j]), float(row[j])) for j in order)
                out[i][head] = LabelScore(str(clf.classes_[best]), float(row[best]), ranking,
                                          self._reasons(x[i], clf, best))
        return out

    def _reasons(self, row: Any, clf: LogisticRegression, cls: int) -> tuple[str, ...]:
        """The features that pushed hardest towards the chosen label (binary heads have one coef row)."""
        coef = clf.coef_[cls] if clf.coef_.shape[0] > 1 else clf.coef_[0] * (1 if cls == 1 else -1)
        idx, vals = row.indices, row.data * coef[row.indices]
        top = np.argsort(vals)[::-1][:6]
        assert self._names is not None
        reasons = []
        for t in top:
            name = str(self._names[idx[t]]).split("__", 1)[1].strip()
            if vals[t] > 0 and (len(name) > 1 or not name.isascii()):
                reasons.append(f"{name}:{vals[t]:+.2f}")
        return tuple(reasons)

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


def train_model(rows: list[dict[str, str]], *, holdout: float = 0.2, seed: int = 13) -> TriageModel:
    """Measure on a stratified hold-out, then fit every head on all rows."""
    texts = [r["text"] for r in rows]
    metrics: dict[str, Any] = {"n_train": len(rows), "heads": {}}
    if holdout:
        train_idx, test_idx = train_test_split(range(len(rows)), test_size=holdout, random_state=seed,
                                               stratify=[r["urgency"] for r in rows])
        feat = _featuriser()
        x_train = feat.fit_transform([texts[i] for i in train_idx])
        x_test = feat.transform([texts[i] for i in test_idx])
        for head in HEADS:
            y_train = [rows[i][head] for i in train_idx]
            y_test = [rows[i][head] for i in test_idx]
            pred = _head().fit(x_train, y_train).predict(x_test)
            metrics["heads"][head] = {"accuracy": round(float(accuracy_score(y_test, pred)), 4),
                                      "macro_f1": round(float(f1_score(y_test, pred, average="macro")), 4)}
    feat = _featuriser()
    x = feat.fit_transform(texts)
    heads = {head: _head().fit(x, [r[head] for r in rows]) for head in HEADS}
    version = datetime.now(UTC).strftime("v%Y%m%d%H%M%S%f")
    return TriageModel(version, feat, heads, metrics)


def _active_file(root: Path) -> Path:
    return root / "triage" / "ACTIVE"


def activate(model: TriageModel, root: Path) -> None:
    model.save(root)
    _active_file(root).write_text(model.version)


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
