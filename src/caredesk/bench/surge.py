"""Surge detection on generated replays (issue 15's target): 60 days of hourly counts for nine topics (eight at
about 40 messages a day, one at about 20), with a daily and a weekly rhythm in the centre's time zone and
over-dispersion (a negative binomial per hour times a gamma day effect); in the quiet topic a rise of five times
its usual level for 4-8 hours from a random hour after the first two weeks: four times the usual count of each
hour is added (Poisson), at least four times the topic's mean hourly count, since five times a night's near
zero is no surge anyone would see. The detector runs hour by hour as it would live, with the surge lifecycle
(open, extend, resolved after quiet hours); each seed is a new replay.

Figures: `surge_detection_delay_hours_median` / `_max` (hours from the rise's start to the end of the first
hour judged a surge, over the seeds where it was detected), `surge_detected_share`, `surge_detected_within_2h_share`
(of all seeds), `surge_false_alarms_60d` (surges opened on the eight other topics in one 60-day replay, the mean
over seeds; `_max`: the worst seed) and `surge_false_alarm_rate_per_series_day`, for the chosen detector (the
count CUSUM). `surge_quantile_*` is the compared previous detector (the NB quantile of 1-3 hour sums, alpha 3e-7,
no dispersion floor), `surge_same_hour_*` (full run only) the mean of the same hour in previous weeks as the
baseline; `surge_mean_rise_*` (four times the mean hourly count added at every hour) and `surge_strict_rise_*`
(four times each hour's usual count only, small at night) are the two plain readings of "fivefold" (detection
only: the other topics are those of the headline replay)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from caredesk.analytics.surge import HOUR, WEEK_HOURS, SurgeParams, judge_hour
from caredesk.analytics.surge_status import SurgeStep, next_step
from caredesk.bench.stats import Figures, Notes, log

__all__ = ["Replay", "make_replay", "replay_detections", "run"]

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


@dataclass(frozen=True)
class Replay:
    counts: NDArray[np.float64]  # topics x hours
    surge_start: int  # hour index in the quiet topic (index 0)
    surge_hours: int


def _rates(rng: np.random.Generator, per_day: float) -> NDArray[np.float64]:
    hours = np.arange(DAYS * 24) + OFFSET
    shape = DAY_SHAPE * rng.uniform(0.8, 1.2, 24)  # each topic its own variant of the rhythm
    week = WEEK_SHAPE * rng.uniform(0.9, 1.1, 7)
    rate = shape[hours % 24] * week[(hours // 24) % 7]
    rate *= per_day * DAYS / rate.sum()
    day_effect = rng.gamma(DAY_SHAPE_K, 1.0 / DAY_SHAPE_K, DAYS + 1)[hours // 24 - (OFFSET // 24)]
    return np.asarray(rate * day_effect, dtype=np.float64)


def make_replay(seed: int, *, rise: str = "level") -> Replay:
    """`rise`: "level" adds 4x the usual count of each hour, at least 4x the topic's mean hourly count (the
    figures); "mean" adds 4x the mean hourly count at every hour; "strict" 4x each hour's usual count only."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((TOPICS, DAYS * 24))
    for topic in range(TOPICS):
        rate = _rates(rng, QUIET_PER_DAY if topic == 0 else BUSY_PER_DAY)
        counts[topic] = rng.negative_binomial(HOUR_SIZE, HOUR_SIZE / (HOUR_SIZE + rate))
        if topic == 0:
            start = int(rng.integers(14 * 24, (DAYS - 1) * 24))
            hours = int(rng.integers(4, 9))
            mean = np.full(hours, QUIET_PER_DAY / 24)
            hour_usual = rate[start:start + hours]
            usual = {"level": np.maximum(hour_usual, mean), "mean": mean, "strict": hour_usual}[rise]
            counts[0, start:start + hours] += rng.poisson(4 * usual)
            surge = (start, hours)
    return Replay(counts, *surge)


def replay_detections(series: NDArray[np.float64], params: SurgeParams) -> list[int]:
    """The hour indices at which a surge opens, judging every hour in time order with the lifecycle."""
    opened: list[int] = []
    active, window_end = False, 0
    keep = params.history_weeks * WEEK_HOURS + params.widest_hours + 1
    for t in range(params.min_history_days * 24 + max(params.windows), len(series)):
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


def _at(index: int) -> datetime:
    return START + index * HOUR


def _measure(seeds: range, params: SurgeParams, *, rise: str = "level", false_alarms_too: bool = True
             ) -> dict[str, float]:
    delays: list[int] = []
    false_alarms: list[int] = []
    for seed in seeds:
        replay = make_replay(seed, rise=rise)
        hits = replay_detections(replay.counts[0], params)
        s, d = replay.surge_start, replay.surge_hours
        during = [t for t in hits if s <= t < s + d]
        if during:
            delays.append(during[0] + 1 - s)
        if false_alarms_too:
            false_alarms.append(sum(len(replay_detections(replay.counts[k], params)) for k in range(1, TOPICS)))
    judged_days = DAYS - params.min_history_days
    detection = {
        "detection_delay_hours_median": float(statistics.median(delays)) if delays else -1.0,
        "detection_delay_hours_max": float(max(delays)) if delays else -1.0,
        "detected_share": round(len(delays) / len(seeds), 3),
        "detected_within_2h_share": round(sum(d <= 2 for d in delays) / len(seeds), 3),
    }
    if not false_alarms_too:
        return detection
    return detection | {
        "false_alarms_60d": round(statistics.mean(false_alarms), 3),
        "false_alarms_60d_max": float(max(false_alarms)),
        "false_alarm_rate_per_series_day": round(statistics.mean(false_alarms) / ((TOPICS - 1) * judged_days), 5),
    }


def run(quick: bool) -> tuple[Figures, Notes]:
    seeds = range(4 if quick else 20)
    params = SurgeParams()
    previous = SurgeParams(method="quantile", min_inv_size=0.0)
    variants = [("surge", params, "level", True), ("surge_quantile", previous, "level", True),
                ("surge_mean_rise", params, "mean", False), ("surge_strict_rise", params, "strict", False)]
    if not quick:
        variants.append(("surge_same_hour", replace(previous, baseline="same_hour"), "level", True))
    figures: Figures = {}
    t0 = time.perf_counter()
    for prefix, p, rise, false_alarms_too in variants:
        result = _measure(seeds, p, rise=rise, false_alarms_too=false_alarms_too)
        log(f"{prefix}: {result}")
        figures.update({f"{prefix}_{k}": v for k, v in result.items()})
    figures["surge_replay_seconds"] = round(time.perf_counter() - t0, 1)
    notes: Notes = {"surge": (
        f"{len(seeds)} seeds of 60-day replays, 9 topics (8 at ~40/day, 1 at ~20/day), NB hourly counts x gamma "
        f"day effect; a rise of 4x the hour's usual count (at least 4x the topic's mean hourly count) added for "
        f"4-8 h at a random hour after day 14; detector {params}; judging starts after "
        f"{params.min_history_days} days of history; false alarms "
        f"are surges opened on the 8 other topics (mean over seeds); delay = end of the first hour judged a "
        f"surge - start of the rise, over detected seeds")}
    return figures, notes
