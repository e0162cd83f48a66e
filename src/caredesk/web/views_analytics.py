"""The dashboards (supervisors and administrators: `analytics.read`): the cockpit (today against the usual,
refreshed every 30 s by htmx: the same handler answers the fragment to an htmx request), trends and
breakdowns over a period, complaint analysis, the team. The cockpit says how many surges are active and links
to them (web/views_surges.py). Every table downloads as CSV or Excel from the page's
own URL plus `format=csv|xlsx&table=<name>` (web/table_export.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from caredesk.accounts.roles import can
from caredesk.analytics.forecast import Staffing
from caredesk.analytics.rollups import TOTAL
from caredesk.analytics.team_forecast import QueueStore, forecast_for_page
from caredesk.errors import InvalidInput
from caredesk.http.deps import RuntimeDep, SessionDep
from caredesk.storage.orm import Staff
from caredesk.web.dashboard_pages import (
    DIMENSION_KEYS,
    GRANULARITIES,
    PAGE_KEYS,
    Page,
    Period,
    cockpit_page,
    complaints_page,
    read_period,
    team_page,
    trends_page,
)
from caredesk.web.i18n import Translator
from caredesk.web.rendering import WebRoute, is_htmx, refusal, render, staff_who_may, ui_language
from caredesk.web.surge_pages import active_surges
from caredesk.web.table_export import EXPORT_FORMATS, export_response
from caredesk.web.team_forecast_page import SERIES_PARAM, add_forecast

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)
Analyst = Annotated[Staff, staff_who_may("analytics.read")]
FORECAST_BUDGET_SECONDS = 1.5  # the team page computes no longer than this (then the worker finishes)


def _export(request: Request, page: Page, stem: str) -> Response | None:
    """The table named by `table=` in the format `format=`, when the request asks for an export."""
    fmt = request.query_params.get("format")
    if fmt is None:
        return None
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput("format is csv or xlsx", field="format")
    table = page.tables.get(request.query_params.get("table", ""))
    if table is None:
        raise InvalidInput(f"table is one of {', '.join(page.tables)}", field="table")
    return export_response(table, fmt, stem)


def _refused(request: Request, staff: Staff, template: str, error: InvalidInput, extra: dict[str, Any]
             ) -> HTMLResponse:
    return render(request, template, {"page": Page(), "error": refusal(request, error), "field": error.details.get(
        "field"), **extra}, staff=staff, status=400)


@router.get("/analytics", response_class=HTMLResponse)
def cockpit(request: Request, rt: RuntimeDep, session: SessionDep, staff: Analyst) -> Response:
    t = Translator(ui_language(request))
    page = cockpit_page(session, t, rt.clock.now(), rt.settings.display_timezone)
    try:
        exported = _export(request, page, "cockpit")
    except InvalidInput as exc:
        return _refused(request, staff, "analytics_cockpit.html", exc,
                        {"generated": rt.clock.now(), "which": "cockpit"})
    if exported is not None:
        return exported
    template = "_cockpit.html" if is_htmx(request) else "analytics_cockpit.html"
    surges = active_surges(session) if can(staff.role, "surge.read") else 0
    return render(request, template, {"page": page, "error": None, "generated": rt.clock.now(), "which": "cockpit",
                                      "surges_active": surges},
                  staff=staff,
                  headers={"Vary": "HX-Request"})


def _period_view(request: Request, rt: Any, session: Session, staff: Staff, which: str,
                 build: Callable[[Session, Translator, Period], Page]) -> Response:
    t = Translator(ui_language(request))
    params = dict(request.query_params)
    base = {"which": which, "title_key": PAGE_KEYS[which], "params": params, "dimensions": DIMENSION_KEYS,
            "granularities": GRANULARITIES}
    try:
        period = read_period(params, rt.settings.display_timezone, rt.clock.now())
        page = build(session, t, period)
        exported = _export(request, page, which)
    except InvalidInput as exc:
        return _refused(request, staff, "analytics_period.html", exc, base | {"period": None})
    if exported is not None:
        return exported
    return render(request, "analytics_period.html", base | {"page": page, "period": period, "error": None,
                                                            "field": None}, staff=staff)


@router.get("/analytics/trends", response_class=HTMLResponse)
def trends(request: Request, rt: RuntimeDep, session: SessionDep, staff: Analyst) -> Response:
    zone = rt.settings.display_timezone
    return _period_view(request, rt, session, staff, "trends", lambda s, t, p: trends_page(s, t, p, zone))


@router.get("/analytics/complaints", response_class=HTMLResponse)
def complaints(request: Request, rt: RuntimeDep, session: SessionDep, staff: Analyst) -> Response:
    zone = rt.settings.display_timezone
    return _period_view(request, rt, session, staff, "complaints", lambda s, t, p: complaints_page(s, t, p, zone))


@router.get("/analytics/team", response_class=HTMLResponse)
def team(request: Request, rt: RuntimeDep, session: SessionDep, staff: Analyst) -> Response:
    """The team's figures and, below, the forecast and staffing plan: the stored one (the worker computes it
    hourly), or what fits in FORECAST_BUDGET_SECONDS; the worker is asked for a fresh one when needed."""
    from caredesk.analytics.tasks import refresh_team_forecast

    now, st = rt.clock.now(), rt.settings
    plan = Staffing(st.forecast_aht_seconds, st.forecast_answer_within_seconds, st.forecast_service_level)
    selected = request.query_params.get(SERIES_PARAM, TOTAL)[:140]

    def build(s: Session, t: Translator, p: Period) -> Page:
        page = team_page(s, t, p, now)
        forecast, refresh = forecast_for_page(s, QueueStore(rt.queue.huey), now=now,
                                              zone=st.display_timezone, plan=plan,
                                              budget_seconds=FORECAST_BUDGET_SECONDS)
        if refresh and rt.queue.first_this_minute("team_forecast_asked", now):
            rt.queue.enqueue(refresh_team_forecast)
        add_forecast(page, t, forecast, selected, st.display_timezone, refreshing=refresh)
        return page

    return _period_view(request, rt, session, staff, "team", build)
