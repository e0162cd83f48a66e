"""The customer's satisfaction survey behind the link sent when an order closes (`{base_url}/survey/{token}`;
workorders/tasks.py). Public: the token is the credential. The page speaks the order's language unless the
visitor chose one (`?lang=`); the rating (1-5) and comment post by htmx to the same path. An unknown token
is a 404 page, an answered survey a 409 page; answering again from a stale page is a 400 notice in place
(base.html's htmx config swaps 400s only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.errors import CareDeskError, InvalidInput
from caredesk.http.deps import RuntimeDep, SessionDep
from caredesk.storage.orm import SatisfactionSurvey, WorkOrder
from caredesk.web.i18n import LANGUAGES, Translator
from caredesk.web.rendering import WebRoute, render
from caredesk.workorders.closure import do_answer_survey

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)
_PATH = "/survey/{token}"


def _language(request: Request, order: WorkOrder | None) -> dict[str, Any]:
    """`t`, `lang` and the language switch for the page: the visitor's explicit choice, else the order's."""
    asked = request.query_params.get("lang")
    language = asked if asked in LANGUAGES else ((order.language if order else None) or "zh")
    if language not in LANGUAGES:
        language = "zh"
    other = "en" if language == "zh" else "zh"
    return {"t": Translator(language), "lang": language, "switch_url": f"{request.url.path}?lang={other}"}


def _find(session: Session, token: str) -> tuple[SatisfactionSurvey | None, WorkOrder | None]:
    survey = session.scalar(select(SatisfactionSurvey).where(SatisfactionSurvey.token == token[:64]))
    return survey, (session.get(WorkOrder, survey.work_order_id) if survey else None)


@router.get(_PATH, response_class=HTMLResponse)
def survey_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    survey, order = _find(session, token)
    context = _language(request, order) | {"survey": survey, "order": order, "error": None}
    if survey is None:
        return render(request, "wo_survey.html", context | {"state": "unknown"}, status=404)
    if survey.answered_at is not None:
        return render(request, "wo_survey.html", context | {"state": "answered"}, status=409)
    return render(request, "wo_survey.html", context | {"state": "open"})


@router.post(_PATH, response_class=HTMLResponse)
def survey_answer(token: str, request: Request, rt: RuntimeDep, session: SessionDep,
                  rating: Annotated[str, Form(max_length=2)] = "",
                  comment: Annotated[str, Form(max_length=2000)] = "") -> HTMLResponse:
    survey, order = _find(session, token)
    context = _language(request, order) | {"survey": survey, "order": order}
    try:
        if not rating.isdigit():
            raise InvalidInput("choose a rating from 1 to 5", field="rating")
        do_answer_survey(rt, token[:64], rating=int(rating), comment=comment, now=rt.clock.now())
    except CareDeskError as exc:
        refused = context | {"state": _refusal(exc), "error": context["t"].error(exc)}
        return render(request, "_wo_survey_body.html", refused, status=400,
                      headers={"X-CareDesk-Error": exc.code})
    return render(request, "_wo_survey_body.html", context | {"state": "thanks", "error": None,
                                                              "rating": int(rating)})


def _refusal(exc: CareDeskError) -> str:
    return {"not_found": "unknown", "conflict": "answered"}.get(exc.code, "open")
