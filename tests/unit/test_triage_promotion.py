"""The promotion rule of the nightly retraining."""

from __future__ import annotations

from typing import Any

from caredesk.learning.promotion import mean_score, should_promote


def metrics(n: int = 100, **f1: float) -> dict[str, Any]:
    return {"n_holdout": n, "heads": {h: {"accuracy": v, "macro_f1": v} for h, v in f1.items()}}


def test_should_promote_a_better_candidate() -> None:
    d = should_promote(metrics(content_type=0.9, urgency=0.85), metrics(content_type=0.8, urgency=0.8))
    assert d.promote and bool(d)
    assert "beats" in d.reason and d.candidate_score == 0.875 and d.active_score == 0.8


def test_should_promote_refuses_equal_or_worse() -> None:
    same = metrics(content_type=0.8, urgency=0.8)
    assert not should_promote(same, same).promote
    worse = should_promote(metrics(content_type=0.5, urgency=0.6), same)
    assert not worse.promote and "not better" in worse.reason


def test_should_promote_needs_more_than_the_minimum_gain() -> None:
    active, candidate = metrics(urgency=0.80), metrics(urgency=0.81)
    assert should_promote(candidate, active).promote
    refused = should_promote(candidate, active, min_gain=0.02)
    assert not refused.promote and "by more than 0.02" in refused.reason


def test_should_promote_refuses_when_one_head_drops_too_far() -> None:
    d = should_promote(metrics(content_type=0.99, urgency=0.70), metrics(content_type=0.70, urgency=0.80),
                       max_head_drop=0.05)
    assert not d.promote and "urgency drops" in d.reason


def test_should_promote_without_active_model_or_without_holdout() -> None:
    assert should_promote(metrics(urgency=0.5), None).promote
    assert should_promote(metrics(urgency=0.5), {}).promote
    empty = should_promote(metrics(0, urgency=0.9), metrics(urgency=0.1))
    assert not empty.promote and "no held-out" in empty.reason


def test_mean_score() -> None:
    assert mean_score(metrics(a=0.5, b=1.0)) == 0.75
    assert mean_score(None) is None
