"""One surge for one cause: a quiet topic rising fivefold also lifts its channel and content type. Series are
judged most specific dimension first (SERIES_DIMENSIONS); a series about to open while a surge of a more specific
dimension is active is judged again without that surge's excess (in the share of messages the two have in
common), and when the rest is usual it is recorded on that surge's report (`also_raised`) instead of opening.
Never the other way: an aggregate that crossed first does not absorb the topic that explains it; the two are
linked when the topic opens (docs/analytics-surge.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import numpy as np

from caredesk.analytics.surge_counts import Array, QuarterView, Series
from caredesk.analytics.surge_lifecycle import SERIES_DIMENSIONS
from caredesk.analytics.surge_scan import ScanJudgement, SpanExpectation, explained_counts, scan_quarter
from caredesk.storage.orm import Surge

__all__ = ["explaining_surge", "link_aggregates", "record_raised"]


def _rank(series: Series) -> int:
    return SERIES_DIMENSIONS.index(series[0])


def _others(view: QuarterView, active: dict[Series, Surge], keep: Callable[[int], bool]
            ) -> Iterator[tuple[Series, Surge, SpanExpectation, Array]]:
    """The active surges whose dimension's rank `keep` accepts, each with its baseline and span counts."""
    for other, surge in active.items():
        if not keep(_rank(other)):
            continue
        fit = view.fitted(other[0], active).get(other[1])
        if fit is not None:
            yield other, surge, fit, view.span(other)


def explaining_surge(view: QuarterView, series: Series, span: Array, expectation: SpanExpectation,
                     active: dict[Series, Surge]) -> tuple[Surge, ScanJudgement] | None:
    """The active surge of a more specific dimension that accounts for this series' rise, with this series'
    judgement once that surge's excess is taken out; None when the rise is the series' own."""
    rank = _rank(series)
    best: tuple[float, Surge, Array] | None = None
    for other, surge, fit, other_span in _others(view, active, lambda r: r < rank):
        part = explained_counts(other_span, fit.quarters[:len(other_span)], view.shared(series, other))
        if best is None or part.sum() > best[0]:
            best = (float(part.sum()), surge, part)
    if best is None or best[0] <= 0:
        return None
    rest = scan_quarter(np.maximum(span - best[2], 0.0), expectation, view.span_start, params=view.params)
    return None if rest.surge else (best[1], rest)


def link_aggregates(view: QuarterView, series: Series, span: Array, expectation: SpanExpectation, surge: Surge,
                    active: dict[Series, Surge], end: datetime) -> list[Series]:
    """When `surge` opens, the active surges of less specific dimensions that it accounts for (the aggregate
    crossed first): each still surging, but not once this surge's excess is taken out. Each is noted on this
    surge's report with its id, and gets `explained_by` on its own; it stays active (it was told; a supervisor
    resolves it, or quiet hours do)."""
    rank = _rank(series)
    linked = []
    for other, aggregate, fit, other_span in _others(view, active, lambda r: r > rank):
        own = scan_quarter(other_span, fit, view.span_start, params=view.params)
        part = explained_counts(span, expectation.quarters[:len(span)], view.shared(other, series))
        if not own.surge or part.sum() <= 0:
            continue
        rest = scan_quarter(np.maximum(other_span - part, 0.0), fit, view.span_start, params=view.params)
        if rest.surge:
            continue
        record_raised(surge, other, own, rest, end, surge_id=aggregate.id)
        aggregate.report = {**aggregate.report, "explained_by": {
            "surge_id": surge.id, "dimension": series[0], "value": series[1], "at": end.isoformat()}}
        linked.append(other)
    return linked


def record_raised(surge: Surge, series: Series, judgement: ScanJudgement, rest: ScanJudgement, end: datetime, *,
                  surge_id: str | None = None) -> None:
    """Note on `surge`'s report that it also raised this series: when first and last, and the window with the
    most messages above the usual (observed, expected, and how many of them the series would have without the
    surge's excess); `surge_id` when the series' own surge had opened before this one."""
    dimension, value = series
    raised = {(r["dimension"], r["value"]): r for r in surge.report.get("also_raised", [])}
    seen = raised.get(series)
    entry = {"dimension": dimension, "value": value, "first_at": seen["first_at"] if seen else end.isoformat(),
             "last_at": end.isoformat(), "observed": judgement.observed, "expected": judgement.expected,
             "without_surge": rest.observed}
    known_id = surge_id or (seen or {}).get("surge_id")
    if known_id:
        entry["surge_id"] = known_id
    if seen and seen["observed"] - seen["expected"] >= judgement.observed - judgement.expected:
        entry |= {k: seen[k] for k in ("observed", "expected", "without_surge")}
    raised[series] = entry
    surge.report = {**surge.report, "also_raised": list(raised.values())}
