"""The profile model: one scikit-learn Pipeline (SimpleImputer -> StandardScaler -> LogisticRegression for the
escalation/churn risk) saved with a MiniBatchKMeans for the segments, as one versioned joblib artefact under
`<models>/profiles/<version>/` with an ACTIVE marker beside them, as the triage model is kept.

How each score is made (docs/profiles.md):
- value and loyalty: the declared weights (features.yaml `scores`) times the standardised features (z), plus
  the bias, through the logistic function to 0-1; the drivers are the largest |weight * z|;
- escalation risk: the Pipeline's probability; drivers = coefficient * z;
- segment: the nearest MiniBatchKMeans centroid (updated with `partial_fit`), named after its most marked trait;
- cold start (no model trained yet): z from each feature's declared `norm` (centre, spread), the risk from the
  declared risk weights like value and loyalty, the segment named after the customer's own most marked trait.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np

from caredesk.profiles.features import ProfileRules, rule_tags

if TYPE_CHECKING:  # fitted in caredesk.profiles.training; a process that never loads a model never imports them
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

__all__ = ["ARTEFACT", "COLD_START", "ProfileModel", "ProfileScore", "activate", "active_version", "cold_scores",
           "feature_matrix", "load_active", "name_segments", "new_version", "score_profile"]

ARTEFACT = "model.joblib"
COLD_START = "cold-start"
TOP_DRIVERS = 3
_cache: dict[tuple[str, str], ProfileModel] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class ProfileScore:
    value_score: float
    loyalty_score: float
    escalation_risk: float
    segment: str
    tags: list[str]
    drivers: dict[str, list[dict[str, Any]]]
    model_version: str


@dataclass
class ProfileModel:
    version: str
    feature_names: tuple[str, ...]
    pipeline: Pipeline  # impute -> scale -> risk
    segments: MiniBatchKMeans
    segment_names: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)

    def standardise(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.pipeline[:-1].transform(rows))

    def risk(self, z: np.ndarray) -> np.ndarray:
        return np.asarray(self.pipeline[-1].predict_proba(z)[:, 1])

    def update_segments(self, rows: np.ndarray) -> None:
        """One incremental step of the clustering (partial_fit), e.g. on the profiles refreshed lately."""
        if len(rows):
            self.segments.partial_fit(self.standardise(rows))

    def save(self, root: Path) -> Path:
        folder = root / "profiles" / self.version
        folder.mkdir(parents=True, exist_ok=True)
        pending = folder / f"{ARTEFACT}.tmp"
        joblib.dump({"version": self.version, "feature_names": self.feature_names, "pipeline": self.pipeline,
                     "segments": self.segments, "segment_names": self.segment_names, "metrics": self.metrics},
                    pending, compress=3)
        pending.replace(folder / ARTEFACT)  # atomic: update_segments re-saves a version that others may read
        (folder / "metrics.json").write_text(json.dumps(self.metrics, indent=2, ensure_ascii=False))
        return folder

    @classmethod
    def load(cls, folder: Path) -> ProfileModel:
        data = joblib.load(folder / ARTEFACT)
        return cls(data["version"], tuple(data["feature_names"]), data["pipeline"], data["segments"],
                   list(data["segment_names"]), dict(data["metrics"]))


def new_version(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("p%Y%m%d%H%M%S%f")


def feature_matrix(rows: Sequence[Mapping[str, float | None]], names: Sequence[str]) -> np.ndarray:
    """Rows of {feature: value or None} as a float matrix, None as NaN (the Pipeline's imputer fills it)."""
    values = [[math.nan if (v := r.get(n)) is None else float(v) for n in names] for r in rows]
    return np.asarray(values, dtype=np.float64).reshape(len(rows), len(names))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


def _drivers(contributions: Mapping[str, float]) -> list[dict[str, Any]]:
    top = sorted(((n, c) for n, c in contributions.items() if abs(c) > 1e-9), key=lambda nc: -abs(nc[1]))
    return [{"feature": n, "weight": round(c, 4)} for n, c in top[:TOP_DRIVERS]]


def _declared(rules: ProfileRules, score: str, z: Mapping[str, float]) -> tuple[float, list[dict[str, Any]]]:
    rule = rules.scores[score]  # type: ignore[index]
    parts = {n: w * z.get(n, 0.0) for n, w in rule.weights.items()}
    return round(_sigmoid(rule.bias + sum(parts.values())), 4), _drivers(parts)


def _trait_name(rules: ProfileRules, z: Mapping[str, float], *, min_z: float = 0.5) -> str:
    best, best_z = rules.segments.fallback, min_z
    for name, sides in rules.segments.traits.items():
        value = z.get(name, 0.0)
        side = "high" if value > 0 else "low"
        if side in sides and abs(value) > best_z:
            best, best_z = sides[side], abs(value)
    return best


def name_segments(rules: ProfileRules, names: Sequence[str], centroids: np.ndarray) -> list[str]:
    """A readable name per centroid from its most marked trait; a name taken twice gets -2, -3..."""
    out: list[str] = []
    for centre in centroids:
        base = _trait_name(rules, dict(zip(names, (float(v) for v in centre), strict=True)))
        name, n = base, 2
        while name in out:
            name, n = f"{base}-{n}", n + 1
        out.append(name)
    return out


def cold_scores(rules: ProfileRules, features: Mapping[str, float | None]) -> ProfileScore:
    """Before any model is trained: the declared norms stand in for the scaler, the declared risk weights for
    the classifier, the customer's own most marked trait for a cluster."""
    z = {}
    for rule in rules.features:
        value = features.get(rule.name)
        z[rule.name] = 0.0 if value is None else (float(value) - rule.norm[0]) / rule.norm[1]
    return _finish(rules, features, z, None, COLD_START, _trait_name(rules, z))


def _finish(rules: ProfileRules, features: Mapping[str, float | None], z: Mapping[str, float],
            risk: tuple[float, list[dict[str, Any]]] | None, version: str, segment: str) -> ProfileScore:
    value, value_drivers = _declared(rules, "value_score", z)
    loyalty, loyalty_drivers = _declared(rules, "loyalty_score", z)
    risk_score, risk_drivers = risk or _declared(rules, "escalation_risk", z)
    scores = {"value_score": value, "loyalty_score": loyalty, "escalation_risk": risk_score}
    drivers = {"value_score": value_drivers, "loyalty_score": loyalty_drivers, "escalation_risk": risk_drivers}
    return ProfileScore(value, loyalty, risk_score, segment, rule_tags(rules, features, scores), drivers, version)


def score_profile(model: ProfileModel | None, rules: ProfileRules, features: Mapping[str, float | None]
                  ) -> ProfileScore:
    """The scores of one customer's features, with the active model or by the cold-start rule."""
    if model is None:
        return cold_scores(rules, features)
    row = feature_matrix([features], model.feature_names)
    zrow = model.standardise(row)
    z = dict(zip(model.feature_names, (float(v) for v in zrow[0]), strict=True))
    clf: LogisticRegression = model.pipeline[-1]
    prob = float(clf.predict_proba(zrow)[0, 1])
    risk_parts = {n: float(c) * z[n] for n, c in zip(model.feature_names, clf.coef_[0], strict=True)}
    cluster = int(model.segments.predict(zrow)[0])
    segment = model.segment_names[cluster] if cluster < len(model.segment_names) else rules.segments.fallback
    return _finish(rules, features, z, (round(prob, 4), _drivers(risk_parts)), model.version, segment)


# --- artefacts ----------------------------------------------------------------------------------------------
def _active_file(root: Path) -> Path:
    return root / "profiles" / "ACTIVE"


def active_version(root: Path) -> str | None:
    active = _active_file(root)
    return (active.read_text().strip() or None) if active.is_file() else None


def activate(model: ProfileModel, root: Path) -> None:
    model.save(root)
    pending = _active_file(root).with_suffix(".tmp")
    pending.write_text(model.version)
    pending.replace(_active_file(root))  # atomic: a reader never sees it half-written


def load_active(root: Path) -> ProfileModel | None:
    """The active model (loaded once per version per process), None before the first training: the marker is
    read on every call, so a model promoted by another process is used at the next refresh."""
    version = active_version(root)
    if version is None:
        return None
    key = (str(root), version)
    with _cache_lock:
        model = _cache.get(key)
        if model is None:
            folder = root / "profiles" / version
            if not (folder / ARTEFACT).is_file():
                return None
            model = ProfileModel.load(folder)
            _cache.clear()
            _cache[key] = model
    return model
