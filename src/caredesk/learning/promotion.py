"""Pure rule for the nightly retraining: does the candidate model replace the active one?

Both models are scored on the same held-out examples (per head: accuracy and macro-F1). The candidate wins
when its mean macro-F1 over the heads is higher by more than `min_gain` and no head loses more than
`max_head_drop`: a better average must not hide a head that got much worse."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["PromotionDecision", "mean_score", "should_promote"]

Metrics = Mapping[str, Any]  # {"heads": {head: {"accuracy": .., "macro_f1": ..}}, "n_holdout": ..}


@dataclass(frozen=True, slots=True)
class PromotionDecision:
    promote: bool
    reason: str
    candidate_score: float
    active_score: float | None

    def __bool__(self) -> bool:
        return self.promote


def _head_scores(metrics: Metrics | None, key: str) -> dict[str, float]:
    heads = (metrics or {}).get("heads") or {}
    return {h: float(v[key]) for h, v in heads.items() if isinstance(v, Mapping) and key in v}


def mean_score(metrics: Metrics | None, key: str = "macro_f1") -> float | None:
    scores = _head_scores(metrics, key)
    return round(sum(scores.values()) / len(scores), 4) if scores else None


def should_promote(candidate: Metrics, active: Metrics | None, *, min_gain: float = 0.0,
                   max_head_drop: float = 0.05, key: str = "macro_f1") -> PromotionDecision:
    cand = mean_score(candidate, key)
    if cand is None or not (candidate.get("n_holdout") or 0):
        return PromotionDecision(False, "candidate has no held-out score", cand or 0.0,
                                 mean_score(active, key))
    act = mean_score(active, key)
    if act is None:
        return PromotionDecision(True, "no active model to compare with", cand, None)
    if cand <= act + min_gain:
        return PromotionDecision(False, f"candidate {key} {cand:.4f} is not better than active {act:.4f}"
                                 + (f" by more than {min_gain}" if min_gain else ""), cand, act)
    cand_heads, act_heads = _head_scores(candidate, key), _head_scores(active, key)
    for head, before in sorted(act_heads.items()):
        after = cand_heads.get(head)
        if after is None:
            return PromotionDecision(False, f"candidate has no score for head {head}", cand, act)
        if before - after > max_head_drop:
            return PromotionDecision(False, f"head {head} drops from {before:.4f} to {after:.4f}", cand, act)
    return PromotionDecision(True, f"candidate {key} {cand:.4f} beats active {act:.4f}", cand, act)
