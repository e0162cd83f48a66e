"""The measurement behind forecast.py's choice: generated hourly series with daily and weekly seasonality
(Poisson counts around a level, a daytime peak, quieter weekends), eight weeks to learn from and the next two
weeks held out; each method's daily MAPE, hourly WAPE and interval coverage. `python -m
caredesk.analytics.forecast_eval` prints them (docs/analytics-ops.md has the figures)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from caredesk.analytics.forecast import WEEK, Method, forecast_paths

__all__ = ["evaluate", "generated_series"]


def generated_series(level: float, weeks: int, seed: int) -> np.ndarray:
    """Hourly Poisson counts: `level` a day-hour on average, peaking at 10:00-11:00, night near zero, weekends
    at 60%, a slight drift over the weeks."""
    rng = np.random.default_rng(seed)
    hours = np.arange(weeks * WEEK)
    daily = np.clip(1 + 0.9 * np.sin(2 * np.pi * ((hours % 24) - 4.5) / 24), 0.08, None)
    weekly = np.where((hours // 24) % 7 >= 5, 0.6, 1.0)
    drift = 1 + 0.05 * hours / len(hours)
    return rng.poisson(level * daily * weekly * drift).astype(float)


def evaluate(levels: tuple[float, ...] = (0.8, 1.5, 3.0, 6.0), seeds: int = 3, interval: float = 0.8
             ) -> dict[str, Any]:
    low_q, high_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    out: dict[str, Any] = {"series": len(levels) * seeds, "history_weeks": 8, "holdout_days": 14,
                           "interval": interval}
    methods: tuple[Method, ...] = ("holt_winters", "seasonal_naive")
    for method in methods:
        mape, wape_num, wape_den, cover_h, cover_d, n_h, n_d = [], 0.0, 0.0, 0, 0, 0, 0
        for level in levels:
            for seed in range(seeds):
                y = generated_series(level, 10, seed + int(level * 100))
                train, test = y[:8 * WEEK], y[8 * WEEK:]
                _, paths = forecast_paths(train, len(test), method=method, seed=seed)
                mean = paths.mean(axis=0)
                lo, hi = np.quantile(paths, low_q, axis=0), np.quantile(paths, high_q, axis=0)
                wape_num += float(np.abs(mean - test).sum())
                wape_den += float(test.sum())
                cover_h += int(((test >= lo) & (test <= hi)).sum())
                n_h += len(test)
                day_paths = paths.reshape(paths.shape[0], -1, 24).sum(axis=2)
                day_test = test.reshape(-1, 24).sum(axis=1)
                day_mean = day_paths.mean(axis=0)
                mape.extend(np.abs(day_mean - day_test) / np.maximum(day_test, 1))
                d_lo, d_hi = np.quantile(day_paths, low_q, axis=0), np.quantile(day_paths, high_q, axis=0)
                cover_d += int(((day_test >= d_lo) & (day_test <= d_hi)).sum())
                n_d += len(day_test)
        out[method] = {"daily_mape": round(float(np.mean(mape)), 4), "hourly_wape": round(wape_num / wape_den, 4),
                       "hourly_coverage": round(cover_h / n_h, 4), "daily_coverage": round(cover_d / n_d, 4)}
    return out


if __name__ == "__main__":
    print(json.dumps(evaluate(), indent=2))
