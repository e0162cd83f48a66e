"""The dashboard pages' content: figures, tables (web/table_export.py: the same objects are exported) and chart
specifications, in the reader's language, from analytics/ (overview, dashboard). The views only parse the
request and render.

A chart specification is plain data for static/analytics.js: `{"kind": "line"|"bar", "categories": [...],
"series": [{"name": ..., "data": [...]}]}`; labels are translated here, so the charts follow the page language."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.analytics import dashboard as dash
from caredesk.analytics.metrics import AGE_BANDS, rate
from caredesk.analytics.order_figures import backlog_by_group
from caredesk.analytics.overview import overview
from caredesk.analytics.period import parse_period
from caredesk.errors import InvalidInput
from caredesk.storage.orm import SkillGroup
from caredesk.web.i18n import N_, Translator
from caredesk.web.table_export import Column, Table

__all__ = ["DIMENSION_KEYS", "GRANULARITIES", "PAGE_KEYS", "Page", "Period", "cockpit_page", "complaints_page",
           "read_period", "team_page", "trends_page"]

GRANULARITIES = {"day": N_("dash.granularity.day"), "hour": N_("dash.granularity.hour")}
PAGE_KEYS = {"trends": N_("dash.trends"), "complaints": N_("dash.complaints"), "team": N_("dash.team")}
DIMENSION_KEYS = {"channel": N_("dash.dim.channel"), "topic": N_("dash.dim.topic"), "product": N_("dash.dim.product"),
                  "content_type": N_("dash.dim.content_type"), "problem_type": N_("dash.dim.problem_type"),
                  "branch": N_("dash.dim.branch"), "complaint_type": N_("dash.dim.complaint_type")}
COUNTER_KEYS = {"messages": N_("dash.counter.messages"), "complaints": N_("dash.counter.complaints"),
                "auto_answered": N_("dash.counter.auto_answered"), "unanswered": N_("dash.counter.unanswered"),
                "handed_off": N_("dash.counter.handed_off"), "emergencies": N_("dash.counter.emergencies"),
                "regulator": N_("dash.counter.regulator")}
DEFAULT_DAYS = 7
TOP_IN_CHART = 15


@dataclass(slots=True)
class Page:
    figures: list[tuple[str, str, str]] = field(default_factory=list)  # (id, label, shown value)
    tables: dict[str, Table] = field(default_factory=dict)
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    choices: list[tuple[str, str]] = field(default_factory=list)  # the team page's forecast series (key, label)
    selected: str = ""

    def add(self, table: Table) -> None:
        self.tables[table.name] = table


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime  # UTC, widened to whole hours (the roll-up's grain)
    end: datetime
    from_text: str  # as the form shows it
    to_text: str
    granularity: dash.Granularity
    dimension: str


def read_period(params: dict[str, str], zone: ZoneInfo, now: datetime) -> Period:
    """`from`/`to` (ISO date or time, in the centre's zone without an offset; a `to` that is a date alone is
    the last day included), `granularity` day|hour, `dimension`; by default the last seven days to today."""
    today = now.astimezone(zone).date()
    from_text = params.get("from", "").strip() or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    to_text = params.get("to", "").strip() or today.isoformat()
    for name, text in (("from", from_text), ("to", to_text)):
        if len(text) > 64:
            raise InvalidInput(f"{name} is at most 64 characters", field=name)
    end_text = to_text
    if len(to_text) == 10:  # a date alone: the whole day is included
        with suppress(ValueError):  # not a date: parse_period names the field
            end_text = (datetime.fromisoformat(to_text) + timedelta(days=1)).date().isoformat()
    start, end = parse_period(from_text, end_text, zone)
    granularity = params.get("granularity", "day")
    if granularity not in GRANULARITIES:
        raise InvalidInput("granularity is day or hour", field="granularity")
    dimension = params.get("dimension", "channel")
    if dimension not in DIMENSION_KEYS:
        raise InvalidInput(f"dimension is one of {', '.join(DIMENSION_KEYS)}", field="dimension")
    start, end = dash.whole_hours(start, end)
    return Period(start, end, from_text, to_text, "hour" if granularity == "hour" else "day", dimension)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _bar(categories: list[str], name: str, data: list[Any]) -> dict[str, Any]:
    return {"kind": "bar", "categories": categories[:TOP_IN_CHART],
            "series": [{"name": name, "data": data[:TOP_IN_CHART]}]}


def _value_table(t: Translator, name: str, title: str, dimension: str, counts: dict[str, int]) -> Table:
    total = sum(counts.values())
    return Table(name, title, [Column(t(DIMENSION_KEYS[dimension])), Column(t("dash.col.messages"), "count"),
                               Column(t("dash.col.share"), "rate")],
                 [[t.label(v), n, _round(rate(n, total))] for v, n in counts.items()],
                 note="" if counts else t("dash.no_data"))


# --- cockpit --------------------------------------------------------------------------------------------------
def cockpit_page(session: Session, t: Translator, now: datetime, zone: ZoneInfo) -> Page:
    """Today so far against the usual for this weekday and hour, the key rates, and today's volumes by channel
    and content type."""
    day = dash.local_day_start(now, zone)
    o = overview(session, day, now)
    hours = dash.today_against_usual(session, now, zone)
    local = now.astimezone(zone)
    elapsed = (local.minute * 60 + local.second) / 3600
    usual_so_far = sum(h.usual for h in hours if h.hour < local.hour) + hours[local.hour].usual * elapsed
    page = Page()
    page.figures = [
        ("messages", t("dash.fig.messages_today"), str(o.messages)),
        ("usual", t("dash.fig.usual_by_now"), _num(usual_so_far)),
        ("auto_response_rate", t("dash.fig.auto_response_rate"), _pct(o.auto_response_rate)),
        ("response_failure_rate", t("dash.fig.response_failure_rate"), _pct(o.response_failure_rate)),
        ("handoff_rate", t("dash.fig.handoff_rate"), _pct(o.handoff_rate)),
        ("sla_met_rate", t("dash.fig.sla_met_rate"), _pct(o.sla_met_rate)),
        ("csat_average", t("dash.fig.csat_average"), _num(o.csat_average, 2)),
        ("backlog", t("dash.fig.backlog"), "—" if o.backlog is None else str(o.backlog)),
        ("complaints", t("dash.fig.complaints"), str(o.complaints)),
        ("emergencies", t("dash.fig.emergencies"), str(o.emergencies)),
    ]
    page.add(Table("figures", t("dash.table.figures"), [Column(t("dash.col.metric")), Column(t("dash.col.today"))],
                   [[label, shown] for _, label, shown in page.figures]))
    page.add(Table("hours", t("dash.table.hours"),
                   [Column(t("dash.col.hour")), Column(t("dash.col.today"), "count"),
                    Column(t("dash.col.usual"), "number")],
                   [[f"{h.hour:02d}:00", h.today, round(h.usual, 2)] for h in hours]))
    page.add(_value_table(t, "channels", t("dash.table.channels"), "channel", o.by.get("channel", {})))
    page.add(_value_table(t, "content_types", t("dash.table.content_types"), "content_type",
                          o.by.get("content_type", {})))
    page.charts["hours"] = {"kind": "line", "categories": [f"{h.hour:02d}" for h in hours], "series": [
        {"name": t("dash.col.today"), "data": [h.today for h in hours]},
        {"name": t("dash.col.usual"), "data": [round(h.usual, 2) for h in hours]}]}
    for name in ("channels", "content_types"):
        rows = page.tables[name].rows
        page.charts[name] = _bar([str(r[0]) for r in rows], t("dash.col.messages"), [r[1] for r in rows])
    return page


# --- trends and breakdowns ------------------------------------------------------------------------------------
SERIES_COUNTERS = ("messages", "complaints", "auto_answered", "unanswered", "handed_off", "emergencies")


def _bucket_label(at: datetime, granularity: dash.Granularity) -> str:
    return at.strftime("%Y-%m-%d %H:00" if granularity == "hour" else "%Y-%m-%d")


def trends_page(session: Session, t: Translator, period: Period, zone: ZoneInfo) -> Page:
    page = Page()
    buckets = dash.series(session, period.start, period.end, zone, period.granularity, SERIES_COUNTERS)
    labels = [_bucket_label(b.start, period.granularity) for b in buckets]
    page.add(Table("series", t("dash.table.series"),
                   [Column(t("dash.col.period"))] + [Column(t(COUNTER_KEYS[c]), "count")
                                                     for c in SERIES_COUNTERS],
                   [[label] + [b.counts[c] for c in SERIES_COUNTERS]
                    for label, b in zip(labels, buckets, strict=True)]))
    page.charts["series"] = {"kind": "line", "categories": labels, "series": [
        {"name": t(COUNTER_KEYS[c]), "data": [b.counts[c] for b in buckets]} for c in ("messages", "complaints")]}
    values = dash.breakdown(session, period.dimension, period.start, period.end)
    total = sum(v.counts["messages"] for v in values)
    page.add(Table("breakdown", t("dash.table.breakdown", dimension=t(DIMENSION_KEYS[period.dimension])),
                   [Column(t(DIMENSION_KEYS[period.dimension])), Column(t("dash.col.messages"), "count"),
                    Column(t("dash.col.share"), "rate"), Column(t("dash.counter.complaints"), "count"),
                    Column(t("dash.fig.auto_response_rate"), "rate"), Column(t("dash.fig.handoff_rate"), "rate")],
                   [[t.label(v.value), v.counts["messages"], _round(rate(v.counts["messages"], total)),
                     v.counts["complaints"], _round(v.rate("auto_answered")), _round(v.rate("handed_off"))]
                    for v in values],
                   note="" if values else t("dash.no_data")))
    page.charts["breakdown"] = _bar([t.label(v.value) for v in values], t("dash.col.messages"),
                                    [v.counts["messages"] for v in values])
    page.figures = [("messages", t("dash.counter.messages"), str(sum(b.counts["messages"] for b in buckets))),
                    ("complaints", t("dash.counter.complaints"), str(sum(b.counts["complaints"] for b in buckets)))]
    return page


# --- complaints -----------------------------------------------------------------------------------------------
def complaints_page(session: Session, t: Translator, period: Period, zone: ZoneInfo) -> Page:
    page = Page()
    buckets = dash.series(session, period.start, period.end, zone, period.granularity,
                          ("messages", "complaints", "regulator"))
    complaints = sum(b.counts["complaints"] for b in buckets)
    messages = sum(b.counts["messages"] for b in buckets)
    regulator = sum(b.counts["regulator"] for b in buckets)
    page.figures = [("complaints", t("dash.fig.complaints"), str(complaints)),
                    ("complaint_share", t("dash.fig.complaint_share"), _pct(rate(complaints, messages))),
                    ("regulator", t("dash.fig.regulator"), str(regulator))]
    labels = [_bucket_label(b.start, period.granularity) for b in buckets]
    page.add(Table("volume", t("dash.table.complaint_volume"),
                   [Column(t("dash.col.period")), Column(t("dash.counter.complaints"), "count"),
                    Column(t("dash.counter.regulator"), "count")],
                   [[label, b.counts["complaints"], b.counts["regulator"]] for label, b in zip(labels, buckets,
                                                                                             strict=True)]))
    page.charts["volume"] = {"kind": "line", "categories": labels, "series": [
        {"name": t("dash.counter.complaints"), "data": [b.counts["complaints"] for b in buckets]},
        {"name": t("dash.counter.regulator"), "data": [b.counts["regulator"] for b in buckets]}]}
    types = dash.breakdown(session, "complaint_type", period.start, period.end)
    page.add(Table("types", t("dash.table.complaint_types"),
                   [Column(t("dash.dim.complaint_type")), Column(t("dash.col.messages"), "count")],
                   [[t.complaint_type(v.value), v.counts["messages"]] for v in types],
                   note="" if types else t("dash.no_data")))
    page.charts["types"] = _bar([t.complaint_type(v.value) for v in types], t("dash.col.messages"),
                                [v.counts["messages"] for v in types])
    topics = dash.breakdown(session, "topic", period.start, period.end, order_by="complaints")
    page.add(Table("topics", t("dash.table.hot_topics"),
                   [Column(t("dash.dim.topic")), Column(t("dash.counter.complaints"), "count"),
                    Column(t("dash.col.messages"), "count"), Column(t("dash.fig.complaint_share"), "rate")],
                   [[t.label(v.value), v.counts["complaints"], v.counts["messages"], _round(v.rate("complaints"))]
                    for v in topics],
                   note="" if topics else t("dash.no_topics")))
    page.charts["topics"] = _bar([t.label(v.value) for v in topics], t("dash.counter.complaints"),
                                 [v.counts["complaints"] for v in topics])
    departments = dash.complaints_by_department(session, period.start, period.end)
    page.add(Table("departments", t("dash.table.departments"),
                   [Column(t("dash.col.department")), Column(t("dash.col.complaint_orders"), "count")],
                   [[(d.name_zh if t.language == "zh" else d.name_en) if d else t("dash.not_routed"), n]
                    for d, n in departments],
                   note="" if departments else t("dash.no_departments")))
    return page


# --- team -----------------------------------------------------------------------------------------------------
def team_page(session: Session, t: Translator, period: Period, now: datetime) -> Page:
    page = Page()
    agents = dash.agent_figures(session, period.start, period.end)
    page.add(Table("agents", t("dash.table.agents"),
                   [Column(t("dash.col.agent")), Column(t("dash.col.open_orders"), "count"),
                    Column(t("dash.col.resolved"), "count"), Column(t("dash.col.median_minutes"), "number"),
                    Column(t("dash.col.p90_minutes"), "number"), Column(t("dash.col.answered"), "count"),
                    Column(t("dash.col.first_response_median"), "number"),
                    Column(t("dash.col.first_response_p90"), "number"), Column(t("dash.fig.csat_average"), "number"),
                    Column(t("dash.col.surveys"), "count")],
                   [[a.staff.display_name, a.open_orders, a.resolved, _round(a.resolution.median_minutes, 1),
                     _round(a.resolution.p90_minutes, 1), a.first_response.count,
                     _round(a.first_response.median_minutes, 1), _round(a.first_response.p90_minutes, 1),
                     _round(a.csat.average, 2), a.csat.answered]
                    for a in agents],
                   note="" if agents else t("dash.no_data")))
    page.charts["agents"] = _bar([a.staff.display_name for a in agents], t("dash.col.open_orders"),
                                 [a.open_orders for a in agents])
    groups = backlog_by_group(session, now)
    names = {g.id: g for g in session.scalars(select(SkillGroup).where(
        SkillGroup.id.in_([g for g in groups if g])))} if groups else {}
    rows: list[list[Any]] = []
    for group_id, bands in sorted(groups.items(), key=lambda kv: -sum(kv[1].values())):
        group = names.get(group_id) if group_id else None
        label = (group.name_zh if t.language == "zh" else group.name_en) if group else t("dash.no_group")
        rows.append([label, sum(bands.values())] + [bands[b] for b, _ in AGE_BANDS])
    page.add(Table("backlog", t("dash.table.backlog"),
                   [Column(t("dash.col.group")), Column(t("dash.col.open_orders"), "count")]
                   + [Column(band, "count") for band, _ in AGE_BANDS], rows,
                   note="" if rows else t("dash.no_backlog")))
    return page
