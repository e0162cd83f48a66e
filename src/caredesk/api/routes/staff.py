"""Staff accounts: an administrator lifts a freeze (after an unusual sign-in or bulk record reads)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field

from caredesk.accounts.unfreeze import do_unfreeze_staff
from caredesk.api.schemas import NOT_BLANK, StrictModel
from caredesk.http.deps import Caller, RuntimeDep, require

router = APIRouter(tags=["staff"])

Manager = Annotated[Caller, Depends(require("staff.manage"))]


class UnfreezeIn(StrictModel):
    reason: str = Field(min_length=1, max_length=500, description="why it is safe: e.g. confirmed by phone",
                        json_schema_extra={"pattern": NOT_BLANK})  # do_unfreeze_staff refuses a blank one


@router.post("/staff/{staff_id}/unfreeze")
def unfreeze_staff(staff_id: str, body: UnfreezeIn, rt: RuntimeDep, caller: Manager) -> dict[str, Any]:
    """Reactivates the staff member; the place whose sign-in froze the account becomes known."""
    done = do_unfreeze_staff(rt.uow(), staff_id, reason=body.reason, actor=caller.actor, now=rt.clock.now())
    return {"staff_id": done.staff_id, "username": done.username, "active": True,
            "trusted_places": list(done.trusted_places)}
