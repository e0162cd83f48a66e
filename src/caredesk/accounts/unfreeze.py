"""Lifting a freeze: an administrator reactivates a staff member whose account was frozen (an unusual sign-in,
bulk record reads) once they have checked with that person, and the place whose sign-in froze it becomes a
known place, so that the next sign-in from there is let through. Audited with the administrator's reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from caredesk.compliance.audit import record_audit
from caredesk.errors import Conflict, InvalidInput, NotFound
from caredesk.storage.orm import Staff, StaffLoginPlace
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["Unfrozen", "do_unfreeze_staff"]


@dataclass(frozen=True)
class Unfrozen:
    staff_id: str
    username: str
    trusted_places: tuple[str, ...]  # networks now known for the account


def do_unfreeze_staff(uow: UnitOfWork, staff_id: str, *, reason: str, actor: str, now: datetime) -> Unfrozen:
    """Conflict when the staff member is active (nothing to lift): an unfreeze is a decision, not a no-op."""
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise InvalidInput("reason must be 1-500 characters", field="reason")
    with uow:
        s = uow.session
        staff = s.scalar(select(Staff).where(Staff.id == staff_id).with_for_update())
        if staff is None:
            raise NotFound("no such staff member")
        if staff.active:
            raise Conflict("this staff member is not frozen")
        held = list(s.scalars(select(StaffLoginPlace).where(StaffLoginPlace.staff_id == staff_id,
                                                            StaffLoginPlace.status == "held")
                              .order_by(StaffLoginPlace.network)))
        for place in held:
            place.status = "known"
        staff.active = True
        result = Unfrozen(staff.id, staff.username, tuple(p.network for p in held))
        record_audit(s, actor=actor, action="account.unfrozen", object_type="staff", object_id=staff_id,
                     data={"reason": reason, "trusted_places": list(result.trusted_places)}, now=now)
        uow.commit()
    return result
