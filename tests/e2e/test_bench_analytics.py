"""The analytics bench group in a small size on SQLite: it loads, rebuilds the roll-up, checks that the overview
of the whole span counts every loaded message once, and reports every figure it names."""

from __future__ import annotations

import math

import pytest

from caredesk.bench import analytics


def test_analytics_group_quick_on_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analytics, "QUICK_MESSAGES", 2_000)
    figures, notes = analytics.run(quick=True, postgres=False)
    names = {"analytics_overview_p50_ms_1m", "analytics_overview_p99_ms_1m", "analytics_build_s_1m",
             "analytics_rebuild_s_1m", "analytics_order_figures_90d_p99_ms_1m"} | {
        f"analytics_overview_{k}_p99_ms_1m" for k in ("day", "week", "30d", "90d")}
    assert names <= set(figures)
    assert all(math.isfinite(v) and v >= 0 for v in figures.values())
    assert figures["analytics_rollup_rows_1m"] > 0
    assert "2000 customer messages" in notes["analytics"]
