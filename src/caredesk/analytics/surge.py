"""Surge detection, pure: the expected level of one series (one topic, product, channel, ...) for an hour of a
weekday (`expected_hours`, which the quarter-hour scan in surge_scan.py, the detector that runs, builds on), and the
hourly detectors it replaced, kept for comparison on the bench (docs/analytics-surge.md, bench group `surge`): is
the last complete hour the end of a count well above what is usual?

The expected count of an hour is a Poisson model with hour-of-day and weekday main effects fitted on the last few
weeks (closed form: a two-way table's margins), scaled by the last week's level against the model, with past surges
down-weighted as in Farrington's method (hours far above their fit are replaced by the fit, and the model refitted).
Given the dimension's total (`pool`), the series takes its shape from it, with its own deviations shrunk by
empirical Bayes; the day so far sets today's level (gamma-Poisson). Over-dispersion is a negative binomial's 1/k by
moments, floored. The test (`method`) is a count CUSUM (Lucas): the NB log-likelihood ratio of a rate multiplied by
`cusum_ratio` against the expected one, summed over the last hours and restarted at zero `cusum_hours` back, a surge
at `cusum_threshold`; the compared one ("quantile") puts the sums over the last 1, 2 and 3 hours against the NB's
upper (1 - alpha) quantile."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import special

__all__ = ["HOUR", "WEEK_HOURS", "SurgeJudgement", "SurgeParams", "cusum", "cusum_threshold_count",
           "expected_hours", "hours_known", "judge_hour", "nb_tail", "nb_threshold"]

HOUR = timedelta(hours=1)
WEEK_HOURS = 168
Baseline = Literal["seasonal_glm", "same_hour"]
Method = Literal["cusum", "quantile", "both"]


@dataclass(frozen=True, slots=True)
class SurgeParams:
    history_weeks: int = 4  # the fit reads at most this many weeks before the judged windows
    min_history_days: int = 14  # with less, no judgement: one week is one count per hour of the week, and on
    # the import replays a week's baseline opened most false surges (docs/analytics-surge.md)
    windows: tuple[int, ...] = (1, 2, 3)  # hours summed, ending with the judged hour
    alpha: float = 3e-7  # per window and hour: at most one false surge in 60 days over 8 series (bench)
    min_count: int = 6  # never a surge on fewer messages than this in the window
    continue_alpha: float = 0.01  # an active surge goes on while its latest hour alone is above this quantile
    outlier_z: float = 4.0  # Farrington-style: history hours this far above their fit are down-weighted
    max_inv_size: float = 2.0  # the NB's 1/k is capped (a few weeks of sparse counts estimate it loosely)
    min_inv_size: float = 0.3  # and floored: its estimate (median 0.09 on the bench, true ~0.14) and the fitted
    # mean's own error left the tails too light (false surges at 100x the nominal rate)
    baseline: Baseline = "seasonal_glm"  # "same_hour": mean of the same hour in the previous weeks (compared)
    method: Method = "cusum"  # "quantile": the window sums' NB quantile alone; "both": either of the two
    cusum_ratio: float = 6.0  # the CUSUM's alternative: the expected count multiplied by this
    cusum_threshold: float = 10.0  # h: a surge when the CUSUM reaches it (bench: the false-alarm target)
    cusum_hours: int = 6  # the CUSUM's memory: it restarts at zero this many hours back (pure, stateless)
    pool_shape: bool = True  # the daily and weekly shape from the dimension's total (given), shrunk to the series
    day_level: bool = True  # the day so far sets today's level (a gamma-Poisson shrinkage)
    pool_min_tau2: float = 0.005  # the least variance of a series' log deviation from the pool's shape

    @property
    def widest_hours(self) -> int:
        """The judged hours read before the fit: the widest window, or the CUSUM's memory."""
        return max(max(self.windows), self.cusum_hours if self.method != "quantile" else 0)


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


def _shrunk_to_pool(y: NDArray[np.float64], pool_mu: NDArray[np.float64], hod: NDArray[np.int64],
                    dow: NDArray[np.int64], min_tau2: float) -> NDArray[np.float64]:
    """The series' hour-of-day and weekday factors as the pool's (its dimension's total) times the series' own
    deviations, each shrunk by empirical Bayes: a margin of E expected messages keeps E / (E + 1/tau^2) of its
    log deviation, tau^2 the deviations' variance beyond Poisson (moments). A quiet series estimates 31 factors
    from a few hundred messages; the pool estimates its shape from many more."""
    mu = pool_mu * (float(y.sum()) + 0.5) / (float(pool_mu.sum()) + 0.5)
    for groups, n in ((hod, 24), (dow, 7)):
        obs, exp = np.bincount(groups, y, n), np.bincount(groups, mu, n)
        present = exp > 1e-9
        chi2 = float(np.sum((obs[present] - exp[present]) ** 2 / exp[present]))
        tau2 = max(min_tau2, (chi2 - (int(present.sum()) - 1)) / max(float(exp.sum()), 1e-9))
        mu = mu * ((obs + 1.0 / tau2) / (exp + 1.0 / tau2))[groups]
    return mu


def hours_known(counts: NDArray[np.float64]) -> int:
    """Hours of history in `counts`: from the series' first message on (the hours before it are no history,
    not silence: a centre's data starting mid-window read as zeros inflated the spread fourfold,
    docs/analytics-surge.md); 0 for a series without messages."""
    seen = np.flatnonzero(counts)
    return len(counts) - int(seen[0]) if len(seen) else 0


def expected_hours(counts: NDArray[np.float64], start: datetime, fit_end: int, targets: range, *,
                   params: SurgeParams, utc_offset_hours: int = 0, pool: NDArray[np.float64] | None = None
                   ) -> tuple[NDArray[np.float64], float]:
    """Expected counts at the `targets` indices and the dispersion, from the history counts[lo:fit_end].
    `pool` (the same hours' counts of the series' whole dimension) lends the series its daily and weekly shape."""
    lo = max(0, fit_end - params.history_weeks * WEEK_HOURS)
    known = hours_known(counts[lo:fit_end])
    if known:
        lo = fit_end - known
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
    if pool is not None and params.pool_shape:
        pool_mu = _fit_main_effects(np.asarray(pool[lo:fit_end], dtype=np.float64), h, d)
        mu = _shrunk_to_pool(cleaned, pool_mu, h, d, params.pool_min_tau2)
    else:
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
    if params.day_level:
        level *= _today_factor(cleaned, mu * level, start + lo * HOUR, utc_offset_hours, targets.start - lo)
    return np.maximum(out * level, 0.01), dispersion


def _today_factor(y: NDArray[np.float64], mu: NDArray[np.float64], start: datetime, utc_offset_hours: int,
                  target: int) -> float:
    """Today's level: the centre's day so far (the first target hour's day) against the model, shrunk as a
    gamma-Poisson whose day-to-day variance is the history's. Weather, a campaign or a holiday move every hour
    of a day together, and a few weeks' fit cannot know today's (bench: half the false surges)."""
    local0 = (start + timedelta(hours=utc_offset_hours)).hour
    day = (local0 + np.arange(len(y))) // 24
    whole = np.bincount(day, minlength=int(day[-1]) + 1) == 24
    obs_d, exp_d = np.bincount(day, y)[whole], np.bincount(day, mu)[whole]
    if len(obs_d) < 3:
        return 1.0
    inv_shape = float(np.mean(((obs_d - exp_d) ** 2 - exp_d) / np.maximum(exp_d, 1e-9) ** 2))
    shape = 1.0 / min(max(inv_shape, 0.0025), 1.0)  # a day's factor has sd 5 % to 100 %
    today = day == (local0 + target) // 24
    return (shape + float(y[today].sum())) / (shape + float(mu[today].sum()))


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


def cusum(observed: NDArray[np.float64], expected: NDArray[np.float64], inv_size: float, ratio: float
          ) -> tuple[float, int]:
    """Lucas' count CUSUM of the hours given (oldest first), restarted at zero at the first: the largest sum,
    over the windows ending with the last hour, of the negative-binomial log-likelihood ratio of a rate
    multiplied by `ratio` against the expected one (size 1/inv_size shared by both; Poisson when it is 0).
    Returns it and the window's hours. Under the usual rate the ratio drifts down, so quiet hours keep it at 0;
    a sustained rise adds evidence hour by hour, even at one or two messages an hour."""
    mu1 = ratio * expected
    if inv_size > 1e-6:
        size = 1.0 / inv_size
        llr = observed * np.log(ratio) + (observed + size) * np.log((size + expected) / (size + mu1))
    else:
        llr = observed * np.log(ratio) - (mu1 - expected)
    suffix = np.cumsum(llr[::-1])
    best = int(np.argmax(suffix))
    return max(0.0, float(suffix[best])), best + 1


def cusum_threshold_count(expected: NDArray[np.float64], inv_size: float, ratio: float, h: float) -> int:
    """The least window count reaching h, the count spread over the hours like the expected one (the report's
    threshold: the CUSUM's weights differ a little from hour to hour under the negative binomial)."""
    total = float(expected.sum())
    if inv_size > 1e-6:
        size = 1.0 / inv_size
        log_odds = np.log((size + expected) / (size + ratio * expected))
        slope = float(np.log(ratio) + np.sum(log_odds * expected) / total)
        intercept = float(size * np.sum(log_odds))
    else:
        slope, intercept = float(np.log(ratio)), -(ratio - 1.0) * total
    return int(np.ceil((h - intercept) / slope)) if slope > 0 else 2**31 - 1


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
    before the widest window (the CUSUM's memory included). An active surge (`continuing`) goes on while the
    judged hour alone is above the `continue_alpha` quantile."""
    p = params or SurgeParams()
    y = np.asarray(counts, dtype=np.float64)
    n = len(y)
    fit_end = n - p.widest_hours
    judged_start = start + (n - 1) * HOUR
    if hours_known(y[:max(fit_end, 0)]) < p.min_history_days * 24:
        return SurgeJudgement(False, int(y[-1]) if n else 0, 0.0, 0, judged_start, 1, 1.0,
                              reason="history_too_short")
    expected, dispersion = expected_hours(y, start, fit_end, range(fit_end, n), params=p,
                                          utc_offset_hours=utc_offset_hours)
    inv_size = min(max(dispersion, p.min_inv_size), p.max_inv_size)
    hour_expected = round(float(expected[-1]), 3)

    def window(w: int, threshold: int, surge: bool) -> SurgeJudgement:
        exp_w = expected[len(expected) - w:]
        spread = 1.0 + float(np.sum(exp_w ** 2)) * inv_size / float(exp_w.sum())
        return SurgeJudgement(surge, int(y[n - w:].sum()), round(float(exp_w.sum()), 3), threshold,
                              start + (n - w) * HOUR, w, round(spread, 3), hour_expected)

    if continuing:
        threshold = max(nb_threshold(float(expected[-1]), 1.0 + float(expected[-1]) * inv_size,
                                     p.continue_alpha), 1)
        return window(1, threshold, int(y[-1]) >= threshold)
    if p.method != "quantile":
        stat, w = cusum(y[n - p.cusum_hours:], expected[len(expected) - p.cusum_hours:], inv_size,
                        p.cusum_ratio)
        threshold = max(cusum_threshold_count(expected[len(expected) - w:], inv_size, p.cusum_ratio,
                                              p.cusum_threshold), p.min_count)
        cusum_judgement = window(w, threshold, stat >= p.cusum_threshold and int(y[n - w:].sum()) >= p.min_count)
        if cusum_judgement.surge or p.method == "cusum":
            return cusum_judgement
    best: tuple[float, SurgeJudgement] | None = None
    quietest: SurgeJudgement | None = None
    for w in sorted(p.windows):
        exp_w = float(expected[len(expected) - w:].sum())
        spread = 1.0 + float(np.sum(expected[len(expected) - w:] ** 2)) * inv_size / exp_w
        judgement = window(w, max(nb_threshold(exp_w, spread, p.alpha), p.min_count), False)
        if judgement.observed >= judgement.threshold:
            judgement = replace(judgement, surge=True)
            tail = nb_tail(judgement.observed, exp_w, spread)
            if best is None or tail < best[0]:  # of the windows that surge, the least likely says since when
                best = (tail, judgement)
        quietest = judgement
    assert quietest is not None
    return best[1] if best else quietest
