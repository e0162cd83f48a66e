"""The forecast part of the team page: the chosen series' daily messages and complaints with their intervals (a
"band" chart for static/analytics.js), the staff needed per hour as a chart and as a day x hour table, and the
figures the plan rests on (handling time, share handed to a person, service level). Tables export like the
others (web/table_export.py)."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from caredesk.analytics.rollups import TOTAL
from caredesk.analytics.team_forecast import SeriesForecast, TeamForecast
from caredesk.web.dashboard_pages import Page
from caredesk.web.i18n import N_, Translator
from caredesk.web.table_export import Column, Table

__all__ = ["SERIES_PARAM", "add_forecast"]

SERIES_PARAM = "series"  # the query parameter naming the series shown: all, channel:<value>, topic:<value>
DIMENSION_WORDS = {TOTAL: N_("dash.fc.all"), "channel": N_("dash.dim.channel"), "topic": N_("dash.dim.topic")}


def _series_label(t: Translator, s: SeriesForecast) -> str:
    return t("dash.fc.all") if s.dimension == TOTAL else f"{t(DIMENSION_WORDS[s.dimension])}: {t.label(s.value)}"


def _band(name: str, points: Any) -> dict[str, Any]:
    return {"name": name, "data": [p.expected for p in points], "lower": [p.lower for p in points],
            "upper": [p.upper for p in points]}


def add_forecast(page: Page, t: Translator, forecast: TeamForecast, selected: str, zone: tzinfo, *,
                 refreshing: bool) -> None:
    """The forecast's figures, charts and tables on `page`; `selected` is the series key (unknown: the totals)."""
    shown = forecast.find(selected) or forecast.find(TOTAL) or (forecast.series[0] if forecast.series else None)
    page.choices = [(s.key, _series_label(t, s)) for s in forecast.series]
    page.selected = shown.key if shown else TOTAL
    peak = max((h.staff for h in forecast.staffing), default=0)
    page.figures += [
        ("fc_peak_staff", t("dash.fc.peak_staff"), str(peak)),
        ("fc_aht", t("dash.fc.aht_measured") if forecast.aht_measured else t("dash.fc.aht_configured"),
         f"{forecast.aht_seconds:.0f} s"),
        ("fc_handled_share", t("dash.fc.handled_share"), f"{forecast.handled_share * 100:.1f}%"),
        ("fc_service_level", t("dash.fc.service_level"),
         t("dash.fc.service_level_value", share=f"{forecast.service_level * 100:.0f}%",
           seconds=f"{forecast.within_seconds:.0f}")),
    ]
    computed = forecast.computed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    note = t("dash.fc.computed", at=computed, interval=f"{forecast.interval * 100:.0f}%")
    if refreshing:
        note += " " + t("dash.fc.refreshing")
    if shown is not None:
        today, rest = forecast.hour.astimezone(zone).date(), t("dash.fc.rest_of_today")
        days = [p.day.isoformat() + (f" ({rest})" if p.day == today else "") for p in shown.messages]
        page.add(Table("forecast", t("dash.table.forecast", series=_series_label(t, shown)),
                       [Column(t("dash.col.day")), Column(t("dash.fc.messages_expected"), "number"),
                        Column(t("dash.fc.lower"), "number"), Column(t("dash.fc.upper"), "number"),
                        Column(t("dash.fc.complaints_expected"), "number"), Column(t("dash.fc.lower"), "number"),
                        Column(t("dash.fc.upper"), "number")],
                       [[d, m.expected, m.lower, m.upper, c.expected, c.lower, c.upper]
                        for d, m, c in zip(days, shown.messages, shown.complaints, strict=True)],
                       note=note + " " + t("dash.fc.method", method=shown.method, hours=shown.history_hours)))
        page.charts["forecast"] = {"kind": "band", "categories": days, "series": [
            _band(t("dash.fc.messages_expected"), shown.messages),
            _band(t("dash.fc.complaints_expected"), shown.complaints)]}
    hours = [(h.start.astimezone(zone), h) for h in forecast.staffing]
    by_day: dict[str, list[Any]] = {}
    for local, h in hours:
        row = by_day.setdefault(local.date().isoformat(), [None] * 24)
        row[local.hour] = h.staff
    page.add(Table("staffing", t("dash.table.staffing"),
                   [Column(t("dash.col.day"))] + [Column(f"{h:02d}", "count") for h in range(24)]
                   + [Column(t("dash.fc.peak_staff"), "count")],
                   [[day, *row, max((n for n in row if n is not None), default=0)] for day, row in by_day.items()],
                   note=t("dash.fc.staffing_note") if forecast.staffing else t("dash.no_data")))
    page.charts["staffing"] = {"kind": "line", "categories": [local.strftime("%m-%d %H:00") for local, _ in hours],
                               "series": [{"name": t("dash.fc.staff_needed"), "data": [h.staff for _, h in hours]},
                                          {"name": t("dash.fc.contacts"), "data": [h.contacts for _, h in hours]}]}
