"""The profile's part in priority (profiles/priority.py): the lift from value, loyalty and strong emotion from a
high-tier customer, and the guard: value and loyalty never outrank a complaint at level 3+ or an order about to
breach its SLA (checked over every combination the priority rule can produce)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from caredesk.profiles.priority import (
    LIFT_REASONS,
    PROFILE_LIFT_MAX,
    ProfileLift,
    guarded,
    high_tier,
    lift_count,
    profile_lift,
    queue_rank,
    sla_at_risk,
    strong_emotion,
    strong_from_high_tier,
)
from caredesk.profiles.scores import ProfileScores
from caredesk.workorders.model import parse_priority_reason, priority_of
from caredesk.workorders.queue_order import QueueFacts, Reason, ordered, queue_key, reason_keys

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def scores(value: float | None = None, loyalty: float | None = None) -> ProfileScores:
    return ProfileScores("c1", value, loyalty, None, None, (), None, None)


def lift(s: ProfileScores | None, tier: str = "standard", emotion: str = "neutral", confidence: float = 0.9,
         level: int = 0) -> ProfileLift:
    return profile_lift(s, tier=tier, emotion=emotion, emotion_confidence=confidence, complaint_level=level)


def test_profile_lift_from_value_and_loyalty_at_the_high_mark() -> None:
    assert lift(None) == ProfileLift(0, (), False)
    assert lift(scores(0.79, 0.5)) == ProfileLift(0, (), False)
    assert lift(scores(0.8, None)) == ProfileLift(1, ("value high +1",), False)
    assert lift(scores(0.95, 0.9)) == ProfileLift(2, ("value high +1", "loyalty high +1"), False)


@pytest.mark.parametrize(("tier", "s", "emotion", "confidence", "level", "strong"), [
    ("private", None, "angry", 0.9, 0, True),
    ("gold", None, "angry", 0.6, 0, True),
    ("gold", None, "angry", 0.59, 0, False),  # not sure enough that the customer is angry
    ("gold", None, "anxious", 0.99, 2, True),  # repeated contact / compensation: strong whatever the emotion
    ("gold", None, "neutral", 0.99, 1, False),
    ("standard", None, "angry", 0.99, 3, False),  # not high-tier (a level-3 complaint is handed over anyway)
    ("standard", scores(value=0.85), "angry", 0.9, 0, True),  # high value counts as high tier
    ("standard", scores(loyalty=0.99), "angry", 0.9, 0, False),  # loyalty alone does not
])
def test_strong_emotion_from_a_high_tier_customer(tier: str, s: ProfileScores | None, emotion: str,
                                                  confidence: float, level: int, strong: bool) -> None:
    assert strong_from_high_tier(tier, s, emotion=emotion, emotion_confidence=confidence,
                                 complaint_level=level) is strong
    assert lift(s, tier, emotion, confidence, level).strong_emotion is strong


def test_high_tier_is_private_gold_or_high_value() -> None:
    assert high_tier("private", None) and high_tier("gold", None) and high_tier("standard", scores(0.8))
    assert not high_tier("standard", scores(0.7, 0.99)) and not high_tier(None, None)


def test_profile_lift_is_capped_and_keeps_strong_emotion_first() -> None:
    got = lift(scores(0.9, 0.9), "private", "angry", 0.9)
    assert got == ProfileLift(PROFILE_LIFT_MAX, ("vip_emotion strong +1", "value high +1"), True)


def test_priority_of_adds_the_lift_with_its_reasons_read_back() -> None:
    base, _ = priority_of("general", "standard", "neutral")
    lifted, why = priority_of("general", "standard", "neutral", lift(scores(0.9, 0.9)))
    assert (base, lifted) == (5, 3)
    assert why == ["urgency general +1", "value high +1", "loyalty high +1"]
    assert [parse_priority_reason(r).code for r in why if parse_priority_reason(r)] == [  # type: ignore[union-attr]
        "urgency", "value", "loyalty"]
    assert priority_of("urgent", "private", "angry", lift(scores(1.0, 1.0), "private", "angry"))[0] == 1


def test_reason_keys_of_the_profile_lift() -> None:
    assert reason_keys(list(LIFT_REASONS.values())) == [
        Reason("value.high", "value high +1"), Reason("loyalty.high", "loyalty high +1"),
        Reason("vip_emotion.strong", "vip_emotion strong +1")]


def test_sla_at_risk_by_state_or_due_time_naive_or_aware() -> None:
    assert sla_at_risk(None, T0, sla_state="warning") and sla_at_risk(None, T0, sla_state="breached")
    assert not sla_at_risk(None, T0, sla_state="running") and not sla_at_risk(None, T0)
    assert sla_at_risk(T0 + timedelta(minutes=30), T0) and sla_at_risk(T0 - timedelta(hours=1), T0)
    assert not sla_at_risk(T0 + timedelta(minutes=31), T0)
    assert sla_at_risk((T0 + timedelta(minutes=10)).replace(tzinfo=None), T0)  # SQLite: naive UTC


def test_guarded_by_complaint_level_3_or_sla_at_risk() -> None:
    assert guarded(3, False) and guarded(4, False) and guarded(0, True)
    assert not guarded(2, False)
    assert queue_rank(4, True) == 4 - PROFILE_LIFT_MAX and queue_rank(4, False) == 4


def _facts(priority: int, is_guarded: bool) -> QueueFacts:
    return QueueFacts(False, False, priority, T0 + timedelta(hours=5), T0, guarded=is_guarded)


def test_a_lift_never_carries_an_order_past_a_guarded_one() -> None:
    """Every order the rule can produce (urgency, tier, emotion, any lift) against every guarded one: when the
    lifted order sorts first, it would have sorted first without its lift too."""
    combos = list(itertools.product(("general", "attention", "urgent"), ("standard", "gold", "private"),
                                    ("neutral", "angry")))
    lifts = [ProfileLift(w, tuple(["value high +1"] * w)) for w in range(PROFILE_LIFT_MAX + 1)]
    checked = 0
    for (a, a_lift), (b, b_lift) in itertools.product(itertools.product(combos, lifts), repeat=2):
        a_base, b_base = priority_of(*a)[0], priority_of(*b)[0]
        a_facts, b_facts = _facts(priority_of(*a, a_lift)[0], False), _facts(priority_of(*b, b_lift)[0], True)
        if a_lift.weight and queue_key(a_facts) < queue_key(b_facts):
            assert a_base < b_base, (a, a_lift.weight, b, b_lift.weight)
            checked += 1
    assert checked > 0  # some lifted orders still go first, on their own merits


def test_guarded_order_wins_a_tie_and_unguarded_orders_keep_their_priority() -> None:
    rows = {"lifted-p1": _facts(1, False), "guarded-p3": _facts(3, True), "p2": _facts(2, False),
            "p4": _facts(4, False)}
    assert ordered(rows, rows.__getitem__) == ["guarded-p3", "lifted-p1", "p2", "p4"]


def test_strong_emotion_alone_and_the_lift_counted_back_from_stored_reasons() -> None:
    assert strong_emotion("angry", 0.6, 0) and strong_emotion("neutral", 1.0, 2)
    assert not strong_emotion("angry", 0.5, 1) and not strong_emotion("anxious", 0.99, 1)
    assert lift_count(["urgency general +1", "tier gold +1", "value high +1", "vip_emotion strong +1"]) == 2
    assert lift_count([]) == 0
