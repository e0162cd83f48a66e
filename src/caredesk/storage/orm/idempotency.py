"""Answers kept for requests made with an Idempotency-Key, so that a client's retry replays the first answer
instead of doing the work again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.compliance.crypto import EncryptedText
from caredesk.storage.orm.base import Base, UTCDateTime, id_column


class IdempotencyRecord(Base):
    """One caller's key and the answer it got. Written in the transaction of the work it answers for, so a
    committed row always has its `status` and `body` (they are empty only inside that transaction) and a
    rolled-back request leaves none. The unique (scope, key) decides between concurrent requests. `body` is
    the JSON answer, which may quote what the customer wrote: encrypted at rest like the message itself."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_key_scope_key"),
                      Index("ix_idempotency_key_created_at", "created_at"))
    id: Mapped[str] = id_column()
    scope: Mapped[str] = mapped_column(String(80))  # the caller: api_key:<id> or staff:<id>
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the request body as canonical JSON
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(EncryptedText())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
