"""Surge detection, pure: is the last complete hour of one series (one topic, product, channel, ...) the end of a
count well above what is usual for that hour of that weekday? Chosen by measurement (docs/analytics-surge.md,
bench group `surge`).

The expected count of an hour is a quasi-Poisson model with hour-of-day and weekday main effects fitted on the
last few weeks (closed form: a two-way table's margins), scaled by the last week's level against the model, with
past surges down-weighted as in Farrington's method (hours far above their fit are replaced by the fit, and the
model refitted). Over-dispersion is the Pearson statistic of that fit. The judged windows are the sums over the
last 1, 2 and 3 hours, so a rise at low counts (a topic with 20 messages a day) shows within two hours: a window
surges when its sum reaches the upper (1 - alpha) quantile of a negative binomial with the window's expected sum
and the series' dispersion, and at least `min_count` messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import special

__all__ = ["HOUR", "WEEK_HOURS", "SurgeJudgement", "SurgeParams", "expected_hours", "judge_hour", "nb_tail",
           "nb_threshold"]

HOUR = timedelta(hours=1)
WEEK_HOURS = 168
Baseline = Literal["seasonal_glm", "same_hour"]


@dataclass(frozen=True, slots=True)
class SurgeParams:
    history_weeks: int = 4  # the fit reads at most this many weeks before the judged windows
    min_history_days: int = 7  # with less, no judgement (too little to know what is usual)
    windows: tuple[int, ...] = (1, 2, 3)  # hours summed, ending with the judged hour
    alpha: float = 3e-7  # per window and hour: at most one false surge in 60 days over 8 series (bench)
    min_count: int = 6  # never a surge on fewer messages than this in the window
    continue_alpha: float = 0.01  # an active surge goes on while its latest hour alone is above this quantile
    outlier_z: float = 4.0  # Farrington-style: history hours this far above their fit are down-weighted
    max_inv_size: float = 2.0  # the NB's 1/k is capped (a few weeks of sparse counts estimate it loosely)
    baseline: Baseline = "seasonal_glm"  # "same_hour": mean of the same hour in the previous weeks (compared)


@dataclass(frozen=True, slots=True)
class SurgeJudgement:
    surge: bool
    observed: int  # messages in the window that decided (the widest judged window when none surged)
    expected: float
    threshold: int  # the least count that would have been a surge in that window
    window_start: datetime
    window_hours: int
    dispersion: float  # variance / mean of the window's sum under the model
    hour_expected: float = 0.0  # the judged hour's own expected count
    reason: str = ""  # why there was no judgement ("history_too_short"), else empty


def _fit_main_effects(y: NDArray[np.float64], hod: NDArray[np.int64], dow: NDArray[np.int64]
                      ) -> NDArray[np.float64]:
    """Poisson maximum likelihood of hour-of-day x weekday main effects, fitted values at every history hour:
    rows x columns / total over the cells present, iterated (proportional fitting) since weeks may be partial."""
    mu = np.full(y.shape, max(float(y.mean()), 1e-9))
    prior = 0.5  # a half message per hour of day and weekday keeps a never-seen hour from expecting zero
    for _ in range(4):
        obs_h = np.bincount(hod, y, 24) + prior
        fit_h = np.bincount(hod, mu, 24) + prior
        mu = mu * (obs_h / fit_h)[hod]
        obs_d = np.bincount(dow, y, 7) + prior
        fit_d = np.bincount(dow, mu, 7) + prior
        mu = mu * (obs_d / fit_d)[dow]
    return mu


def _phase(start: datetime, n: int, utc_offset_hours: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Local hour of day and weekday of each of n hours from `start` (UTC), in a zone with a fixed offset."""
    local0 = start + timedelta(hours=utc_offset_hours)
    first = local0.weekday() * 24 + local0.hour
    how = (first + np.arange(n)) % WEEK_HOURS
    return how % 24, how // 24


def expected_hours(counts: NDArray[np.float64], start: datetime, fit_end: int, targets: range, *,
                   params: SurgeParams, utc_offset_hours: int = 0) -> tuple[NDArray[np.float64], float]:
    """Expected counts at the `targets` indices and the dispersion, from the history counts[lo:fit_end]."""
    lo = max(0, fit_end - params.history_weeks * WEEK_HOURS)
    n_all = max(fit_end, targets.stop)
    hod, dow = _phase(start, n_all, utc_offset_hours)
    y = counts[lo:fit_end].astype(np.float64)
    h, d = hod[lo:fit_end], dow[lo:fit_end]
    mu = _fit_main_effects(y, h, d)
    # Past surges: hours far above their fit under the series' own spread are replaced by the fit, and the
    # model refitted. A plain Poisson z would clip the ordinary upper tail and hide the over-dispersion.
    inv_size = min(_dispersion(y, mu, 31), params.max_inv_size)
    z = (y - mu) / np.sqrt(np.maximum(mu + mu * mu * inv_size, 0.2))
    cleaned = np.where(z > params.outlier_z, mu, y)
    if params.baseline == "same_hour":
        return _same_hour(cleaned, lo, fit_end, targets, params), _dispersion(cleaned, mu, 31)
    mu = _fit_main_effects(cleaned, h, d)
    dispersion = _dispersion(cleaned, mu, 31)
    # Level: the last week's count against the model's (shrunk by a pseudo-count of one day's messages).
    recent = slice(max(0, len(y) - WEEK_HOURS), len(y))
    day = float(mu[recent].sum()) / 7.0
    level = (float(cleaned[recent].sum()) + day) / (float(mu[recent].sum()) + day)
    # The fitted value at a target is that of the same hour of day and weekday.
    cell = (d * 24 + h)
    cell_mu = np.zeros(WEEK_HOURS)
    cell_mu[cell] = mu  # every occurrence of a cell has the same fitted value in a main-effects model
    fitted_ok = np.zeros(WEEK_HOURS, dtype=bool)
    fitted_ok[cell] = True
    out = np.empty(len(targets))
    for i, t in enumerate(targets):
        c = int(dow[t] * 24 + hod[t])
        if fitted_ok[c]:
            out[i] = cell_mu[c]
        else:  # an hour of the week not yet in the history: the product of its margins
            hour_share = float(mu[h == hod[t]].mean()) if np.any(h == hod[t]) else float(mu.mean())
            out[i] = hour_share
    return np.maximum(out * level, 0.01), dispersion


def _same_hour(y: NDArray[np.float64], lo: int, fit_end: int, targets: range, params: SurgeParams
               ) -> NDArray[np.float64]:
    """The compared baseline: the mean of the same hour of the week over the previous weeks (+-1 hour)."""
    out = np.empty(len(targets))
    for i, t in enumerate(targets):
        vals = [y[j - lo] for k in range(1, params.history_weeks + 1) for off in (-1, 0, 1)
                if lo <= (j := t - k * WEEK_HOURS + off) < fit_end]
        out[i] = float(np.mean(vals)) if vals else float(y.mean())
    return np.maximum(out, 0.01)


def _dispersion(y: NDArray[np.float64], mu: NDArray[np.float64], params_count: int) -> float:
    """1/k of a negative binomial (variance mu + mu^2/k) by moments: counts in busy hours spread more than a
    constant quasi-Poisson factor allows, which is what made the first version cry wolf at peak hours."""
    dof = max(1.0, len(y) - params_count)
    excess = float(np.sum((y - mu) ** 2 - mu)) * len(y) / dof
    return max(0.0, excess / max(float(np.sum(mu ** 2)), 1e-9))


def nb_threshold(expected: float, dispersion: float, alpha: float) -> int:
    """The least count k with P(X >= k) <= alpha, X negative binomial of mean `expected` and variance
    dispersion x mean (Poisson when the dispersion is 1 or less). One vectorised tail over the candidates."""
    ks = np.arange(0.0, 20.0 + 12.0 * expected * dispersion)
    if dispersion <= 1.0001:
        tail = special.pdtrc(ks - 1, expected)  # P(X > k - 1)
    else:
        size, success = expected / (dispersion - 1.0), 1.0 / dispersion
        tail = special.betainc(np.maximum(ks, 1e-9), size, 1.0 - success)  # P(X >= k), a real size allowed
    tail[0] = 1.0
    hits = np.flatnonzero(tail <= alpha)
    return int(ks[hits[0]]) if len(hits) else int(ks[-1]) + 1


def nb_tail(observed: int, expected: float, dispersion: float) -> float:
    """P(X >= observed) under the same negative binomial."""
    if observed <= 0:
        return 1.0
    if dispersion <= 1.0001:
        return float(special.pdtrc(observed - 1, expected))
    return float(special.betainc(observed, expected / (dispersion - 1.0), 1.0 - 1.0 / dispersion))


def judge_hour(counts: NDArray[np.float64] | list[int], start: datetime, *, params: SurgeParams | None = None,
               utc_offset_hours: int = 0, continuing: bool = False) -> SurgeJudgement:
    """Judge the last hour of `counts` (hourly counts from `start`, UTC, oldest first, the last one the hour
    judged; hours without messages are zeros). The windows end with the judged hour; the fit reads the hours
    before the widest window."""
    p = params or SurgeParams()
    y = np.asarray(counts, dtype=np.float64)
    n = len(y)
    widest = max(p.windows)
    fit_end = n - widest
    judged_start = start + (n - 1) * HOUR
    seen = np.flatnonzero(y[:max(fit_end, 0)])  # a series is as old as its first message
    if fit_end - (int(seen[0]) if len(seen) else fit_end) < p.min_history_days * 24:
        return SurgeJudgement(False, int(y[-1]) if n else 0, 0.0, 0, judged_start, 1, 1.0,
                              reason="history_too_short")
    expected, dispersion = expected_hours(y, start, fit_end, range(fit_end, n), params=p,
                                          utc_offset_hours=utc_offset_hours)
    inv_size = min(dispersion, p.max_inv_size)
    best: tuple[float, SurgeJudgement] | None = None
    quietest: SurgeJudgement | None = None
    alpha, min_count = (p.continue_alpha, 1) if continuing else (p.alpha, p.min_count)
    for w in (1,) if continuing else sorted(p.windows):
        observed = int(y[n - w:].sum())
        exp_w = float(expected[len(expected) - w:].sum())
        dispersion = 1.0 + float(np.sum(expected[len(expected) - w:] ** 2)) * inv_size / exp_w
        threshold = max(nb_threshold(exp_w, dispersion, alpha), min_count)
        judgement = SurgeJudgement(observed >= threshold, observed, round(exp_w, 3), threshold,
                                   start + (n - w) * HOUR, w, round(dispersion, 3), round(float(expected[-1]), 3))
        if judgement.surge:  # of the windows that surge, the least likely one says since when
            tail = nb_tail(observed, exp_w, dispersion)
            if best is None or tail < best[0]:
                best = (tail, judgement)
        quietest = judgement
    assert quietest is not None
    return best[1] if best else quietest
