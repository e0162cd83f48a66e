"""Knowledge entries and their immutable versions; every bot answer names the version it came from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.storage.orm.base import Base, UTCDateTime, created_column, id_column


class KnowledgeEntry(Base):
    """The current state of an FAQ entry (a copy of its latest version, for fast reads)."""

    __tablename__ = "knowledge_entry"
    id: Mapped[str] = id_column()
    key: Mapped[str] = mapped_column(String(128), unique=True)
    language: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(128), default="")
    content_type: Mapped[str] = mapped_column(String(32), index=True)
    problem_type: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="published")
    version: Mapped[int] = mapped_column(Integer, default=1)
    question: Mapped[str] = mapped_column(Text)
    similar_questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    answer_variants: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # channel -> answer text
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    # Sentence embeddings of the entry's questions (float16, questions x dims), computed when saved, so that
    # loading a large index does not re-encode every question.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = created_column()


class KnowledgeVersion(Base):
    """One saved version of an entry; never changed after it is written."""

    __tablename__ = "knowledge_version"
    __table_args__ = (UniqueConstraint("entry_id", "version", name="uq_knowledge_version_entry_version"),)
    id: Mapped[str] = id_column()
    entry_id: Mapped[str] = mapped_column(ForeignKey("knowledge_entry.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(128), default="")
    content_type: Mapped[str] = mapped_column(String(32))
    problem_type: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(Text)
    similar_questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    answer: Mapped[str] = mapped_column(Text)
    answer_variants: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # channel -> answer text
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    author: Mapped[str] = mapped_column(String(100), default="system")
    created_at: Mapped[datetime] = created_column()


class KnowledgeSuggestion(Base):
    """A suggested new entry, or new similar questions for an entry, from clustered unanswered questions."""

    __tablename__ = "knowledge_suggestion"
    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(32))  # new_entry | similar_questions
    entry_id: Mapped[str | None] = mapped_column(ForeignKey("knowledge_entry.id"))
    language: Mapped[str] = mapped_column(String(8))
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    message_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | accepted | dismissed
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = created_column()
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100))
