"""The surge bench's generated histories and the detectors replayed over them as they would run live.

A replay: 60 days of nine topics (eight at about 40 messages a day, one at about 20), with a daily and a weekly
rhythm in the centre's time zone and over-dispersion (a negative binomial per hour, size 10, times a gamma day
effect, sd 20 %, each topic its own); each hour's messages arrive at uniform times within it (counted per
quarter hour). In the quiet topic a rise of five times its usual level for 4-8 hours from a random MINUTE after
the first two weeks (until 2026-12-06 it began on the hour, which flattered hourly judging by up to an hour):
messages arrive at four times the usual rate of each hour (Poisson), at least four times the topic's mean
hourly rate, since five times a night's near zero is no surge anyone would see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from scipy import special

from caredesk.analytics.surge import HOUR, WEEK_HOURS, SurgeParams, judge_hour
from caredesk.analytics.surge_scan import (
    QUARTERS_PER_HOUR,
    SPAN_HOURS,
    ScanParams,
    expected_dimension,
    scan_quarter,
)
from caredesk.analytics.surge_status import SurgeStep, next_step

__all__ = ["DAYS", "OFFSET", "START", "TOPICS", "Replay", "make_replay", "oracle_detections", "replay_detections",
           "scan_detections"]

DAYS = 60
TOPICS = 9
BUSY_PER_DAY, QUIET_PER_DAY = 40.0, 20.0
OFFSET = 8  # Asia/Shanghai, the default time zone: the rhythm is local
START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
# Local hour-of-day shape (night low, mornings and afternoons busy) and weekday factors (Mon..Sun).
DAY_SHAPE = np.array([0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.4, 0.8, 1.4, 1.9, 2.1, 2.0, 1.5, 1.6, 1.9, 2.0, 1.8, 1.5,
                      1.2, 1.0, 0.9, 0.7, 0.45, 0.25])
WEEK_SHAPE = np.array([1.15, 1.1, 1.05, 1.05, 1.1, 0.8, 0.75])
HOUR_SIZE, DAY_SHAPE_K = 10.0, 25.0  # NB size per hour; gamma shape of the day effect (sd 20 %)
Q = QUARTERS_PER_HOUR


@dataclass(frozen=True)
class Replay:
    counts: NDArray[np.float64]  # topics x hours
    quarters: NDArray[np.float64]  # topics x quarter hours (the same messages)
    rates: NDArray[np.float64]  # topics x hours: the true expected count of each hour (day effect included)
    surge_start_minute: int  # in the quiet topic (index 0), minutes from START
    surge_minutes: int

    @property
    def surge_start(self) -> int:
        """The hour in which the rise starts."""
        return self.surge_start_minute // 60

    @property
    def surge_hours(self) -> int:
        """The hours the rise touches, from `surge_start`."""
        return -(-(self.surge_start_minute + self.surge_minutes) // 60) - self.surge_start


def _rates(rng: np.random.Generator, per_day: float, day_effect_shape: float) -> NDArray[np.float64]:
    hours = np.arange(DAYS * 24) + OFFSET
    shape = DAY_SHAPE * rng.uniform(0.8, 1.2, 24)  # each topic its own variant of the rhythm
    week = WEEK_SHAPE * rng.uniform(0.9, 1.1, 7)
    rate = shape[hours % 24] * week[(hours // 24) % 7]
    rate *= per_day * DAYS / rate.sum()
    day_effect = rng.gamma(day_effect_shape, 1.0 / day_effect_shape, DAYS + 1)[hours // 24 - (OFFSET // 24)]
    return np.asarray(rate * day_effect, dtype=np.float64)


def make_replay(seed: int, *, rise: str = "level", on_the_hour: bool = False, dispersed: bool = True) -> Replay:
    """`rise`: "level" adds 4x the usual rate of each hour, at least 4x the topic's mean hourly rate (the
    figures); "mean" adds 4x the mean hourly rate at every hour; "strict" 4x each hour's usual rate only.
    `on_the_hour`: the rise starts and ends on the hour (the previous generator's assumption; compared).
    `dispersed=False`: Poisson counts of the rhythm alone, no day effect (the plainest reading of the issue)."""
    rng = np.random.default_rng(seed)
    hours = DAYS * 24
    counts = np.zeros((TOPICS, hours))
    quarters = np.zeros((TOPICS, hours * Q))
    rates = np.zeros((TOPICS, hours))
    for topic in range(TOPICS):
        rate = _rates(rng, QUIET_PER_DAY if topic == 0 else BUSY_PER_DAY, DAY_SHAPE_K if dispersed else 1e9)
        hourly = rng.negative_binomial(HOUR_SIZE, HOUR_SIZE / (HOUR_SIZE + rate)) if dispersed else rng.poisson(rate)
        quarters[topic] = rng.multinomial(hourly, [1.0 / Q] * Q).ravel()  # uniform times within the hour
        rates[topic] = rate
        if topic == 0:
            start = int(rng.integers(14 * 24 * 60, (DAYS - 1) * 24 * 60))
            length = int(rng.integers(4 * 60, 8 * 60 + 1))
            if on_the_hour:
                start, length = start - start % 60, length - length % 60
            minutes = np.arange(start, start + length)
            mean = np.full(length, QUIET_PER_DAY / 24)
            hour_usual = rate[minutes // 60]
            usual = {"level": np.maximum(hour_usual, mean), "mean": mean, "strict": hour_usual}[rise]
            np.add.at(quarters[0], minutes // 15, rng.poisson(4 * usual / 60))
            surge = (start, length)
    counts = quarters.reshape(TOPICS, hours, Q).sum(axis=2)
    return Replay(counts, quarters, rates, *surge)


def _at(index: int) -> datetime:
    return START + index * HOUR


def replay_detections(series: NDArray[np.float64], params: SurgeParams) -> list[int]:
    """The hourly detector (analytics/surge.py judge_hour): the hour indices at which a surge opens, judging
    every hour in time order with the lifecycle."""
    opened: list[int] = []
    active, window_end = False, 0
    keep = params.history_weeks * WEEK_HOURS + params.widest_hours + 1
    recent = np.concatenate([[0.0], np.cumsum(series)])
    for t in range(params.min_history_days * 24 + max(params.windows), len(series)):
        if not active and recent[t + 1] - recent[max(0, t + 1 - params.widest_hours)] < params.min_count:
            continue  # fewer messages than any surge needs in the hours read: judge_hour says no (saves time)
        lo = max(0, t + 1 - keep)
        judgement = judge_hour(series[lo:t + 1], _at(lo), params=params, utc_offset_hours=OFFSET,
                               continuing=active)
        step = next_step(active=active, surging=judgement.surge, quiet_hours=t + 1 - window_end)
        if step is SurgeStep.OPEN:
            opened.append(t)
        if step in (SurgeStep.OPEN, SurgeStep.EXTEND):
            active, window_end = True, t + 1
        elif step is SurgeStep.RESOLVE:
            active = False
    return opened


def scan_detections(hourly: NDArray[np.float64], quarters: NDArray[np.float64], params: ScanParams
                    ) -> list[list[int]]:
    """The quarter-hour scan (analytics/surge_scan.py) over every topic of a replay (topics x hours, topics x
    quarter hours), as the task runs it: each hour the topics' baselines are fitted together (the topics' total
    lends them its shape, their spread is shared), then every quarter hour is judged in time order with the
    lifecycle. Per topic, the quarter indices at which a surge opens."""
    topics = len(hourly)
    opened: list[list[int]] = [[] for _ in range(topics)]
    active, window_end = [False] * topics, [0] * topics  # window_end in quarters
    keep = params.fit.history_weeks * WEEK_HOURS
    for hour in range(params.fit.min_history_days * 24 + SPAN_HOURS, hourly.shape[1]):
        fit_end = hour + 1 - SPAN_HOURS
        lo = max(0, fit_end - keep)
        fits = expected_dimension({str(k): hourly[k, lo:fit_end] for k in range(topics)}, _at(lo), params=params,
                                  utc_offset_hours=OFFSET)
        for k in range(topics):
            expectation = fits[str(k)]
            if expectation is None:
                continue
            for q in range(Q):
                t = hour * Q + q
                judgement = scan_quarter(quarters[k, fit_end * Q:t + 1], expectation, _at(fit_end), params=params,
                                         continuing=active[k])
                step = next_step(active=active[k], surging=judgement.surge, quiet_hours=(t + 1 - window_end[k]) // Q)
                if step is SurgeStep.OPEN:
                    opened[k].append(t)
                if step in (SurgeStep.OPEN, SurgeStep.EXTEND):
                    active[k], window_end[k] = True, t + 1
                elif step is SurgeStep.RESOLVE:
                    active[k] = False
    return opened


def oracle_detections(quarters: NDArray[np.float64], rates: NDArray[np.float64], *, alpha: float,
                      span_quarters: int = 8, min_history_days: int = 7) -> list[int]:
    """A bound no detector can beat by much: the quarter-hour scan told each hour's true expected count (the day
    effect included) and the true spread (NB size 10 per hour), alarms a quiet quarter hour apart merged as the
    lifecycle would (3 quiet hours). Quarter indices at which an alarm opens."""
    mean_q = np.repeat(rates, Q) / Q
    n = len(quarters)
    csum = np.concatenate([[0.0], np.cumsum(quarters)])
    cmean = np.concatenate([[0.0], np.cumsum(mean_q)])
    cmean2 = np.concatenate([[0.0], np.cumsum(mean_q ** 2)])
    least = np.ones(n)
    for w in range(1, span_quarters + 1):
        t = np.arange(w - 1, n)
        s = csum[t + 1] - csum[t + 1 - w]
        m = cmean[t + 1] - cmean[t + 1 - w]
        v = m + Q * (cmean2[t + 1] - cmean2[t + 1 - w]) / HOUR_SIZE  # quarters of an hour share its NB spread
        tail = np.where(s > 0, special.betainc(np.maximum(s, 1e-9), m * m / (v - m), 1.0 - m / v), 1.0)
        least[t] = np.minimum(least[t], tail)
    least[:min_history_days * 24 * Q] = 1.0
    opened: list[int] = []
    last = -10**9
    for i in np.flatnonzero(least <= alpha):
        if i - last > 3 * Q:
            opened.append(int(i))
        last = int(i)
    return opened
