"""Work-order lists of the workbench: "my queue" and "team queue" with every row's SLA countdown (full page,
or the table alone for its refresh every minute), and the supervisor's pages: the SLA board of warnings
and breaches, the callbacks to make after closed complaints ("mark done"), and the macros (canned replies)
with the form that creates one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from caredesk.accounts.roles import can
from caredesk.errors import CareDeskError, InvalidInput
from caredesk.http.deps import RuntimeDep, SessionDep
from caredesk.storage.orm import Staff
from caredesk.web.i18n import N_, Translator
from caredesk.web.knowledge_queries import web_actor
from caredesk.web.rendering import WebRoute, is_htmx, refusal, render, staff_who_may, ui_language
from caredesk.web.workorder_queries import board_view, callback_view, my_queue, team_queue
from caredesk.workorders.closure import do_complete_callback
from caredesk.workorders.macro_fields import MacroFields
from caredesk.workorders.queries import macros
from caredesk.workorders.replies import do_create_macro

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)
Reader = Annotated[Staff, staff_who_may("workorder.read")]
Supervisor = Annotated[Staff, staff_who_may("workorder.supervise")]


def _queue(request: Request, rt: Any, session: Any, staff: Staff, which: str) -> HTMLResponse:
    find = my_queue if which == "mine" else team_queue
    context = {"rows": find(session, staff, rt.sla, rt.clock.now()), "which": which}
    template = "_wo_queue.html" if is_htmx(request) else "wo_queue.html"
    return render(request, template, context, staff=staff, headers={"Vary": "HX-Request"})


@router.get("/workbench/my-orders", response_class=HTMLResponse)
def my_orders(request: Request, rt: RuntimeDep, session: SessionDep, staff: Reader) -> HTMLResponse:
    return _queue(request, rt, session, staff, "mine")


@router.get("/workbench/team-orders", response_class=HTMLResponse)
def team_orders(request: Request, rt: RuntimeDep, session: SessionDep, staff: Reader) -> HTMLResponse:
    return _queue(request, rt, session, staff, "team")


@router.get("/workbench/sla-board", response_class=HTMLResponse)
def sla_board_page(request: Request, session: SessionDep, staff: Supervisor) -> HTMLResponse:
    context = {"board": board_view(session), "callbacks": callback_view(session),
               "may_change": can(staff.role, "workorder.change"), "error": None, "notice": None}
    return render(request, "wo_board.html", context, staff=staff)


@router.post("/workbench/callbacks/{callback_id}/done", response_class=HTMLResponse)
def callback_done(callback_id: str, request: Request, rt: RuntimeDep,
                  staff: Annotated[Staff, staff_who_may("workorder.change")],
                  note: Annotated[str, Form(max_length=2000)] = "") -> HTMLResponse:
    """Answers with the refreshed callbacks list (a refusal shows above it). Needs `workorder.change`, as
    in the API: whoever makes the call marks it done."""
    error = notice = None
    try:
        do_complete_callback(rt, callback_id, note=note, actor=web_actor(staff), now=rt.clock.now())
        notice = Translator(ui_language(request))(N_("wo.done.callback"))
    except CareDeskError as exc:
        error = refusal(request, exc)
    with rt.session_factory() as session:
        context = {"callbacks": callback_view(session), "may_change": can(staff.role, "workorder.change"),
                   "error": error, "notice": notice}
        return render(request, "_wo_callbacks.html", context, staff=staff, status=400 if error else 200)


@router.get("/workbench/macros", response_class=HTMLResponse)
def macro_page(request: Request, session: SessionDep, staff: Supervisor) -> HTMLResponse:
    return render(request, "wo_macros.html", {"macros": macros(session), "error": None, "notice": None},
                  staff=staff)


def _macro_in(fields: dict[str, str]) -> MacroFields:
    """The rules for a macro (code pattern, lengths), as one readable message."""
    try:
        return MacroFields(**{k: v.strip() for k, v in fields.items()})
    except ValidationError as exc:
        names = ", ".join(str(e["loc"][-1]) for e in exc.errors())
        raise InvalidInput(f"check these fields: {names}", fields=names) from None


@router.post("/workbench/macros", response_class=HTMLResponse)
def create_macro(request: Request, rt: RuntimeDep, staff: Supervisor,
                 code: Annotated[str, Form(max_length=64)] = "",
                 title_zh: Annotated[str, Form(max_length=200)] = "",
                 title_en: Annotated[str, Form(max_length=200)] = "",
                 body_zh: Annotated[str, Form(max_length=10_000)] = "",
                 body_en: Annotated[str, Form(max_length=10_000)] = "") -> HTMLResponse:
    """Answers with the refreshed list; a refusal keeps the form as typed and shows the reason."""
    error = notice = None
    try:
        body = _macro_in({"code": code, "title_zh": title_zh, "title_en": title_en, "body_zh": body_zh,
                          "body_en": body_en})
        do_create_macro(rt, **body.model_dump(), actor=web_actor(staff), now=rt.clock.now())
        notice = Translator(ui_language(request))(N_("wo.done.macro"), code=body.code)
    except CareDeskError as exc:
        error = refusal(request, exc)
    with rt.session_factory() as session:
        context = {"macros": macros(session), "error": error, "notice": notice}
        headers = {"HX-Retarget": "#wo-notice", "HX-Reswap": "innerHTML"} if error else None
        template = "_wo_notice.html" if error else "_wo_macro_list.html"
        return render(request, template, context, staff=staff, status=400 if error else 200, headers=headers)
