"""Surge detection every quarter hour, pure: are the last 15 minutes to 4 hours of one series well above what is
usual? Judging hourly at hh:05 spends up to an hour of a 2-hour budget waiting for the hour to end, and a rise
that starts at 10:40 has only its first 20 minutes in the 10:00 hour (docs/analytics-surge.md, bench `surge`).

The expected count of a quarter hour is a quarter of its hour's (analytics/surge.py expected_hours: the hour x
weekday model fitted on the hours before the judged span, its shape lent by the dimension's total, scaled by the
last week's and today's level, past surges down-weighted). The test is a scan: the sums over the last 1, 2, ...
`span_quarters` quarter hours, each against a negative binomial with the window's expected sum (1/k from the
dimension's series, `share_spread`, shared within an hour: the quarters of one hour share its over-dispersion);
the least likely window decides, a surge when its upper tail is at most `alpha`
(the multiple windows and quarter hours are paid for in `alpha`, calibrated on the bench's false-alarm budget).
Windows of up to 2 hours see a sharp rise within the 2-hour target; the longer ones add up a rise too low for
2 hours (a quiet topic's fivefold rise at an ordinary hour), which the 2-hour windows never saw at all."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache

import numpy as np
from numpy.typing import NDArray
from scipy import special

from caredesk.analytics.surge import HOUR, SurgeParams, expected_hours, hours_known, nb_threshold
from caredesk.analytics.thresholds import SERIES_DIMENSIONS, SurgeDetection

__all__ = ["QUARTER", "QUARTERS_PER_HOUR", "SPAN_HOURS", "ScanJudgement", "ScanParams", "SpanExpectation",
           "expected_dimension", "expected_span", "explained_counts", "judge_quarter", "scan_params", "scan_quarter",
           "share_spread"]

QUARTER = timedelta(minutes=15)
QUARTERS_PER_HOUR = 4
SPAN_HOURS = 5  # the judged span: the four hours before the judged quarter's hour, and that hour so far


@dataclass(frozen=True, slots=True)
class ScanParams:
    fit: SurgeParams = field(default_factory=SurgeParams)  # the baseline's settings (history, outliers, 1/k cap)
    span_quarters: int = 16  # windows of 1..16 quarter hours (15 min to 4 h) ending with the judged quarter
    alpha: float = 1.5e-6  # per window and quarter (bench: at most one false surge per 60 days over 8 series)
    min_count: int = 5  # never a surge on fewer messages than this in the window
    spread_factor: float = 2.5  # the test's NB 1/k: this times the moment estimate (the dimension's median,
    # weighted by volume: share_spread), which runs low (0.115 against a true 0.14 on the bench) and leaves out
    # the fitted mean's own error
    min_inv_size: float = 0.12  # and at least this (a Poisson history estimates 1/k at 0; the fit has its error)
    continue_alpha: float = 0.01  # an active surge goes on while its last hour is above this quantile
    # (and its latest quarter above the usual)
    dimensions: tuple[str, ...] = SERIES_DIMENSIONS  # the dimensions judged, in this order
    busiest_once: int = 1  # a series about to open is judged again with this many of the window's busiest
    # customers counted once each: one customer's burst of messages is a conversation (the escalation alarm
    # watches it), not a rise of the series


def scan_params(detection: SurgeDetection) -> ScanParams:
    """The scan as the thresholds file's `surges.detection` sets it (the defaults of both are the same)."""
    return ScanParams(fit=replace(SurgeParams(), min_history_days=detection.history_days),
                      span_quarters=detection.longest_window_hours * QUARTERS_PER_HOUR, alpha=detection.alpha,
                      min_count=detection.min_count, busiest_once=detection.busiest_customers_once,
                      dimensions=tuple(d for d in SERIES_DIMENSIONS if d in detection.dimensions))


@dataclass(frozen=True, slots=True)
class ScanJudgement:
    surge: bool
    observed: int  # messages in the deciding window (the least likely one)
    expected: float
    threshold: int  # the least count that would have been a surge in that window (0 when none surged)
    window_start: datetime
    window_quarters: int
    tail: float  # P(X >= observed) under the window's negative binomial
    quarter_expected: float = 0.0  # the judged quarter's own expected count
    window_expected: tuple[float, ...] = ()  # the expected count of each quarter of the window
    reason: str = ""  # why there was no judgement ("history_too_short"), else empty


@dataclass(frozen=True, slots=True)
class SpanExpectation:
    """The expected count of each quarter of the judged span and the NB 1/k its test uses."""

    quarters: NDArray[np.float64]  # SPAN_HOURS x 4 values, the span's quarters in time order
    inv_size: float  # the NB 1/k the test uses
    dispersion: float = 0.0  # the series' own moment estimate of 1/k (what share_spread pools)
    weight: float = 1.0  # its say in the pooled estimate: (messages in its history)^2, as in sum(mu^2)


def expected_span(hourly: NDArray[np.float64], start: datetime, *, params: ScanParams,
                  utc_offset_hours: int = 0, pool: NDArray[np.float64] | None = None) -> SpanExpectation | None:
    """Expected quarter counts of the SPAN_HOURS hours after `hourly` (complete hourly counts from `start`, UTC,
    oldest first, ending where the judged span begins). None when the series is too young to judge."""
    y = np.asarray(hourly, dtype=np.float64)
    fit_end = len(y)
    if hours_known(y) < params.fit.min_history_days * 24:
        return None
    hours, dispersion = expected_hours(y, start, fit_end, range(fit_end, fit_end + SPAN_HOURS), params=params.fit,
                                       utc_offset_hours=utc_offset_hours, pool=pool)
    return SpanExpectation(np.repeat(hours / QUARTERS_PER_HOUR, QUARTERS_PER_HOUR),
                           _test_inv_size(dispersion, params), dispersion, float(y.sum()) ** 2)


def _test_inv_size(estimate: float, params: ScanParams) -> float:
    return min(max(params.spread_factor * estimate, params.min_inv_size), params.fit.max_inv_size)


def expected_dimension(hourly: Mapping[str, NDArray[np.float64] | None], start: datetime, *, params: ScanParams,
                       utc_offset_hours: int = 0) -> dict[str, SpanExpectation | None]:
    """The baselines of one dimension's series (each value's complete hourly counts from `start`, aligned; None for
    a value with no history) for the span after them: the dimension's total lends each its shape, and all are
    tested with one spread (share_spread). How the task and the bench fit a dimension."""
    present = [series for series in hourly.values() if series is not None]
    pool = np.sum(present, axis=0) if present else None
    fits = {value: None if series is None else expected_span(series, start, params=params,
                                                             utc_offset_hours=utc_offset_hours, pool=pool)
            for value, series in hourly.items()}
    return share_spread(fits, params)


def share_spread(expectations: Mapping[str, SpanExpectation | None], params: ScanParams
                 ) -> dict[str, SpanExpectation | None]:
    """Every series of one dimension tested with one NB 1/k, from the median of their estimates weighted by
    volume: one series' few weeks estimate it loosely (0.02-0.19 on the bench, true 0.14), and a low one cries
    wolf; a quiet series' estimate is mostly 0 (a thinned share of a busy one has the same 1/k, unseen)."""
    fitted = [e for e in expectations.values() if e is not None]
    if not fitted:
        return dict(expectations)
    order = sorted(fitted, key=lambda e: e.dispersion)
    cumulative = np.cumsum([e.weight for e in order])
    middle = order[int(np.searchsorted(cumulative, cumulative[-1] / 2))]
    inv_size = _test_inv_size(middle.dispersion, params)
    return {v: None if e is None else replace(e, inv_size=inv_size) for v, e in expectations.items()}


def _nb_tails(observed: NDArray[np.float64], mean: NDArray[np.float64], variance: NDArray[np.float64]
              ) -> NDArray[np.float64]:
    """P(X >= observed), X negative binomial of the given means and variances (Poisson where they agree)."""
    over = variance > mean * 1.0001
    size = np.where(over, mean * mean / np.maximum(variance - mean, 1e-12), 1.0)
    nb = special.betainc(np.maximum(observed, 1e-9), size, np.where(over, 1.0 - mean / variance, 0.5))
    poisson = special.pdtrc(observed - 1, mean)
    return np.asarray(np.where(observed <= 0, 1.0, np.where(over, nb, poisson)), dtype=np.float64)


@cache
def _taken(last: int, widths: tuple[int, ...]) -> NDArray[np.bool_]:
    """widths x span quarters: which quarters each window ending at `last` takes."""
    q = np.arange(SPAN_HOURS * QUARTERS_PER_HOUR)
    w = np.array(widths)
    return (q[None, :] <= last) & (q[None, :] > last - w[:, None])


def _window_moments(expected: NDArray[np.float64], inv_size: float, last: int, widths: tuple[int, ...]
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mean and variance of the sums of the `widths` quarters ending at index `last`: quarters of one hour share
    its NB over-dispersion (variance mu + mu^2/k per hour, thinned to the quarters taken)."""
    parts = (_taken(last, widths) * expected[None, :]).reshape(len(widths), SPAN_HOURS, -1).sum(axis=2)
    means = parts.sum(axis=1)
    return means, means + inv_size * np.sum(parts ** 2, axis=1)


def scan_quarter(span: NDArray[np.float64] | list[int], expectation: SpanExpectation, span_start: datetime, *,
                 params: ScanParams, continuing: bool = False) -> ScanJudgement:
    """Judge the last quarter of `span` (the quarter counts from `span_start`, an hour boundary: SPAN_HOURS - 1
    whole hours and the judged hour so far, 17 to 20 quarters). An active surge (`continuing`) goes on while the
    last four quarters are above the `continue_alpha` quantile."""
    y = np.asarray(span, dtype=np.float64)
    last = len(y) - 1
    if not (SPAN_HOURS - 1) * QUARTERS_PER_HOUR <= last < SPAN_HOURS * QUARTERS_PER_HOUR:
        raise ValueError(f"a span holds {(SPAN_HOURS - 1) * QUARTERS_PER_HOUR + 1} to {SPAN_HOURS * QUARTERS_PER_HOUR}"
                         f" quarter hours, not {len(y)}")
    exp = expectation.quarters
    sums = np.cumsum(y[::-1])  # sums[w - 1]: the last w quarters

    def judgement(w: int, threshold: int, tail: float, surge: bool) -> ScanJudgement:
        window = exp[last + 1 - w:last + 1]
        return ScanJudgement(surge, int(sums[w - 1]), round(float(window.sum()), 3), threshold,
                             span_start + (last + 1 - w) * QUARTER, w, tail, round(float(exp[last]), 3),
                             tuple(round(float(x), 4) for x in window))

    if continuing:  # the last hour still high, and its latest quarter above the usual (so it stops at the end)
        w = QUARTERS_PER_HOUR
        mean, var = _window_moments(exp, expectation.inv_size, last, (w,))
        threshold = max(nb_threshold(float(mean[0]), float(var[0] / mean[0]), params.continue_alpha), 1)
        tail = float(_nb_tails(sums[w - 1:w], mean, var)[0])
        return judgement(w, threshold, tail, int(sums[w - 1]) >= threshold and y[last] > exp[last])
    widths = np.arange(1, params.span_quarters + 1)
    means, variances = _window_moments(exp, expectation.inv_size, last, tuple(range(1, params.span_quarters + 1)))
    tails = _nb_tails(sums[widths - 1], means, variances)
    tails = np.where(sums[widths - 1] >= params.min_count, tails, 1.0)
    best = int(np.argmin(tails))
    w = int(widths[best])
    surge = bool(tails[best] <= params.alpha)
    # the threshold only matters for a surge's report (and costs a tail per candidate count)
    threshold = max(nb_threshold(float(means[best]), float(variances[best] / means[best]), params.alpha),
                    params.min_count) if surge else 0
    return judgement(w, threshold, float(tails[best]), surge)


def explained_counts(other: NDArray[np.float64], other_expected: NDArray[np.float64],
                     shared: NDArray[np.float64]) -> NDArray[np.float64]:
    """Per quarter, the messages of a series that another series' surge accounts for: the other's excess over
    its expected count, in the share of its messages that are also in this series (`shared`). A topic's rise
    lifts its channel and content type by that much; what is left is the aggregate's own."""
    excess = np.maximum(np.asarray(other, dtype=np.float64) - other_expected, 0.0)
    return np.asarray(excess * np.asarray(shared, dtype=np.float64) / np.maximum(other, 1.0), dtype=np.float64)


def judge_quarter(hourly: NDArray[np.float64] | list[int], start: datetime, span: NDArray[np.float64] | list[int],
                  *, params: ScanParams | None = None, utc_offset_hours: int = 0, continuing: bool = False
                  ) -> ScanJudgement:
    """Judge the last quarter hour of `span`: `hourly` holds the complete hours from `start` (UTC) before the
    span; `span` the quarter counts from the end of `hourly` to the judged quarter (17 to 20 of them)."""
    p = params or ScanParams()
    span_start = start + len(hourly) * HOUR
    expectation = expected_span(np.asarray(hourly, dtype=np.float64), start, params=p,
                                utc_offset_hours=utc_offset_hours)
    if expectation is None:
        last = len(span) - 1
        return ScanJudgement(False, int(span[last]) if len(span) else 0, 0.0, 0, span_start + last * QUARTER, 1,
                             1.0, reason="history_too_short")
    return scan_quarter(span, expectation, span_start, params=p, continuing=continuing)
