"""What the knowledge API accepts and returns. Input models forbid unknown fields; outputs are built from
rows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BeforeValidator, Field, model_validator

from caredesk.api.schemas import NOT_BLANK, StrictModel
from caredesk.knowledge.model import EntryDraft, normalise_category
from caredesk.storage.orm import KnowledgeEntry, KnowledgeSuggestion, KnowledgeVersion

__all__ = [
    "AcceptSuggestionIn",
    "DismissIn",
    "KnowledgeIn",
    "KnowledgeUpdate",
    "RejectIn",
    "RollbackIn",
    "knowledge_out",
    "suggestion_out",
    "version_out",
]

Channel = Literal["web", "chat", "app", "email", "wechat", "sms", "phone", "api"]
Status = Literal["draft", "review", "published", "archived"]
ContentTypeIn = Literal["system", "business", "branch", "external_partner"]
ProblemTypeIn = Literal["consultation", "complaint", "suggestion"]
# `pattern` \S: not only whitespace, as knowledge.model.check_entry enforces (a 400 `invalid_input`)
_NOT_BLANK: dict[str, Any] = {"pattern": NOT_BLANK}
QuestionText = Annotated[str, Field(min_length=1, max_length=2000, json_schema_extra=_NOT_BLANK)]
AnswerText = Annotated[str, Field(min_length=1, max_length=20_000, json_schema_extra=_NOT_BLANK)]


def _date_time_text(value: Any) -> Any:
    """A date-time string, as the schema says (pydantic alone also takes a number of seconds)."""
    if not isinstance(value, str | datetime):
        raise ValueError("expected a date-time string such as 2026-12-01T09:00:00+08:00")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_date_time_text)]


class _Validity(StrictModel):
    @model_validator(mode="after")
    def _from_before_until(self) -> _Validity:
        start, end = getattr(self, "valid_from", None), getattr(self, "valid_until", None)
        if start is not None and end is not None and start >= end:
            raise ValueError("valid_from must be before valid_until")
        return self


class KnowledgeIn(_Validity):
    key: str = Field(min_length=1, max_length=128, json_schema_extra=_NOT_BLANK)
    language: Literal["zh", "en"]
    question: QuestionText
    answer: AnswerText
    content_type: ContentTypeIn
    problem_type: ProblemTypeIn = "consultation"
    category: str = Field(default="", max_length=128, description="a path such as cards/credit")
    similar_questions: list[QuestionText] = Field(default_factory=list, max_length=50)
    answer_variants: dict[Channel, AnswerText] = Field(default_factory=dict)
    valid_from: Instant | None = None
    valid_until: Instant | None = None
    owner: str | None = Field(default=None, max_length=64, description="staff username or id")
    status: Status | None = Field(
        default=None, description="default: published for admins, draft for editors"
    )

    def draft(self) -> EntryDraft:
        return EntryDraft(
            key=self.key,
            language=self.language,
            question=self.question,
            answer=self.answer,
            content_type=self.content_type,
            problem_type=self.problem_type,
            category=normalise_category(self.category),
            similar_questions=tuple(self.similar_questions),
            status=self.status or "",
            answer_variants={channel: text for channel, text in self.answer_variants.items()},  # as dict[str, str]
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            owner=self.owner,
        )


class KnowledgeUpdate(_Validity):
    """Only the fields given change; `null` clears valid_from, valid_until and owner."""

    language: Literal["zh", "en"] | None = None
    question: QuestionText | None = None
    answer: AnswerText | None = None
    content_type: ContentTypeIn | None = None
    problem_type: ProblemTypeIn | None = None
    category: str | None = Field(default=None, max_length=128)
    similar_questions: list[QuestionText] | None = Field(default=None, max_length=50)
    answer_variants: dict[Channel, AnswerText] | None = None
    valid_from: Instant | None = None
    valid_until: Instant | None = None
    owner: str | None = Field(default=None, max_length=64)
    status: Status | None = None
    reason: str = Field(default="", max_length=2000, description="why (needed when a status change rejects)")


class RejectIn(StrictModel):
    reason: str = Field(min_length=1, max_length=2000)


class RollbackIn(StrictModel):
    version: int = Field(ge=1)


class AcceptSuggestionIn(StrictModel):
    questions: list[QuestionText] | None = Field(
        default=None, max_length=200, description="the questions to keep (default: all)"
    )
    answer: AnswerText | None = Field(default=None, description="required for a new_entry suggestion")
    key: str | None = Field(default=None, min_length=1, max_length=128)
    category: str = Field(default="", max_length=128)
    content_type: ContentTypeIn | None = None
    problem_type: ProblemTypeIn | None = None


class DismissIn(StrictModel):
    reason: str = Field(default="", max_length=2000)


def knowledge_out(e: KnowledgeEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "key": e.key,
        "language": e.language,
        "category": e.category,
        "content_type": e.content_type,
        "problem_type": e.problem_type,
        "status": e.status,
        "version": e.version,
        "question": e.question,
        "similar_questions": e.similar_questions,
        "answer": e.answer,
        "answer_variants": e.answer_variants or {},
        "valid_from": e.valid_from,
        "valid_until": e.valid_until,
        "owner_id": e.owner_id,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
    }


def version_out(v: KnowledgeVersion, note: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "version": v.version,
        "status": v.status,
        "question": v.question,
        "similar_questions": v.similar_questions,
        "answer": v.answer,
        "answer_variants": v.answer_variants or {},
        "category": v.category,
        "content_type": v.content_type,
        "problem_type": v.problem_type,
        "valid_from": v.valid_from,
        "valid_until": v.valid_until,
        "owner_id": v.owner_id,
        "author": v.author,
        "created_at": v.created_at,
        "note": note or {},
    }


def suggestion_out(s: KnowledgeSuggestion) -> dict[str, Any]:
    return {
        "id": s.id,
        "kind": s.kind,
        "entry_id": s.entry_id,
        "language": s.language,
        "questions": s.questions,
        "message_ids": s.message_ids,
        "size": s.size,
        "status": s.status,
        "details": s.details,
        "created_at": s.created_at,
        "decided_at": s.decided_at,
        "decided_by": s.decided_by,
    }
