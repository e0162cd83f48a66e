"""Each metric's definition on hand-made figures: rates are None without a denominator, first-contact
resolution, CSAT, backlog age bands, percentiles and durations, per-agent first-response time, the measured
handling time, and the period parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from caredesk.analytics import metrics
from caredesk.analytics.order_figures import OrderSums
from caredesk.analytics.period import parse_period
from caredesk.errors import InvalidInput

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SUMS = {"messages": 200, "auto_answered": 120, "unanswered": 30, "handed_off": 50, "emergencies": 4}


def test_message_rates_divide_by_messages_and_are_none_without_any() -> None:
    assert metrics.auto_response_rate(SUMS) == 0.6
    assert metrics.response_failure_rate(SUMS) == 0.15
    assert metrics.handoff_rate(SUMS) == 0.25
    empty = {"messages": 0, "auto_answered": 0}
    assert metrics.auto_response_rate(empty) is None and metrics.handoff_rate({}) is None


def test_volumes_drop_zero_counts_and_put_the_busiest_first() -> None:
    assert metrics.volumes({"channel": {"web": 3, "app": 9, "sms": 0}, "topic": {}}) == {
        "channel": {"app": 9, "web": 3}, "topic": {}}
    assert list(metrics.volumes({"branch": {"b": 2, "a": 2}})["branch"]) == ["a", "b"]  # ties by name


def test_first_contact_resolution_needs_no_reopen_and_no_return_within_the_window() -> None:
    fresh = metrics.ResolvedOrder(T0, reopened=False, next_order_at=None)
    assert metrics.first_contact_resolved(fresh)
    assert not metrics.first_contact_resolved(metrics.ResolvedOrder(T0, True, None))
    assert not metrics.first_contact_resolved(metrics.ResolvedOrder(T0, False, T0 + timedelta(days=7)))
    assert metrics.first_contact_resolved(metrics.ResolvedOrder(T0, False, T0 + timedelta(days=7, seconds=1)))
    assert metrics.first_contact_resolution_rate(resolved=8, first_contact=6) == 0.75
    assert metrics.first_contact_resolution_rate(0, 0) is None
    assert metrics.reopen_rate(resolved=8, reopened=2) == 0.25


def test_sla_met_rate_counts_the_orders_under_a_policy_not_breached() -> None:
    assert metrics.sla_met_rate(resolved_with_sla=10, breached=1) == 0.9
    assert metrics.sla_met_rate(0, 0) is None


def test_csat_average_and_satisfied_share() -> None:
    got = metrics.csat([5, 4, 3, 1])
    assert got == metrics.Csat(3.25, 0.5, 4)
    assert metrics.csat([]) == metrics.Csat(None, None, 0)
    assert metrics.csat_from_sums(total=13, count=4, satisfied=2) == got  # the database's sums, same answer
    assert metrics.csat_from_sums(0, 0, 0).average is None


def test_backlog_bands_by_age() -> None:
    now = T0
    opened = [now - timedelta(hours=1), now - timedelta(hours=4), now - timedelta(hours=30),
              now - timedelta(days=6), now - timedelta(days=7), now - timedelta(days=40)]
    assert metrics.backlog_by_band(opened, now) == {"<4h": 1, "4-24h": 1, "1-3d": 1, "3-7d": 1, ">=7d": 2}
    assert metrics.backlog_by_band([], now) == {"<4h": 0, "4-24h": 0, "1-3d": 0, "3-7d": 0, ">=7d": 0}


def test_percentiles_and_durations() -> None:
    assert metrics.percentile([], 0.5) is None
    assert metrics.percentile([10.0], 0.9) == 10.0
    assert metrics.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert metrics.percentile(list(map(float, range(1, 11))), 0.9) == pytest.approx(9.1)
    spans = [(T0, T0 + timedelta(minutes=m)) for m in (10, 20, 30, 40, 100)] + [(T0, None)]
    got = metrics.durations(spans)
    assert got.count == 5 and got.median_minutes == 30 and got.p90_minutes == pytest.approx(76.0)
    assert metrics.durations([]) == metrics.Durations(None, None, 0)


def test_first_response_by_agent_groups_the_answers_each_agent_gave() -> None:
    m = timedelta(minutes=1)
    orders = [metrics.AnsweredOrder(T0, T0 + 10 * m, "ann"), metrics.AnsweredOrder(T0, T0 + 20 * m, "ann"),
              metrics.AnsweredOrder(T0, T0 + 40 * m, "ann"), metrics.AnsweredOrder(T0, T0 + 5 * m, "bo"),
              metrics.AnsweredOrder(T0, None, None),  # not answered yet: left out
              metrics.AnsweredOrder(T0, T0 + m, None)]  # answered by an API client: nobody's figure
    found = metrics.first_response_by_agent(orders)
    assert set(found) == {"ann", "bo"}
    assert found["ann"] == metrics.Durations(20.0, 36.0, 3)  # p90 of 10, 20, 40: 20 + 0.8 * 20
    assert found["bo"] == metrics.Durations(5.0, 5.0, 1)
    assert metrics.first_response_by_agent([]) == {}


def test_handling_time_is_the_mean_gap_before_each_answer_within_a_working_stretch() -> None:
    m = timedelta(minutes=1)
    a = metrics.AgentAction
    actions = [a("staff:ann", T0, False),  # the stretch begins: a note, no measure
               a("staff:ann", T0 + 4 * m, True),  # 4 min on this answer
               a("staff:ann", T0 + 10 * m, True),  # 6 min
               a("staff:ann", T0 + 90 * m, True),  # after an 80-minute break: no measure
               a("staff:bo", T0 + 3 * m, True),  # bo's first action: no measure
               a("staff:bo", T0 + 5 * m, False),  # a note is no answer
               a("staff:bo", T0 + 7 * m, True)]  # 2 min (since the note)
    found = metrics.handling_time(reversed(actions))  # any order: sorted per agent by time
    assert found.contacts == 3 and found.average_seconds == pytest.approx(4 * 60)
    assert metrics.handling_time([]) == metrics.HandlingTime(None, 0)
    assert metrics.handling_time(actions, cap=timedelta(hours=2)).contacts == 4


def test_order_sums_add_field_by_field() -> None:
    total = OrderSums(1, 2, 3, 4, 5, 6, 7, 8) + OrderSums(resolved=10, satisfied=1)
    assert total == OrderSums(11, 2, 3, 4, 5, 6, 7, 9)


def test_a_period_reads_times_without_offset_in_the_centres_zone() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    start, end = parse_period("2026-12-01", "2026-12-01T12:30:00Z", zone)
    assert start == datetime(2026, 11, 30, 16, 0, tzinfo=UTC) and end == datetime(2026, 12, 1, 12, 30, tzinfo=UTC)
    for bad_from, bad_to, field in (("soon", "2026-12-01", "from"), ("2026-12-01", "", "to"),
                                    ("2026-12-02", "2026-12-01", "to"), ("2026-12-01", "2026-12-01", "to"),
                                    ("1026-12-01", "2026-12-01", "from"), ("2016-12-01", "2026-12-31", "to"),
                                    ("2026-12-01", "9999-12-31T23:59:59-14:00", "to")):
        with pytest.raises(InvalidInput) as err:
            parse_period(bad_from, bad_to, zone)
        assert err.value.details["field"] == field
