"""The work-order page of the agent workbench: details, SLA targets, the timeline, and the htmx actions
(reply with a macro, internal note, status, flow step, transfer, resolve, close, reopen) plus the
collision notice. Reading needs `workorder.read`; every action is an htmx POST that needs
`workorder.change` and calls one `do_*`. A refusal (InvalidInput, Conflict, NotFound, a reply that the
outgoing compliance rules block) comes back as a 400 notice swapped in place (base.html's htmx config
swaps 400s, and only those among errors), never a 500."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from caredesk.accounts.access import work_order_for
from caredesk.bootstrap.runtime import Runtime
from caredesk.channels.livechat.bus import ChatEvent
from caredesk.channels.livechat.sender import chat_bus
from caredesk.channels.livechat.state import CHAT
from caredesk.emergency.confirm import do_confirm_emergency
from caredesk.errors import CareDeskError, InvalidInput
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, audit_read
from caredesk.storage.orm import Staff
from caredesk.web.i18n import N_, Translator
from caredesk.web.knowledge_queries import web_actor
from caredesk.web.rendering import WebRoute, is_htmx, refusal, render, staff_who_may_see, ui_language
from caredesk.web.workorder_queries import OrderView, macro_text, order_view, reply_parts, sla_box
from caredesk.workorders.actions import do_transition, get_work_order
from caredesk.workorders.closure import do_close, do_reopen, do_resolve
from caredesk.workorders.replies import do_add_note, do_reply
from caredesk.workorders.transfers import do_advance_step, do_transfer

__all__ = ["router"]


router = APIRouter(route_class=WebRoute)
Reader = Annotated[Staff, staff_who_may_see("workorder.read", work_order_for, "order_id")]
Changer = Annotated[Staff, staff_who_may_see("workorder.change", work_order_for, "order_id")]
Supervisor = Annotated[Staff, staff_who_may_see("workorder.supervise", work_order_for, "order_id")]
_BASE = "/workbench/work-orders/{order_id}"
_NOTICE_TARGET = {"HX-Retarget": "#wo-notice", "HX-Reswap": "innerHTML"}
Text = Annotated[str, Form(max_length=20_000)]


def _view(rt: Runtime, session: Any, order_id: str, staff: Staff) -> OrderView:
    return order_view(session, order_id, staff, flows=rt.flows, config=rt.sla, now=rt.clock.now())


@router.get(_BASE, response_class=HTMLResponse)
def work_order_page(order_id: str, request: Request, rt: RuntimeDep, session: SessionDep, staff: Reader
                    ) -> HTMLResponse:
    """The whole page, or (htmx) the panel alone; a read of the order, audited."""
    audit_read(rt, Caller.of_staff(staff), "work_order", order_id, via="web")
    context = {"view": _view(rt, session, order_id, staff), "notice": None}
    template = "_wo_panel.html" if is_htmx(request) else "wo_order.html"
    return render(request, template, context, staff=staff, headers={"Vary": "HX-Request"})


@router.get("/work-orders/{order_id}", response_class=RedirectResponse)
def order_link(order_id: str) -> RedirectResponse:
    """The short link in SLA e-mails and in-app notices (`{base_url}/work-orders/<id>`) opens the page."""
    return RedirectResponse(f"/workbench/work-orders/{order_id}", status_code=303)


@router.get(_BASE + "/sla", response_class=HTMLResponse)
def sla_fragment(order_id: str, request: Request, rt: RuntimeDep, session: SessionDep, staff: Reader
                 ) -> HTMLResponse:
    """The SLA box alone, for its own refresh every minute (the forms around it keep what is typed)."""
    box = sla_box(session, order_id, config=rt.sla, now=rt.clock.now())
    return render(request, "_wo_sla.html", {"view": box}, staff=staff)


def _act(request: Request, rt: Runtime, staff: Staff, order_id: str, action: Callable[[], object],
         done: str) -> HTMLResponse:
    """Run one action; answer with the refreshed panel and a notice, or the refusal in place."""
    try:
        action()
    except CareDeskError as exc:  # InvalidInput, Conflict, NotFound, a reply the compliance rules block
        return render(request, "_wo_notice.html", {"error": refusal(request, exc), "notice": None}, status=400,
                      staff=staff, headers=_NOTICE_TARGET | {"X-CareDesk-Error": exc.code})
    t = Translator(ui_language(request))
    with rt.session_factory() as session:  # the action committed through its own unit of work
        context = {"view": _view(rt, session, order_id, staff), "notice": t(done)}
        return render(request, "_wo_panel.html", context, staff=staff)


def _required(value: str, field: str, message: str) -> str:
    if not value.strip():
        raise InvalidInput(message, field=field)
    return value


@router.post(_BASE + "/reply", response_class=HTMLResponse)
def reply(order_id: str, request: Request, rt: RuntimeDep, session: SessionDep, staff: Changer,
          text: Text = "", macro: Annotated[str, Form(max_length=64)] = "") -> HTMLResponse:
    def send() -> None:
        body, code = reply_parts(session, order_id, text, macro)
        do_reply(rt, order_id, text=body, macro=code, actor=web_actor(staff), now=rt.clock.now())

    return _act(request, rt, staff, order_id, send, N_("wo.done.reply"))


@router.get(_BASE + "/macro", response_class=HTMLResponse)
def macro_fill(order_id: str, request: Request, session: SessionDep, staff: Changer,
               macro: Annotated[str, Query(max_length=64)] = "") -> HTMLResponse:
    """The reply box filled with the chosen macro (the macro picker swaps it in)."""
    return render(request, "_wo_reply_text.html", {"text": macro_text(session, order_id, macro)}, staff=staff)


@router.post(_BASE + "/note", response_class=HTMLResponse)
def note(order_id: str, request: Request, rt: RuntimeDep, staff: Changer, text: Text = "") -> HTMLResponse:
    return _act(request, rt, staff, order_id, lambda: do_add_note(
        rt, order_id, text=text, actor=web_actor(staff), now=rt.clock.now()), N_("wo.done.note"))


@router.post(_BASE + "/status", response_class=HTMLResponse)
def change_status(order_id: str, request: Request, rt: RuntimeDep, staff: Changer,
                  status: Annotated[str, Form(max_length=32)] = "", note: Text = "") -> HTMLResponse:
    return _act(request, rt, staff, order_id, lambda: do_transition(
        rt.uow(), order_id, _required(status, "status", "choose a status"), actor=web_actor(staff),
        now=rt.clock.now(), note=note.strip()[:2000]), N_("wo.done.status"))


async def _step_fields(request: Request) -> dict[str, str]:
    """The step form's `field:<name>` inputs (the names come from the flow, so they are not declared)."""
    form = await request.form()
    return {k[6:]: str(v)[:2000] for k, v in form.items() if k.startswith("field:") and len(k) <= 70}


@router.post(_BASE + "/step", response_class=HTMLResponse)
def advance_step(order_id: str, request: Request, rt: RuntimeDep, staff: Changer,
                 fields: Annotated[dict[str, str], Depends(_step_fields)],
                 step: Annotated[str, Form(max_length=64)] = "") -> HTMLResponse:
    return _act(request, rt, staff, order_id, lambda: do_advance_step(
        rt, order_id, step=_required(step, "step", "choose the next step"), fields=fields,
        actor=web_actor(staff), now=rt.clock.now()), N_("wo.done.step"))


@router.post(_BASE + "/transfer", response_class=HTMLResponse)
def transfer(order_id: str, request: Request, rt: RuntimeDep, staff: Changer,
             department: Annotated[str, Form(max_length=64)] = "",
             reason: Annotated[str, Form(max_length=2000)] = "") -> HTMLResponse:
    return _act(request, rt, staff, order_id, lambda: do_transfer(
        rt, order_id, department=_required(department, "department", "choose a department"), reason=reason,
        actor=web_actor(staff), now=rt.clock.now()), N_("wo.done.transfer"))


@router.post(_BASE + "/resolve", response_class=HTMLResponse)
def resolve(order_id: str, request: Request, rt: RuntimeDep, staff: Changer, resolution: Text = ""
            ) -> HTMLResponse:
    return _act(request, rt, staff, order_id, lambda: do_resolve(
        rt, order_id, resolution=resolution, actor=web_actor(staff), now=rt.clock.now()), N_("wo.done.resolve"))


@router.post(_BASE + "/close", response_class=HTMLResponse)
def close(order_id: str, request: Request, rt: RuntimeDep, staff: Changer) -> HTMLResponse:
    return _act(request, rt, staff, order_id, lambda: do_close(
        rt, order_id, actor=web_actor(staff), now=rt.clock.now()), N_("wo.done.close"))


@router.post(_BASE + "/reopen", response_class=HTMLResponse)
def reopen(order_id: str, request: Request, rt: RuntimeDep, staff: Changer,
           reason: Annotated[str, Form(max_length=2000)] = "") -> HTMLResponse:
    return _act(request, rt, staff, order_id, lambda: do_reopen(
        rt, order_id, reason=_required(reason, "reason", "a reopen needs a reason").strip(),
        actor=web_actor(staff), now=rt.clock.now()), N_("wo.done.reopen"))


@router.post(_BASE + "/emergency", response_class=HTMLResponse)
def confirm_emergency(order_id: str, request: Request, rt: RuntimeDep, staff: Supervisor,
                      reason: Text = "") -> HTMLResponse:
    """One click: the lead starts the emergency response the gate held back."""
    return _act(request, rt, staff, order_id, lambda: do_confirm_emergency(
        rt.uow, rt.emergency, order_id, reason=reason, actor=web_actor(staff), now=rt.clock.now()),
        N_("wo.done.emergency"))


@router.post(_BASE + "/viewers", response_class=HTMLResponse)
def viewers(order_id: str, request: Request, rt: RuntimeDep, session: SessionDep, staff: Reader
            ) -> HTMLResponse:
    """The collision notice: the page announces its viewer every 20 s and shows who else has it open."""
    order = get_work_order(session, order_id)
    others = rt.presence.touch(order_id, staff.id, staff.display_name)
    bus = chat_bus(rt.channels)
    if bus is not None and order.channel == CHAT and order.conversation_id:
        with contextlib.suppress(OSError):  # the customer's chat hears that an agent has the case open
            bus.publish(order.conversation_id, ChatEvent("viewing"))
    return render(request, "_wo_viewers.html", {"others": others}, staff=staff)
