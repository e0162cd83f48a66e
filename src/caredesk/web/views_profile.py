"""The customer profile panel on the conversation and work-order pages (loaded by htmx after the page, so the
page never waits on it): scoped like the customer (404 outside the staff member's branch), masked, counted and
audited as a record read. Counted even though the page that loads it counted one too: the fragment is a door
of its own (a header makes any request look like htmx's), and two counts per page stay far below the hourly
freeze threshold (2,000 by default). Without HX-Request the same handler answers a whole page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from caredesk.accounts.access import customer_for
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, audit_read, note_record_read
from caredesk.profiles.queries import profile_view
from caredesk.profiles.source_status import request_refresh
from caredesk.storage.orm import Staff
from caredesk.web.rendering import WebRoute, is_htmx, render, staff_who_may, ui_language

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)
Reader = Annotated[Staff, staff_who_may("conversation.read")]


@router.get("/workbench/customers/{customer_id}/profile", response_class=HTMLResponse)
def customer_profile(customer_id: str, request: Request, rt: RuntimeDep, session: SessionDep,
                     staff: Reader) -> HTMLResponse:
    caller = Caller.of_staff(staff)
    note_record_read(rt, caller)
    customer = customer_for(session, caller, customer_id)
    now = rt.clock.now()
    request_refresh(session, rt.queue, customer.id, now=now)
    view = profile_view(session, customer, knowledge=rt.knowledge_index(), language=ui_language(request),
                        now=now)
    audit_read(rt, caller, "customer_profile", customer.id, via="web")
    template = "_profile_panel.html" if is_htmx(request) else "customer_profile.html"
    return render(request, template, {"p": view, "ref": customer.ref}, staff=staff)
