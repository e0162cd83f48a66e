"""Customers, conversations (sessions), messages and the triage result + decision of each inbound message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from caredesk.compliance.crypto import EncryptedText, current_keyring
from caredesk.compliance.lookup import lookup_hash
from caredesk.storage.orm.base import Base, UTCDateTime, created_column, id_column


class Customer(Base):
    """A customer, known by the reference the channel or CRM gives (`ref`). Name, phone, e-mail, ID number,
    bank card and address are encrypted at rest; phone, e-mail, ID number and bank card are found by their
    keyed hashes (compliance/lookup.py)."""

    __tablename__ = "customer"
    id: Mapped[str] = id_column()
    ref: Mapped[str] = mapped_column(String(128), unique=True)
    name: Mapped[str | None] = mapped_column(EncryptedText())
    phone: Mapped[str | None] = mapped_column(EncryptedText())
    email: Mapped[str | None] = mapped_column(EncryptedText())
    id_number: Mapped[str | None] = mapped_column(EncryptedText())  # resident ID (身份证号)
    bank_card: Mapped[str | None] = mapped_column(EncryptedText())
    address: Mapped[str | None] = mapped_column(EncryptedText())  # postal address; not searchable
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    bank_card_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    tier: Mapped[str] = mapped_column(String(32), default="standard")
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branch.id"))
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = created_column()

    @validates("phone", "email", "id_number", "bank_card")
    def _hash_for_lookup(self, key: str, value: str | None) -> str | None:
        setattr(self, f"{key}_hash", lookup_hash(current_keyring(), key, value))
        return value


# The customer's personal data: every encrypted column (masked in views, shown on a reveal, re-encrypted on
# key rotation, cleared by retention), derived from the model so a new field cannot be missed.
CUSTOMER_PII_FIELDS = tuple(c.name for c in Customer.__table__.columns if isinstance(c.type, EncryptedText))


class Conversation(Base):
    """A session of messages with one customer on one channel."""

    __tablename__ = "conversation"
    __table_args__ = (Index("ix_conversation_status_last", "status", "last_message_at"),
                      Index("ix_conversation_customer_import_ref", "customer_id", "import_ref"))
    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open")
    assigned_staff_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    counted_complaints: Mapped[int] = mapped_column(Integer, default=0)
    # A clarifying question waiting for the customer's choice: {"options": [{"entry_id", "version", ...}], ...}
    pending_clarification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = created_column()
    last_message_at: Mapped[datetime] = created_column()
    # Imported history (`caredesk import messages`): the file's conversation_ref, or `day:<channel>:<date>`.
    import_ref: Mapped[str | None] = mapped_column(String(140))
    # The customer's address on an outside channel (channels/contacts.py): where replies and notices go.
    contact_id: Mapped[str | None] = mapped_column(ForeignKey("channel_contact.id", ondelete="SET NULL"))

    customer: Mapped[Customer] = relationship(lazy="joined", innerjoin=True)


class Message(Base):
    """One message. `text` is what the customer wrote; `text_masked` is safe to show, log and index."""

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_conversation_created", "conversation_id", "created_at"),
                      Index("ix_message_created_at", "created_at"))  # analytics: messages of a period
    id: Mapped[str] = id_column()
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id"))
    direction: Mapped[str] = mapped_column(String(8))  # in | out
    author: Mapped[str] = mapped_column(String(16))  # customer | bot | agent | system
    text: Mapped[str] = mapped_column(EncryptedText())  # as written, PII included: encrypted at rest
    text_masked: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = created_column()
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # a staff reply sent to the customer by mail
    email_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())  # tasks/notice.py
    email_attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Imported history: a hash of (customer_ref, received_at, text), so the same row is never imported twice.
    import_key: Mapped[str | None] = mapped_column(String(64), unique=True)

    triage: Mapped[TriageResult | None] = relationship(back_populates="message", uselist=False, lazy="selectin")


class TriageResult(Base):
    """Labels, confidences, explanation and the decision taken for one inbound message."""

    __tablename__ = "triage_result"
    id: Mapped[str] = id_column()
    message_id: Mapped[str] = mapped_column(ForeignKey("message.id"), unique=True)
    model_version: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    content_type: Mapped[str] = mapped_column(String(32))
    content_type_confidence: Mapped[float] = mapped_column(Float)
    problem_type: Mapped[str] = mapped_column(String(32))
    problem_type_confidence: Mapped[float] = mapped_column(Float)
    urgency: Mapped[str] = mapped_column(String(32))
    urgency_confidence: Mapped[float] = mapped_column(Float)
    emotion: Mapped[str] = mapped_column(String(32))
    complaint_level: Mapped[int] = mapped_column(Integer, default=0)
    complaint_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    topic: Mapped[str | None] = mapped_column(String(48))  # business topic (triage/topics.yaml); None: none applies
    product: Mapped[str | None] = mapped_column(String(48))  # the product the message is about, when it names one
    entities: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decision_kind: Mapped[str] = mapped_column(String(16))
    decision_reason: Mapped[str] = mapped_column(String(500))
    answer_entry_id: Mapped[str | None] = mapped_column(ForeignKey("knowledge_entry.id"))
    answer_version: Mapped[int | None] = mapped_column(Integer)
    answer_score: Mapped[float | None] = mapped_column(Float)
    work_order_id: Mapped[str | None] = mapped_column(ForeignKey("work_order.id"))
    meeting_id: Mapped[str | None] = mapped_column(ForeignKey("emergency_meeting.id"))
    created_at: Mapped[datetime] = created_column()

    message: Mapped[Message] = relationship(back_populates="triage")


__all__ = ["Conversation", "Customer", "Message", "TriageResult"]
