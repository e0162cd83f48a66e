"""E-mails taken in: the headers a conversation is threaded by (Message-ID, In-Reply-To, References), the
subject replies quote, and the attachments kept (channels/mail)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.compliance.crypto import EncryptedText
from caredesk.storage.orm.base import Base, created_column, id_column


class MailMessage(Base):
    """One inbound e-mail, beside the conversation message it became. `header_id` is its Message-ID (a later
    mail names it in In-Reply-To / References); the subject is the customer's words: encrypted at rest.
    `attachments`: [{filename, content_type, size, sha256, stored, refused}]; `notes`: how the text was read
    (a charset that was guessed or replaced)."""

    __tablename__ = "mail_message"
    id: Mapped[str] = id_column()
    message_id: Mapped[str] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), unique=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    account: Mapped[str] = mapped_column(String(64), default="")  # the mailbox it came to ("" : the one)
    header_id: Mapped[str] = mapped_column(String(255), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(255))
    reference_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    subject: Mapped[str] = mapped_column(EncryptedText())
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = created_column()


__all__ = ["MailMessage"]
