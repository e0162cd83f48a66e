"""The surge pages' content, in the reader's language: the list's filter (status, dimension) and a surge's report
as the page shows it: key figures, the chart specification of its hourly series (static/analytics.js draws it,
as the dashboards' charts), and the report's samples, phrases, clusters, channels and branches (all masked when
stored: analytics/surge_report.py), and the other series the surge also raised (its channel, its content
type). The views only parse the request and render."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.analytics.surge_lifecycle import SERIES_DIMENSIONS
from caredesk.analytics.surge_status import ACTIVE, SurgeStatus
from caredesk.errors import InvalidInput
from caredesk.storage.orm import Surge
from caredesk.web.dashboard_pages import DIMENSION_KEYS
from caredesk.web.i18n import N_, Translator

__all__ = ["STATUS_FILTERS", "SurgeFilter", "SurgeReport", "active_surges", "read_filter", "surge_report",
           "surge_title"]

STATUS_FILTERS: dict[str, tuple[str, frozenset[SurgeStatus] | None]] = {
    "active": (N_("surge.filter.active"), ACTIVE),
    "open": (N_("surge.filter.open"), frozenset({SurgeStatus.OPEN})),
    "acknowledged": (N_("surge.filter.acknowledged"), frozenset({SurgeStatus.ACKNOWLEDGED})),
    "resolved": (N_("surge.filter.resolved"), frozenset({SurgeStatus.RESOLVED})),
    "all": (N_("surge.filter.all"), None),
}


@dataclass(frozen=True, slots=True)
class SurgeFilter:
    status: str
    dimension: str | None

    @property
    def statuses(self) -> frozenset[SurgeStatus] | None:
        return STATUS_FILTERS[self.status][1]


def read_filter(params: dict[str, str]) -> SurgeFilter:
    """`status` (active by default: open and acknowledged) and `dimension` (any when empty)."""
    status = params.get("status") or "active"
    if status not in STATUS_FILTERS:
        raise InvalidInput(f"status is one of {', '.join(STATUS_FILTERS)}", field="status")
    dimension = params.get("dimension") or None
    if dimension is not None and dimension not in SERIES_DIMENSIONS:
        raise InvalidInput(f"dimension is one of {', '.join(SERIES_DIMENSIONS)}", field="dimension")
    return SurgeFilter(status, dimension)


def active_surges(session: Session) -> int:
    """Open and acknowledged surges (the cockpit's link to them)."""
    return int(session.scalar(select(func.count()).select_from(Surge).where(
        Surge.status.in_(sorted(s.value for s in ACTIVE)))) or 0)


def surge_title(surge: Surge, t: Translator) -> str:
    """`主题：年费` / `Topic: card fee`: the series in words."""
    return _series_title(surge.dimension, surge.value, t)


def _series_title(dimension: str, value: str, t: Translator) -> str:
    return t("surge.series", dimension=t(DIMENSION_KEYS[dimension]), value=t.label(value))


@dataclass(slots=True)
class SurgeReport:
    title: str
    figures: list[tuple[str, str, str]] = field(default_factory=list)  # (id, label, shown value)
    chart: dict[str, Any] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    phrases: list[dict[str, Any]] = field(default_factory=list)
    clusters: list[dict[str, Any]] = field(default_factory=list)
    channels: list[tuple[str, int]] = field(default_factory=list)
    branches: list[tuple[str, int]] = field(default_factory=list)
    also_raised: list[dict[str, Any]] = field(default_factory=list)  # other series this surge accounts for
    explained_by: dict[str, str] | None = None  # the more specific surge that accounts for this one


def _local(moment: str | datetime, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return at.astimezone(zone).strftime(fmt)


def _chart(series: list[dict[str, Any]], t: Translator, zone: ZoneInfo) -> dict[str, Any]:
    """Observed every hour; expected over the surge's window (the report keeps it only there)."""
    return {"kind": "line", "categories": [_local(h["hour"], zone, "%m-%d %H:00") for h in series],
            "series": [{"name": t("surge.chart.observed"), "data": [h.get("observed") for h in series]},
                       {"name": t("surge.chart.expected"), "data": [h.get("expected") for h in series],
                        "dashed": True}]}


def surge_report(surge: Surge, t: Translator, zone: ZoneInfo) -> SurgeReport:
    report = surge.report or {}
    summary = report.get("summary") or {}
    ratio = summary.get("ratio")
    hours = int((surge.window_end - surge.window_start).total_seconds() // 3600)
    threshold = report.get("threshold")
    figures = [
        ("observed", t("surge.fig.observed"), str(surge.observed)),
        ("expected", t("surge.fig.expected"), f"{surge.expected:.1f}"),
        ("ratio", t("surge.fig.ratio"), f"×{ratio}" if ratio is not None else "—"),
        ("since", t("surge.fig.since"), _local(surge.window_start, zone)),
        ("hours", t("surge.fig.hours"), str(hours)),
        ("detected", t("surge.fig.detected"), _local(surge.detected_at, zone)),
    ]
    if threshold is not None:
        figures.append(("threshold", t("surge.fig.threshold"), str(threshold)))
    series = report.get("series") or []
    return SurgeReport(
        title=surge_title(surge, t), figures=figures, chart=_chart(series, t, zone) if series else {},
        samples=list(report.get("samples") or []), phrases=list(report.get("phrases") or []),
        clusters=list(report.get("clusters") or []),
        channels=[(t.label(k), int(v)) for k, v in (report.get("channels") or {}).items()],
        branches=[(str(k), int(v)) for k, v in (report.get("branches") or {}).items()],
        also_raised=[_raised(r, t, zone) for r in report.get("also_raised") or []],
        explained_by=_cause(report.get("explained_by"), t))


def _cause(entry: dict[str, Any] | None, t: Translator) -> dict[str, str] | None:
    if not entry:
        return None
    return {"id": entry["surge_id"], "series": _series_title(entry["dimension"], entry["value"], t)}


def _raised(entry: dict[str, Any], t: Translator, zone: ZoneInfo) -> dict[str, Any]:
    """A series this surge also raised, as the page lists it."""
    return {"series": _series_title(entry["dimension"], entry["value"], t),
            "observed": entry["observed"], "expected": f"{entry['expected']:.1f}",
            "without": entry["without_surge"], "first": _local(entry["first_at"], zone),
            "last": _local(entry["last_at"], zone), "surge_id": entry.get("surge_id")}
