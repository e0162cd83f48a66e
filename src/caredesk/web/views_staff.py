"""Frozen staff accounts, for administrators: who was frozen, why (the freeze's audit entry), and the form to
lift it with a reason. The alert every administrator gets links here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.accounts.abuse import FROZEN_ACCOUNTS_PAGE
from caredesk.accounts.unfreeze import do_unfreeze_staff
from caredesk.errors import CareDeskError
from caredesk.http.deps import RuntimeDep, SessionDep
from caredesk.storage.orm import AuditEntry, Staff
from caredesk.web.knowledge_queries import web_actor
from caredesk.web.rendering import WebRoute, refusal, render, staff_who_may

__all__ = ["router"]

router = APIRouter(route_class=WebRoute)
Admin = Annotated[Staff, staff_who_may("staff.manage")]


@dataclass(frozen=True)
class FrozenRow:
    staff: Staff
    frozen_at: datetime | None
    reason: str


def frozen_accounts(session: Session) -> list[FrozenRow]:
    """Inactive staff members, each with the reason of their latest freeze (none: deactivated by hand)."""
    people = list(session.scalars(select(Staff).where(Staff.active.is_(False)).order_by(Staff.username)))
    latest: dict[str, AuditEntry] = {}
    if people:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "account.frozen",
                                                           AuditEntry.object_type == "staff",
                                                           AuditEntry.object_id.in_([p.id for p in people]))
                                  .order_by(AuditEntry.id))
        latest = {e.object_id: e for e in entries}
    return [FrozenRow(p, latest[p.id].at if p.id in latest else None,
                      str(latest[p.id].data.get("reason", "")) if p.id in latest else "") for p in people]


@router.get(FROZEN_ACCOUNTS_PAGE, response_class=HTMLResponse)
def frozen_page(request: Request, session: SessionDep, staff: Admin, done: str = "") -> HTMLResponse:
    return render(request, "staff_frozen.html", {"rows": frozen_accounts(session), "done": done[:64],
                                                 "error": None}, staff=staff)


@router.post("/workbench/staff/{staff_id}/unfreeze")
def unfreeze(staff_id: str, request: Request, rt: RuntimeDep, staff: Admin,
             reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Back to the list with a notice; a refusal (no reason, not frozen) is shown on the list."""
    try:
        done = do_unfreeze_staff(rt.uow(), staff_id, reason=reason, actor=web_actor(staff), now=rt.clock.now())
    except CareDeskError as exc:
        with rt.session_factory() as session:
            return render(request, "staff_frozen.html", {"rows": frozen_accounts(session), "done": "",
                                                         "error": refusal(request, exc)}, staff=staff, status=400)
    return RedirectResponse(f"{FROZEN_ACCOUNTS_PAGE}?done={done.username}", status_code=303)
