"""Profile features by declared rules on hand-made histories with a frozen clock; cleaning; tags, drivers,
emotion; the rules file's checks; the model's drivers and the promotion rule (pure: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from caredesk.errors import InvalidInput
from caredesk.profiles.features import emotion_of_history, extract_features, load_rules, rule_tags
from caredesk.profiles.history import (
    CallbackRecord,
    EmergencyRecord,
    History,
    Interaction,
    OrderRecord,
    SourceFacts,
    SurveyRecord,
    clean_interactions,
)
from caredesk.profiles.model import COLD_START, cold_scores, score_profile
from caredesk.profiles.training import Example, fit_model, should_promote, split_by_time

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RULES = load_rules()


def _msg(days_ago: float, *, channel: str = "web", topic: str | None = "credit_card_bill", emotion: str = "neutral",
         level: int = 0, conv: str = "c1", mid: str | None = None, text: str = "", product: str | None = None
         ) -> Interaction:
    at = NOW - timedelta(days=days_ago)
    return Interaction(at, mid or f"m{days_ago}-{channel}-{emotion}", conv, channel, topic, product, emotion, level,
                       (), "complaint" if level else "consultation", text)


def test_features_interaction_family_counts_channels_recency_repeats_and_open_orders() -> None:
    history = History("cust", interactions=(
        _msg(40, channel="email"), _msg(20, channel="web", topic="loan_mortgage"),
        _msg(10, channel="wechat", topic="loan_mortgage"), _msg(3, channel="web", topic="loan_mortgage"),
        _msg(2, channel="phone", topic="fees_charges")),
        orders=(OrderRecord(NOW - timedelta(days=5), "o1", "loan_mortgage", "open"),
                OrderRecord(NOW - timedelta(days=50), "o2", "fees", "closed", closed_at=NOW - timedelta(days=45))))
    f = extract_features(history, RULES, now=NOW)
    assert f["contacts_30d"] == 4.0  # the e-mail 40 days ago is outside the window
    assert (f["contacts_web_30d"], f["contacts_wechat_30d"], f["contacts_phone_30d"], f["contacts_email_30d"]) \
        == (2.0, 1.0, 1.0, 0.0)
    assert f["days_since_last_contact"] == 2.0
    assert f["tenure_days"] == 40.0
    assert f["repeat_topic_contacts_30d"] == 3.0  # three about the mortgage
    assert f["open_orders"] == 1.0
    assert f["mortgage_contacts_60d"] == 3.0


def test_features_emotional_state_max_mean_trend_and_complaint_history() -> None:
    history = History("cust", interactions=(
        _msg(30, emotion="satisfied"), _msg(25, emotion="neutral"), _msg(20, emotion="neutral"),
        _msg(6, emotion="anxious", level=1), _msg(4, emotion="angry", level=2), _msg(1, emotion="angry", level=3)),
        surveys=(SurveyRecord(NOW - timedelta(days=15), "o1", 2), SurveyRecord(NOW - timedelta(days=10), "o2", 4)))
    f = extract_features(history, RULES, now=NOW)
    assert f["emotion_latest"] == 1.0 and f["emotion_max_14d"] == 1.0
    assert f["complaint_level_max_90d"] == 3.0
    assert f["complaint_level_mean_90d"] == pytest.approx(1.0)
    assert f["complaints_90d"] == 3.0
    assert f["angry_ratio_90d"] == pytest.approx(2 / 6)
    # newest three (anxious, angry, angry) against the three before (satisfied, neutral, neutral)
    assert f["emotion_trend"] == pytest.approx((0.6 + 1 + 1) / 3 - (0 + 0.2 + 0.2) / 3, abs=1e-4)
    assert f["csat_mean_180d"] == 3.0
    assert emotion_of_history(history, RULES, now=NOW) == ("angry", "rising")


def test_features_see_nothing_after_now_and_nothing_without_history() -> None:
    history = History("cust", interactions=(_msg(-1, emotion="angry"), _msg(5, emotion="satisfied")))
    f = extract_features(history, RULES, now=NOW)
    assert f["contacts_30d"] == 1.0 and f["emotion_latest"] == 0.0
    empty = extract_features(History("nobody"), RULES, now=NOW)
    assert empty["contacts_30d"] == 0.0
    assert empty["days_since_last_contact"] is None and empty["emotion_max_14d"] is None
    assert empty["balance"] is None and empty["csat_mean_180d"] is None
    assert emotion_of_history(History("nobody"), RULES, now=NOW) == ("neutral", "steady")


def test_features_behaviour_reads_source_fields_products_and_closed_accounts() -> None:
    history = History("cust", interactions=(_msg(3, product="mortgage"), _msg(2, product="credit_card"),
                                            _msg(1, product="mortgage")),
                      sources=(SourceFacts("crm", "stale", NOW, {"balance": "1200.5", "account_closed": False}),
                               SourceFacts("core", "ok", NOW, {"balance": 88000, "products": ["card", "loan", "fx"],
                                                               "monthly_spend": "n/a", "account_closed": True,
                                                               "loyalty_points": 4200})))
    f = extract_features(history, RULES, now=NOW)
    assert f["products_used"] == 2.0
    assert f["balance"] == 88000.0  # the fresh source first
    assert f["source_products"] == 3.0
    assert f["monthly_spend"] is None  # not a number
    assert f["account_closed"] == 1.0 and f["loyalty_points"] == 4200.0 and f["open_loans"] is None


def test_clean_interactions_drops_duplicates_and_retries_and_orders_by_time() -> None:
    a = _msg(5, mid="m1", text="h1")
    retry = _msg(5 - 30 / 86400, mid="m2", text="h1")  # the same text 30 s later in the same conversation
    later_same_text = _msg(4, mid="m3", text="h1")  # a day later: a new message
    other_conv = _msg(5 - 10 / 86400, mid="m4", text="h1", conv="c2")
    cleaned = clean_interactions([later_same_text, retry, a, a, other_conv])
    assert [i.message_id for i in cleaned] == ["m1", "m4", "m3"]


def test_order_as_of_a_cutoff_forgets_what_came_later() -> None:
    created = NOW - timedelta(days=20)
    order = OrderRecord(created, "o1", "fees", "closed", resolved_at=NOW - timedelta(days=10),
                        closed_at=NOW - timedelta(days=9), reopened=1, reopened_at=(NOW - timedelta(days=12),))
    before = order.as_of(NOW - timedelta(days=15))
    assert (before.status_category, before.reopened, before.closed_at) == ("open", 0, None)
    assert order.as_of(NOW).status_category == "closed" and order.as_of(NOW).reopened == 1


def test_tags_by_declared_rules() -> None:
    features = {"complaints_90d": 3.0, "emotion_max_14d": 1.0, "days_since_last_contact": 2.0,
                "mortgage_contacts_60d": 1.0, "account_closed": 0.0}
    tags = rule_tags(RULES, features, {"value_score": 0.8, "escalation_risk": 0.2})
    assert tags == ["repeat_complaints", "high_value", "agitated", "recent_mortgage"]
    assert rule_tags(RULES, {"emotion_max_14d": 1.0, "days_since_last_contact": 30.0}, {}) == []
    tag = RULES.tag("repeat_complaints")
    assert tag is not None and (tag.zh, tag.en) == ("多次投诉", "Repeated complaints")
    assert {t.zh for t in RULES.tags} >= {"多次投诉", "高价值", "情绪激动", "近期办理房贷"}


def test_cold_start_scores_say_which_features_drove_them() -> None:
    calm = extract_features(History("a", interactions=(_msg(60, emotion="satisfied"),)), RULES, now=NOW)
    upset = extract_features(History("b", interactions=tuple(
        _msg(d, emotion="angry", level=3, topic="fees_charges", mid=f"u{d}") for d in (1, 2, 3, 5))), RULES, now=NOW)
    low, high = cold_scores(RULES, calm), cold_scores(RULES, upset)
    assert high.escalation_risk > 0.8 > 0.2 > low.escalation_risk
    assert high.model_version == COLD_START
    drivers = high.drivers["escalation_risk"]
    assert drivers[0]["feature"] == "complaint_level_max_90d" and drivers[0]["weight"] > 0
    assert len(drivers) <= 3 and all(set(d) == {"feature", "weight"} for d in drivers)
    assert set(high.drivers) == {"value_score", "loyalty_score", "escalation_risk"}
    assert 0 <= high.value_score <= 1 and 0 <= high.loyalty_score <= 1
    assert "repeat_complaints" in high.tags and high.segment == "upset"  # its most marked trait
    rich = cold_scores(RULES, {**calm, "balance": 900_000.0, "monthly_spend": 20_000.0})
    assert rich.value_score > 0.9 and rich.drivers["value_score"][0]["feature"] == "balance"
    assert "high_value" in rich.tags


def test_trained_model_drivers_are_coefficient_times_standardised_value() -> None:
    rows, labels = [], []
    for n in range(60):
        angry = n % 3 == 0
        rows.append({**{name: 0.0 for name in RULES.names}, "emotion_max_14d": 1.0 if angry else 0.2,
                     "contacts_30d": float(n % 5), "balance": None})
        labels.append(int(angry))
    model = fit_model(RULES, rows, labels, rows)
    upset = score_profile(model, RULES, rows[0])
    calm = score_profile(model, RULES, rows[1])
    assert upset.escalation_risk > 0.9 and calm.escalation_risk < 0.1
    assert upset.drivers["escalation_risk"][0]["feature"] == "emotion_max_14d"
    assert upset.model_version == model.version and upset.segment in model.segment_names
    assert len(model.segment_names) == RULES.segments.clusters == len(set(model.segment_names))
    assert score_profile(model, RULES, {"emotion_max_14d": None}).escalation_risk is not None  # imputed


def test_promotion_only_for_a_better_held_out_auc() -> None:
    assert should_promote(None, None, has_active=False).promote is False
    assert should_promote(0.7, None, has_active=False).promote is True
    assert should_promote(0.7, 0.72, has_active=True).promote is False
    assert should_promote(0.73, 0.72, has_active=True).promote is True
    assert should_promote(0.73, 0.72, has_active=True, min_gain=0.02).promote is False


def test_time_split_holds_out_the_newest_weeks_without_look_ahead() -> None:
    horizon = timedelta(days=30)
    examples = [Example("c", NOW - timedelta(weeks=w), {}, 0) for w in range(12)]
    train, held = split_by_time(examples, holdout_weeks=4, horizon=horizon)
    first_held = NOW - timedelta(weeks=3)
    assert {e.cutoff for e in held} == {NOW - timedelta(weeks=w) for w in range(4)}
    assert train and all(e.cutoff + horizon <= first_held for e in train)
    assert max(e.cutoff for e in train) == NOW - timedelta(weeks=8)


def test_rules_file_problems_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    text = Path(load_rules.__code__.co_filename).with_name("features.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("weights: {balance: 0.9", "weights: {no_such_feature: 1, balance: 0.9"),
                   encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"unknown features: scores\.value_score: no_such_feature"):
        load_rules(bad)
    bad.write_text(text.replace("kind: max, source: interactions, field: complaint_level",
                                "kind: max, source: interactions"), encoding="utf-8")
    with pytest.raises(InvalidInput, match="kind max needs a field"):
        load_rules(bad)
    bad.write_text("features: [", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not YAML"):
        load_rules(bad)


def test_features_count_open_callbacks_and_emergencies() -> None:
    history = History("cust", callbacks=(CallbackRecord(NOW - timedelta(days=3), "o1", False),
                                         CallbackRecord(NOW - timedelta(days=30), "o2", True)),
                      emergencies=(EmergencyRecord(NOW - timedelta(days=10), "e1"),
                                   EmergencyRecord(NOW - timedelta(days=400), "e0")))
    f = extract_features(history, RULES, now=NOW)
    assert (f["callbacks_open"], f["emergencies_180d"]) == (1.0, 1.0)
