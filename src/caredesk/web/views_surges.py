"""The surge pages (issue 15): the list (active by default; filter by status and dimension) and a surge's report
with its chart, for those who may read surges (`surge.read`); the acknowledge and resolve buttons, for those who
may handle them (`surge.handle`, as the API): plain forms with the CSRF field, each calls one lifecycle action
(audited there) and goes back to the report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from caredesk.analytics.surge_lifecycle import (
    SERIES_DIMENSIONS,
    do_acknowledge_surge,
    do_resolve_surge,
    get_surge,
    list_surges,
)
from caredesk.analytics.thresholds import load_thresholds
from caredesk.bootstrap.runtime import Runtime
from caredesk.errors import Conflict, InvalidInput
from caredesk.http.deps import RuntimeDep, SessionDep
from caredesk.storage.orm import Staff
from caredesk.web.dashboard_pages import DIMENSION_KEYS
from caredesk.web.i18n import Translator
from caredesk.web.rendering import WebRoute, refusal, render, staff_who_may, ui_language
from caredesk.web.surge_pages import STATUS_FILTERS, SurgeFilter, read_filter, surge_report, surge_title

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)
SurgeReader = Annotated[Staff, staff_who_may("surge.read")]
SurgeHandler = Annotated[Staff, staff_who_may("surge.handle")]
LIST_LENGTH = 200


@router.get("/analytics/surges", response_class=HTMLResponse)
def surges(request: Request, session: SessionDep, staff: SurgeReader) -> Response:
    t = Translator(ui_language(request))
    context = {"which": "surges", "statuses": STATUS_FILTERS, "dimensions": {d: DIMENSION_KEYS[d]
                                                                             for d in SERIES_DIMENSIONS}}
    try:
        chosen = read_filter(dict(request.query_params))
    except InvalidInput as exc:
        return render(request, "analytics_surges.html", context | {
            "chosen": SurgeFilter("active", None), "items": [], "error": refusal(request, exc)},
                      staff=staff, status=400)
    found = list_surges(session, statuses=chosen.statuses, dimension=chosen.dimension, limit=LIST_LENGTH)
    items = [(s, surge_title(s, t)) for s in found]
    return render(request, "analytics_surges.html", context | {"chosen": chosen, "items": items, "error": None},
                  staff=staff)


def _report_page(request: Request, rt: Runtime, session: Session, staff: Staff, surge_id: str,
                 error: str | None = None, status: int = 200) -> HTMLResponse:
    surge = get_surge(session, surge_id)
    t = Translator(ui_language(request))
    return render(request, "analytics_surge.html", {
        "which": "surges", "surge": surge, "report": surge_report(surge, t, rt.settings.display_timezone),
        "error": error}, staff=staff, status=status)


@router.get("/analytics/surges/{surge_id}", response_class=HTMLResponse)
def surge_page(surge_id: str, request: Request, rt: RuntimeDep, session: SessionDep, staff: SurgeReader
               ) -> HTMLResponse:
    return _report_page(request, rt, session, staff, surge_id)


def _handled(request: Request, rt: Runtime, staff: Staff, surge_id: str, resolve: bool) -> Response:
    with rt.session_factory() as session:
        get_surge(session, surge_id)  # 404 before anything else
    try:
        if resolve:
            do_resolve_surge(rt.uow(), surge_id, actor=f"staff:{staff.id}", staff_id=staff.id, now=rt.clock.now(),
                             notices=load_thresholds(rt.settings.analytics_thresholds_file).surges,
                             tz=rt.settings.display_timezone, quiet=rt.alarm_strategy.quiet_hours)
        else:
            do_acknowledge_surge(rt.uow(), surge_id, actor=f"staff:{staff.id}", staff_id=staff.id,
                                 now=rt.clock.now())
    except Conflict as exc:  # already acknowledged or resolved (by someone else meanwhile): shown on the page
        with rt.session_factory() as session:
            return _report_page(request, rt, session, staff, surge_id, refusal(request, exc), status=409)
    return RedirectResponse(f"/analytics/surges/{surge_id}", status_code=303)


@router.post("/analytics/surges/{surge_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(surge_id: str, request: Request, rt: RuntimeDep, staff: SurgeHandler) -> Response:
    return _handled(request, rt, staff, surge_id, resolve=False)


@router.post("/analytics/surges/{surge_id}/resolve", response_class=HTMLResponse)
def resolve(surge_id: str, request: Request, rt: RuntimeDep, staff: SurgeHandler) -> Response:
    return _handled(request, rt, staff, surge_id, resolve=True)
