"""Erlang C against the published worked example, and the forecast's model choice on generated series."""

from __future__ import annotations

import numpy as np
import pytest

from caredesk.analytics.forecast import PATHS, WEEK, forecast_paths
from caredesk.analytics.forecast_eval import generated_series
from caredesk.analytics.staffing import agents_needed, erlang_c, service_level


def test_erlang_c_matches_the_worked_example() -> None:
    # 100 calls in 30 minutes (200 an hour), 180 s handling: 10 Erlangs; 80% answered within 20 s.
    # Published: 11 agents wait 68.21% and answer 39.0% in time; 14 agents answer 88.8%: 14 are needed.
    assert erlang_c(10, 11) == pytest.approx(0.6821, abs=5e-5)
    assert service_level(200, 180, 11, 20) == pytest.approx(0.390, abs=5e-4)
    assert service_level(200, 180, 13, 20) == pytest.approx(0.7956, abs=5e-4)
    assert service_level(200, 180, 14, 20) == pytest.approx(0.888, abs=5e-4)
    assert agents_needed(200, 180, target=0.8, within_seconds=20) == 14


def test_erlang_c_edges() -> None:
    assert agents_needed(0, 240) == 0
    assert erlang_c(5, 5) == 1.0 and service_level(100, 180, 5, 20) == 0.0  # as many agents as Erlangs: no
    assert agents_needed(1, 240, target=0.8, within_seconds=60) == 1
    more = [agents_needed(n, 240, target=0.8, within_seconds=60) for n in (10, 50, 200, 1000)]
    assert more == sorted(more) and more[-1] > 1000 * 240 / 3600  # more than the bare workload
    with pytest.raises(ValueError):
        agents_needed(10, 240, target=1.0)


def test_forecast_follows_the_daily_and_weekly_shape() -> None:
    y = generated_series(3.0, 4, seed=7)
    method, paths = forecast_paths(y, 2 * 24, method="seasonal_naive")
    assert method == "seasonal_naive" and paths.shape == (PATHS, 48) and (paths >= 0).all()
    mean = paths.mean(axis=0)
    assert mean[10:12].mean() > 3 * mean[0:4].mean()  # mornings busy, nights quiet
    short_method, short = forecast_paths(y[:100], 24)
    assert short_method == "seasonal_naive" and short.shape == (PATHS, 24)  # under two weeks: no Holt-Winters
    assert forecast_paths([], 5)[1].sum() == 0


def test_holt_winters_chosen_with_two_weeks_and_tracks_the_level() -> None:
    y = generated_series(2.0, 3, seed=3)
    method, paths = forecast_paths(y, WEEK)
    assert method == "holt_winters"
    assert abs(paths.mean() - y[-WEEK:].mean()) < 0.5
    lo, hi = np.quantile(paths, 0.1, axis=0), np.quantile(paths, 0.9, axis=0)
    assert (lo <= hi).all() and (hi > lo).mean() > 0.5
