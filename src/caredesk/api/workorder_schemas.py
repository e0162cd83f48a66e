"""Request bodies and response shapes of the work-order API beyond list/detail (api/schemas.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from caredesk.api.schemas import StrictModel
from caredesk.sla.policy import SlaStatus
from caredesk.storage.orm import CallbackTask, Macro, SatisfactionSurvey
from caredesk.workorders.macro_fields import MacroFields

__all__ = [
    "AssignIn", "AwayIn", "LinkIn", "MacroIn", "MergeIn", "NoteIn", "ReasonIn", "ReplyIn", "ResolveIn", "SplitIn",
    "StepIn", "SurveyIn", "TransferIn", "callback_out", "macro_out", "sla_out", "survey_out",
]

_ID = Field(min_length=1, max_length=64)


class AssignIn(StrictModel):
    staff_id: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="null: route again by the group's strategy")


class TransferIn(StrictModel):
    department: str = Field(min_length=1, max_length=64, description="department code")
    reason: str = Field(min_length=1, max_length=2000)


class StepIn(StrictModel):
    step: str = Field(min_length=1, max_length=64)
    fields: dict[str, str] = Field(default_factory=dict, max_length=50)


class ReplyIn(StrictModel):
    text: str = Field(default="", max_length=20_000)
    macro: str | None = Field(default=None, min_length=1, max_length=64)


class NoteIn(StrictModel):
    text: str = Field(min_length=1, max_length=20_000)


class ResolveIn(StrictModel):
    resolution: str = Field(min_length=1, max_length=20_000)


class ReasonIn(StrictModel):
    reason: str = Field(min_length=1, max_length=2000)


class MergeIn(StrictModel):
    into: str = _ID


class SplitIn(StrictModel):
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=10_000)


class LinkIn(StrictModel):
    other_id: str = _ID


class SurveyIn(StrictModel):
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class AwayIn(StrictModel):
    away: bool


class MacroIn(MacroFields):
    """Body of POST /api/v1/macros."""


def sla_out(policy: str | None, statuses: list[SlaStatus]) -> dict[str, Any]:
    return {"policy": policy, "targets": [
        {"target": s.target.value, "state": s.state.value, "target_minutes": s.target_minutes,
         "used_minutes": round(s.used_minutes, 2), "share_used": round(s.share_used, 4), "due_at": s.due_at,
         "warn_at": s.warn_at} for s in statuses]}


def survey_out(s: SatisfactionSurvey) -> dict[str, Any]:
    return {"work_order_id": s.work_order_id, "channel": s.channel, "sent_at": s.sent_at, "rating": s.rating,
            "comment": s.comment, "answered_at": s.answered_at}


def callback_out(c: CallbackTask) -> dict[str, Any]:
    return {"id": c.id, "work_order_id": c.work_order_id, "assignee_id": c.assignee_id, "due_at": c.due_at,
            "status": c.status, "note": c.note, "created_at": c.created_at, "done_at": c.done_at}


def macro_out(m: Macro) -> dict[str, Any]:
    return {"id": m.id, "code": m.code, "title_zh": m.title_zh, "title_en": m.title_en, "body_zh": m.body_zh,
            "body_en": m.body_en}
