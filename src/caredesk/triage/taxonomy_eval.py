"""Measure the triage on a labelled set as the product runs it: the whole pipeline (heads and rules) one
message at a time, and the decision's emergency gate. Pure measurement: nothing is saved or activated."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from caredesk.intake.decision import DecisionPolicy, needs_emergency
from caredesk.triage.doc import TriageDoc
from caredesk.triage.evaluate import timed_predictions
from caredesk.triage.labels import HEADS, Urgency
from caredesk.triage.model import TriageModel
from caredesk.triage.pipeline import TriagePipeline

__all__ = ["evaluate_taxonomy", "reliability"]

Progress = Callable[[str], None]


def reliability(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> dict[str, Any]:
    """Expected calibration error and the reliability table (mean confidence against accuracy per bin)."""
    conf = np.asarray(confidences, dtype=float)
    ok = np.asarray(correct, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    table, ece = [], 0.0
    for lo, hi in pairwise(edges):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            gap = abs(conf[inside].mean() - ok[inside].mean())
            ece += gap * inside.mean()
            table.append({"bin": f"{lo:.1f}-{hi:.1f}", "n": int(inside.sum()),
                          "confidence": round(float(conf[inside].mean()), 3),
                          "accuracy": round(float(ok[inside].mean()), 3)})
    return {"ece": round(float(ece), 4), "bins": table}


def _scores(truth: Sequence[str], pred: Sequence[str]) -> tuple[float, float]:
    return (round(float(accuracy_score(truth, pred)), 4),
            round(float(f1_score(truth, pred, average="macro", zero_division=0)), 4))


def _summary(rows: Sequence[dict[str, str]], docs: Sequence[TriageDoc], policy: DecisionPolicy) -> dict[str, Any]:
    out: dict[str, Any] = {"n_test": len(rows), "accuracy": {}, "macro_f1": {}}
    for head in HEADS:
        truth = [r[head] for r in rows]
        pred = [d.label(head).label for d in docs]
        out["accuracy"][head], out["macro_f1"][head] = _scores(truth, pred)
    urgent_true = np.array([r["urgency"] == Urgency.URGENT for r in rows])
    urgent_said = np.array([d.label("urgency").label == Urgency.URGENT for d in docs])
    emergency = np.array([needs_emergency(d, policy) for d in docs])
    out["urgent_recall"] = round(float(urgent_said[urgent_true].mean()), 4) if urgent_true.any() else None
    out["urgent_precision"] = round(float(urgent_true[urgent_said].mean()), 4) if urgent_said.any() else None
    out["emergency_rate_on_non_urgent"] = (round(float(emergency[~urgent_true].mean()), 4)
                                           if (~urgent_true).any() else None)
    out["emergency_rate_on_urgent"] = round(float(emergency[urgent_true].mean()), 4) if urgent_true.any() else None
    emotions = [(r["emotion"], d.emotion.label) for r, d in zip(rows, docs, strict=True) if r.get("emotion")]
    if emotions:
        emotion_truth, emotion_pred = zip(*emotions, strict=True)
        out["emotion_accuracy"], out["emotion_macro_f1"] = _scores(emotion_truth, emotion_pred)
    levels = [(int(r["complaint_level"]), d.complaint_level) for r, d in zip(rows, docs, strict=True)
              if r.get("complaint_level")]
    if levels:
        out["complaint_level_accuracy"] = round(float(np.mean([t == p for t, p in levels])), 4)
        high = [p >= 3 for t, p in levels if t >= 3]
        out["complaint_level_3plus_recall"] = round(float(np.mean(high)), 4) if high else None
    scoped = [(r["out_of_scope"], d.out_of_scope) for r, d in zip(rows, docs, strict=True) if r.get("out_of_scope")]
    if scoped:
        oos = [said for truth, said in scoped if truth == "1"]
        ins = [said for truth, said in scoped if truth == "0"]
        out["out_of_scope_recall"] = round(float(np.mean(oos)), 4) if oos else None
        out["in_scope_kept"] = round(float(1 - np.mean(ins)), 4) if ins else None
    return out


def evaluate_taxonomy(model: TriageModel, test_rows: Sequence[dict[str, str]], policy: DecisionPolicy, *,
                      progress: Progress | None = None, by: str = "source") -> dict[str, Any]:
    """The interface's figures (`n_test`, `accuracy`, `macro_f1`, `urgent_recall`, `urgent_precision`,
    `emergency_rate_on_non_urgent`, `p50_ms`, `p99_ms`, `emotion_macro_f1` when labelled), the confidence
    reliability of each seed head, and the same figures per `by` column (source, language) when the test
    file has it."""
    say = progress or (lambda _msg: None)
    pipeline = TriagePipeline(model)
    say(f"triaging {len(test_rows)} test messages one at a time…")
    docs, timings = timed_predictions(pipeline, [r["text"] for r in test_rows])
    test_rows = [r if r.get("language") else r | {"language": d.language} for r, d in zip(test_rows, docs,
                                                                                           strict=True)]
    result = _summary(test_rows, docs, policy) | timings.summary()
    result["reliability"] = {head: reliability([d.label(head).confidence for d in docs],
                                               [d.label(head).label == r[head] for r, d in zip(test_rows, docs,
                                                                                               strict=True)])
                             for head in HEADS}
    for column in (by, "language"):
        groups: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(test_rows):
            if r.get(column):
                groups[r[column]].append(i)
        if len(groups) > 1:
            result[f"by_{column}"] = {
                key: {k: v for k, v in _summary([test_rows[i] for i in idx], [docs[i] for i in idx], policy).items()}
                for key, idx in sorted(groups.items())}
    return result
