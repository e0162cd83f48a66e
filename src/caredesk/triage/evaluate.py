"""Measure the intent model: train a fresh one, predict a test set one message at a time, report quality and
single-message latency. Pure measurement: nothing is saved or activated."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from threadpoolctl import threadpool_limits

from caredesk.triage.intent import IntentModel, train_intent_model

__all__ = ["Timings", "evaluate_intent", "timed_predictions"]

# Warm-up messages of both languages that a test set is unlikely to hold: warming up on the test's own first
# texts would put them in the encoder's cache and time them as repeats.
WARM_UP_TEXTS = ("how long does a transfer to another bank usually take", "the app logs me out every few minutes",
                 "please send me the opening hours of your nearest branch", "信用卡账单日可以改到月底吗",
                 "手机银行转账提示系统繁忙请稍后再试", "上个月多扣的那笔年费什么时候退回来")

Progress = Callable[[str], None]


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)  # seconds per call, as a caller waits for it
    cpu: list[float] = field(default_factory=list)  # seconds of this thread's CPU per call (a busy box aside)

    def summary(self) -> dict[str, float]:
        """p50 / p99 in milliseconds: wall clock (`p50_ms`, `p99_ms`) and CPU (`cpu_p50_ms`, `cpu_p99_ms`)."""
        out: dict[str, float] = {}
        for prefix, values in (("", self.wall), ("cpu_", self.cpu)):
            ms = np.asarray(values or [0.0]) * 1000.0
            out[f"{prefix}p50_ms"] = round(float(np.percentile(ms, 50)), 3)
            out[f"{prefix}p99_ms"] = round(float(np.percentile(ms, 99)), 3)
        return out


def timed_predictions(predict: Callable[[str], Any], texts: Sequence[str]) -> tuple[list[Any], Timings]:
    """Each text on its own, after a warm-up on messages that are not among them, on one thread (the
    product's per-worker setting)."""
    timings = Timings()
    results = []
    with threadpool_limits(limits=1):
        for text in WARM_UP_TEXTS * 2:
            predict(text)
        for text in texts:
            wall, cpu = time.perf_counter(), time.thread_time()
            results.append(predict(text))
            timings.cpu.append(time.thread_time() - cpu)
            timings.wall.append(time.perf_counter() - wall)
    return results, timings


def evaluate_intent(train_texts: Sequence[str], train_labels: Sequence[str], test_texts: Sequence[str],
                    test_labels: Sequence[str], *, oos_label: str | None = None, semantic_weight: float = 0.0,
                    progress: Progress | None = None) -> dict[str, Any]:
    say = progress or (lambda _msg: None)
    start = time.perf_counter()
    model: IntentModel = train_intent_model(train_texts, train_labels, oos_label=oos_label,
                                            semantic_weight=semantic_weight, progress=say)
    train_seconds = time.perf_counter() - start
    say(f"predicting {len(test_texts)} test messages one at a time…")
    preds, timings = timed_predictions(model.predict, test_texts)
    truth = np.array([str(y) for y in test_labels])
    final = np.array([p.label for p in preds])
    seen = set(model.labels) | ({oos_label} if oos_label else set())
    result: dict[str, Any] = {
        "task": "intent",
        "accuracy": round(float(accuracy_score(truth, final)), 4),
        "macro_f1": round(float(f1_score(truth, final, average="macro", zero_division=0)), 4),
        "n_train": len(train_texts),
        "n_test": len(test_texts),
        "n_labels": len(model.labels),
        "n_test_unseen_label": int(sum(1 for y in truth if y not in seen)),
        **timings.summary(),
        "train_seconds": round(train_seconds, 2),
        "temperature": round(model.temperature, 4),
        "semantic_weight": semantic_weight,
    }
    if oos_label is not None:
        is_oos = truth == oos_label
        said_oos = final == oos_label
        inscope = ~is_oos
        result |= {
            "inscope_accuracy": (round(float((final[inscope] == truth[inscope]).mean()), 4)
                                 if inscope.any() else 0.0),
            "oos_recall": round(float(said_oos[is_oos].mean()), 4) if is_oos.any() else 0.0,
            "oos_precision": round(float(is_oos[said_oos].mean()), 4) if said_oos.any() else 0.0,
            "n_test_oos": int(is_oos.sum()),
            "n_train_oos": int(sum(1 for y in train_labels if str(y) == oos_label)),
            "oos_rule": model.rule,
            "threshold": round(model.threshold, 4) if np.isfinite(model.threshold) else None,
        }
    return result
