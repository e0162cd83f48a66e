"""The surge detectors (hourly CUSUM, quarter-hour scan), the lifecycle rule and the report's phrases, on generated
and hand-made series (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from scipy import stats

from caredesk.analytics.surge import (
    HOUR,
    WEEK_HOURS,
    SurgeParams,
    cusum,
    cusum_threshold_count,
    expected_hours,
    judge_hour,
    nb_threshold,
)
from caredesk.analytics.surge_actions import quarter_of
from caredesk.analytics.surge_report import distinguishing_phrases
from caredesk.analytics.surge_scan import (
    QUARTER,
    SPAN_HOURS,
    ScanParams,
    SpanExpectation,
    explained_counts,
    judge_quarter,
    scan_params,
    scan_quarter,
    share_spread,
)
from caredesk.analytics.surge_status import QUIET_HOURS_TO_RESOLVE, SurgeStatus, SurgeStep, check_surge_move, next_step
from caredesk.analytics.thresholds import SurgeDetection, load_thresholds
from caredesk.bench.surge_replays import OFFSET, TOPICS, make_replay, oracle_detections, scan_detections
from caredesk.errors import Conflict

START = datetime(2026, 1, 5, tzinfo=UTC)
SHAPE = np.array([0.1] * 7 + [1.0] * 12 + [0.4] * 5)  # quiet nights, busy days (UTC hours)


def _seasonal(days: int, per_day: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    hours = np.arange(days * 24)
    weekend = np.where((hours // 24) % 7 >= 5, 0.6, 1.0)
    rate = SHAPE[hours % 24] * weekend
    rate *= per_day * days / rate.sum()
    return rng.poisson(rate).astype(float)


@pytest.mark.parametrize(("expected", "dispersion", "alpha"), [(1.0, 1.0, 1e-5), (3.3, 1.5, 1e-5), (0.2, 2.0, 1e-4),
                                                              (10.0, 1.0, 1e-3), (5.5, 1.3, 1e-6)])
def test_nb_threshold_is_the_negative_binomial_upper_quantile(expected: float, dispersion: float,
                                                              alpha: float) -> None:
    if dispersion == 1.0:
        reference = int(stats.poisson.isf(alpha, expected)) + 1
    else:
        reference = int(stats.nbinom.isf(alpha, expected / (dispersion - 1), 1 / dispersion)) + 1
    assert nb_threshold(expected, dispersion, alpha) == reference


def test_judge_hour_sees_a_rise_at_low_counts_within_two_hours() -> None:
    series = _seasonal(28, 20)
    quiet = judge_hour(series, START)
    assert not quiet.surge and quiet.reason == ""
    noon = 28 * 24 - 12  # a busy hour of the last day
    risen = series[:noon + 1].copy()
    risen[noon - 1:noon + 1] += 8  # +8 an hour on about 1.2, twice
    judgement = judge_hour(risen, START)
    assert judgement.surge
    assert judgement.window_hours <= 2 and judgement.window_start >= START + (noon - 1) * HOUR
    assert judgement.observed >= judgement.threshold > judgement.expected
    assert not judge_hour(risen[:noon], START).surge  # the first hour alone is not yet enough


def test_judge_hour_accumulates_a_sustained_rise_hour_by_hour() -> None:
    """+5 an hour on about 1.2 is no surge in one or two hours, but the CUSUM adds the evidence up."""
    series = _seasonal(28, 20)
    noon = 28 * 24 - 12
    risen = series[:noon + 1].copy()
    risen[noon - 3:noon + 1] += 5
    assert not judge_hour(risen[:noon - 1], START).surge
    judgement = judge_hour(risen, START)
    assert judgement.surge and judgement.window_hours >= 3
    assert judgement.window_start <= START + (noon - 2) * HOUR
    quantile = judge_hour(risen, START, params=SurgeParams(method="quantile", min_inv_size=0.0))
    assert quantile.window_hours <= 3  # the compared test reads at most three hours


def test_cusum_stays_at_zero_on_usual_hours_and_its_threshold_count_reaches_h() -> None:
    expected = np.array([1.0, 2.0, 2.0, 1.5])
    assert cusum(expected.round(), expected, 0.3, 6.0) == (0.0, 1)
    stat, hours = cusum(np.array([0.0, 1.0, 6.0, 7.0]), expected, 0.0, 6.0)
    assert hours == 2 and stat == pytest.approx(13 * np.log(6.0) - 5 * 3.5)  # Poisson: y log R - (R - 1) mu
    flat = np.full(3, 1.5)
    count = cusum_threshold_count(flat, 0.0, 6.0, 10.0)
    spread = lambda total: np.full(3, total / 3)  # noqa: E731
    assert cusum(spread(count), flat, 0.0, 6.0)[0] >= 10.0 > cusum(spread(count - 1), flat, 0.0, 6.0)[0]


def test_judge_hour_needs_a_week_of_the_series_own_history() -> None:
    series = np.zeros(28 * 24)
    series[-5 * 24:] = _seasonal(5, 40)[-5 * 24:]  # a topic seen for five days only
    series[-1] += 30
    judgement = judge_hour(series, START)
    assert not judgement.surge and judgement.reason == "history_too_short"


def test_judge_hour_expects_the_weekday_and_hour_pattern() -> None:
    """A busy Monday noon after a quiet Sunday is no surge: the expected level follows hour and weekday."""
    series = _seasonal(29, 40, seed=3)
    monday_noon = 28 * 24 + 12  # day 28 is a Monday (START is one)
    judgement = judge_hour(series[:monday_noon + 1], START)
    assert judgement.expected > 1.5 * 3 * 0.5 and not judgement.surge


def test_same_hour_baseline_is_the_compared_method() -> None:
    series = _seasonal(28, 40)
    assert not judge_hour(series, START, params=SurgeParams(baseline="same_hour")).surge


def test_lifecycle_opens_extends_and_resolves_after_quiet_hours() -> None:
    assert next_step(active=False, surging=True, quiet_hours=0) is SurgeStep.OPEN
    assert next_step(active=True, surging=True, quiet_hours=2) is SurgeStep.EXTEND
    assert next_step(active=True, surging=False, quiet_hours=QUIET_HOURS_TO_RESOLVE - 1) is SurgeStep.WAIT
    assert next_step(active=True, surging=False, quiet_hours=QUIET_HOURS_TO_RESOLVE) is SurgeStep.RESOLVE
    assert next_step(active=False, surging=False, quiet_hours=0) is SurgeStep.NONE
    assert check_surge_move("open", SurgeStatus.ACKNOWLEDGED) is SurgeStatus.ACKNOWLEDGED
    with pytest.raises(Conflict):
        check_surge_move("resolved", SurgeStatus.ACKNOWLEDGED)


def test_replay_finds_the_injected_surge_and_no_other() -> None:
    """The quarter-hour scan on one bench replay, the topics judged together as the task judges a dimension: the
    rise (from a random minute) is seen within two hours of its start, and the other topics raise nothing."""
    replay = make_replay(1)
    opened = scan_detections(replay.counts, replay.quarters, ScanParams())
    hits = [(t + 1) * 15 for t in opened[0]]
    start, minutes = replay.surge_start_minute, replay.surge_minutes
    assert start % 60 != 0 and replay.counts[0].sum() == replay.quarters[0].sum()
    during = [t for t in hits if start < t < start + minutes + 15]
    assert during and during[0] - start <= 120
    assert len(opened) == TOPICS and sum(len(o) for o in opened[1:]) == 0
    assert OFFSET == 8 and TOPICS == 9


def _log_error(params: SurgeParams, *, pooled: bool) -> float:
    """The sd of log(expected / true rate) of the quiet topic of three bench replays, at 80 judged hours each."""
    errors = []
    for seed in (0, 1, 2):
        replay = make_replay(seed)
        pool = replay.counts.sum(axis=0) if pooled else None
        for fit_end in range(24 * 21 + 5, 24 * 59, 17):
            expected, _ = expected_hours(replay.counts[0], START, fit_end, range(fit_end, fit_end + 1), params=params,
                                         utc_offset_hours=OFFSET, pool=pool)
            errors.append(np.log(expected[0] / replay.rates[0][fit_end]))
    return float(np.std(errors))


def test_the_dimension_lends_a_quiet_series_its_shape() -> None:
    """Twenty messages a day cannot fix 31 hour and weekday factors; the topics' total can (bench: the quiet
    topic's log error 0.50 -> 0.27)."""
    own = _log_error(SurgeParams(), pooled=False)
    pooled = _log_error(SurgeParams(), pooled=True)
    assert pooled < 0.7 * own


def test_a_series_with_its_own_rhythm_keeps_it() -> None:
    """A channel open 9-17 inside a dimension busy around the clock: the shrinkage follows the series' own margins
    when they plainly differ from the pool's, so its nights stay near zero."""
    rng = np.random.default_rng(3)
    hours = np.arange(28 * 24)
    office = np.where((hours % 24 >= 9) & (hours % 24 < 17), 3.0, 0.0)
    series = rng.poisson(office).astype(float)
    pool = series + rng.poisson(np.full(len(hours), 6.0))
    night, noon = 28 * 24 + 3, 28 * 24 + 12
    expected, _ = expected_hours(series, START, 28 * 24, range(night, noon + 1), params=SurgeParams(), pool=pool)
    assert expected[0] < 0.1 and 2.4 < expected[-1] < 3.6


def test_the_day_so_far_sets_todays_level() -> None:
    """Where days swing together (sd 30 % here), a day running at twice the usual by noon expects more of the
    afternoon; an ordinary day moves little. The shrinkage learns the swing from the history."""
    rng = np.random.default_rng(5)
    hours = np.arange(28 * 24)
    rate = SHAPE[hours % 24] * 200 / SHAPE.sum() * rng.gamma(11.0, 1 / 11.0, 28)[hours // 24]
    series = rng.poisson(rate).astype(float)
    series[27 * 24:] = rng.poisson(SHAPE[hours[27 * 24:] % 24] * 200 / SHAPE.sum())
    noon = 27 * 24 + 12
    busy = series.copy()
    busy[27 * 24:noon] *= 2
    off = SurgeParams(day_level=False)
    plain, _ = expected_hours(series, START, noon, range(noon, noon + 1), params=SurgeParams())
    usual, _ = expected_hours(series, START, noon, range(noon, noon + 1), params=off)
    risen, _ = expected_hours(busy, START, noon, range(noon, noon + 1), params=SurgeParams())
    assert abs(plain[0] / usual[0] - 1) < 0.15
    assert risen[0] > 1.5 * usual[0]


def test_hours_before_the_first_message_are_no_history() -> None:
    """A centre whose data begins inside the four weeks read (a history import): the hours before a series' first
    message are not zeros it had. Read as zeros they made the spread four times too wide, and a rise in the
    first weeks after the import's start went unseen for longer."""
    series = _seasonal(14, 20)
    padded = np.concatenate([np.zeros(14 * 24), series])
    alone, spread_alone = expected_hours(series, START + 14 * 24 * HOUR, len(series),
                                         range(len(series), len(series) + 3), params=SurgeParams())
    after, spread_after = expected_hours(padded, START, len(padded), range(len(padded), len(padded) + 3),
                                         params=SurgeParams())
    assert after == pytest.approx(alone) and spread_after == pytest.approx(spread_alone)


def test_a_dimension_shares_one_spread() -> None:
    """The test's 1/k is the factor times the volume-weighted median of the series' estimates, at least the floor
    (a Poisson history estimates 0); series too young to judge stay unjudged."""
    params = ScanParams()
    quarters = np.full(12, 1.0)
    shared = share_spread({"a": SpanExpectation(quarters, 0.0, 0.02), "b": SpanExpectation(quarters, 0.0, 0.12),
                           "c": SpanExpectation(quarters, 0.0, 0.16), "d": None}, params)
    assert shared["d"] is None
    assert [e.inv_size for e in shared.values() if e is not None] == [pytest.approx(params.spread_factor * 0.12)] * 3
    # a product that is a busy topic's share outweighs quiet ones whose few messages estimate 0
    weighted = share_spread({"busy": SpanExpectation(quarters, 0.0, 0.12, 2550.0 ** 2),
                             "q1": SpanExpectation(quarters, 0.0, 0.0, 520.0 ** 2),
                             "q2": SpanExpectation(quarters, 0.0, 0.0, 516.0 ** 2)}, params)["q1"]
    assert weighted is not None and weighted.inv_size == pytest.approx(params.spread_factor * 0.12)
    poisson = share_spread({"a": SpanExpectation(quarters, 0.0, 0.0)}, params)["a"]
    assert poisson is not None and poisson.inv_size == params.min_inv_size
    assert WEEK_HOURS == 168


def test_oracle_sees_the_rise_on_the_true_rates() -> None:
    replay = make_replay(1)
    hits = [(t + 1) * 15 for t in oracle_detections(replay.quarters[0], replay.rates[0], alpha=1e-5)]
    assert any(replay.surge_start_minute < t <= replay.surge_start_minute + 120 for t in hits)


def test_rise_on_the_hour_is_the_previous_generator() -> None:
    replay = make_replay(3, on_the_hour=True)
    assert replay.surge_start_minute % 60 == 0 and replay.surge_minutes % 60 == 0
    assert replay.surge_hours == replay.surge_minutes // 60


FLAT = SpanExpectation(np.full(SPAN_HOURS * 4, 1.0), 0.5)  # one message a quarter hour expected, NB 1/k 0.5 an hour
EARLIER = [1] * ((SPAN_HOURS - 3) * 4)  # the span's hours before the last three, at the usual


def test_scan_quarter_finds_the_least_likely_window_and_its_start() -> None:
    quiet = scan_quarter([*EARLIER, 1, 0, 2, 1, 1, 1, 0, 1, 2, 1, 1, 0], FLAT, START, params=ScanParams())
    assert not quiet.surge and quiet.threshold == 0
    risen = scan_quarter([*EARLIER, 1, 0, 2, 1, 1, 1, 0, 1, 2, 1, 12, 12], FLAT, START, params=ScanParams())
    assert risen.surge and risen.window_quarters == 2 and risen.observed == 24
    assert risen.window_start == START + (len(EARLIER) + 10) * QUARTER and risen.expected == 2.0
    assert risen.observed >= risen.threshold > risen.expected and risen.tail <= ScanParams().alpha
    assert risen.window_expected == (1.0, 1.0) and risen.quarter_expected == 1.0


def test_scan_quarter_window_of_one_hour_is_a_negative_binomial() -> None:
    """Four quarters of one hour share its over-dispersion: mean 4, variance 4 + 0.5 x 4^2."""
    judgement = scan_quarter(EARLIER + [0] * 8 + [5, 5, 5, 5], FLAT, START, params=ScanParams(alpha=1e-3))
    assert judgement.window_quarters == 4 and judgement.observed == 20
    mean, var = 4.0, 4.0 + 0.5 * 16.0
    reference = stats.nbinom.sf(19, mean * mean / (var - mean), mean / var)
    assert judgement.tail == pytest.approx(reference, rel=1e-6)


def test_scan_quarter_spreads_across_hours_less_than_within_one() -> None:
    """The same eight messages in two quarters of two hours are likelier than in two quarters of one hour."""
    across = scan_quarter(EARLIER + [0] * 7 + [4, 4, 0, 0, 0], FLAT, START, params=ScanParams(min_count=1))
    within = scan_quarter(EARLIER + [0] * 8 + [0, 0, 4, 4], FLAT, START, params=ScanParams(min_count=1))
    assert within.window_quarters == 2 and across.window_quarters in (4, 5)
    assert within.tail < across.tail


def test_scan_quarter_continues_while_the_last_hour_is_high_and_stops_at_the_end() -> None:
    params = ScanParams()
    going = scan_quarter(EARLIER + [1] * 8 + [6, 6, 6, 6], FLAT, START, params=params, continuing=True)
    assert going.surge and going.window_quarters == 4
    ended = scan_quarter(EARLIER + [1] * 8 + [6, 6, 6, 0], FLAT, START, params=params, continuing=True)
    assert not ended.surge  # the hour is still high, but its latest quarter is ordinary


def test_scan_quarter_needs_the_span_s_whole_hours_and_the_judged_quarter() -> None:
    with pytest.raises(ValueError, match="17 to 20"):
        scan_quarter([0] * 16, FLAT, START, params=ScanParams())
    with pytest.raises(ValueError, match="not 21"):
        scan_quarter([0] * 21, FLAT, START, params=ScanParams())


def test_judge_quarter_sees_half_an_hour_of_a_rise_at_a_busy_hour() -> None:
    series = _seasonal(28, 20)  # about 1.2 an hour by day
    noon = 28 * 24 - 12
    before = SPAN_HOURS - 1  # whole hours in the span before the judged one
    hourly, span = series[:noon - before], np.zeros(before * 4 + 1)
    assert not judge_quarter(hourly, START, span).surge
    span[-2:] = 6  # +6 a quarter hour, twice: two hours of the usual in half an hour
    judgement = judge_quarter(hourly, START, span)
    assert judgement.surge and judgement.window_quarters <= 2
    assert judgement.window_start == START + noon * HOUR - QUARTER
    young = np.zeros(28 * 24)
    young[-3 * 24:] = 2
    assert judge_quarter(young, START, span).reason == "history_too_short"


def test_quarter_of_floors_to_the_quarter_hour_in_utc() -> None:
    assert quarter_of(datetime(2026, 3, 2, 10, 44, 59, tzinfo=UTC)) == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
    assert quarter_of(datetime(2026, 3, 2, 10, 0, tzinfo=UTC)) == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_distinguishing_phrases_are_those_over_represented_in_the_window() -> None:
    window = ["my card was charged twice", "charged twice for one coffee", "charged twice again", "app is slow"]
    baseline = ["app is slow", "app is slow today", "card arrived", "how to pay my bill"] * 3
    phrases = [p["phrase"] for p in distinguishing_phrases(window, baseline)]
    assert phrases[:2] == ["charged twice", "charged"] or phrases[:2] == ["charged", "charged twice"]
    assert "app" not in phrases and "slow" not in phrases


def test_explained_counts_take_the_other_surges_excess_in_the_share_it_shares() -> None:
    # the other series: 4 messages against 0.5 usual, 2 of them also in this series; no excess; 3 of 3 shared
    part = explained_counts(np.array([4.0, 0.0, 0.2, 3.0]), np.array([0.5, 0.5, 0.5, 0.5]),
                            np.array([2.0, 0.0, 0.0, 3.0]))
    assert part == pytest.approx([3.5 * 2 / 4, 0.0, 0.0, 2.5])


def test_the_thresholds_files_detection_defaults_are_the_scans_and_a_setting_reaches_it() -> None:
    """The shipped file may leave `surges.detection` out: its defaults must be the bench's chosen scan."""
    assert scan_params(SurgeDetection()) == ScanParams()
    tuned = scan_params(SurgeDetection(alpha=1e-5, longest_window_hours=2, min_count=3, history_days=21,
                                       dimensions=["channel", "topic"]))
    assert (tuned.alpha, tuned.span_quarters, tuned.min_count, tuned.fit.min_history_days) == (1e-5, 8, 3, 21)
    assert tuned.dimensions == ("topic", "channel")  # judged most specific first, whatever the file's order
    assert load_thresholds().surges.detection == SurgeDetection()
