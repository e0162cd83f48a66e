"""Customer channels: who a customer is on an outside channel (a WeChat openid, an e-mail address, a phone
number), each message that has to reach them there, and the provider message ids already taken in (providers
retry, so the same message arrives more than once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from caredesk.compliance.crypto import EncryptedText
from caredesk.storage.orm.base import Base, UTCDateTime, created_column, id_column


class ChannelContact(Base):
    """A customer's address on one channel account: (channel, account, address). The address is personal
    data: encrypted, found by its keyed hash. `opted_out_at`: the customer asked for no more messages there
    (SMS "TD" / "STOP"); nothing proactive is sent to an opted-out contact."""

    __tablename__ = "channel_contact"
    __table_args__ = (UniqueConstraint("channel", "account", "address_hash", name="uq_channel_contact_address"),)
    id: Mapped[str] = id_column()
    channel: Mapped[str] = mapped_column(String(32))  # wechat | wecom | email | sms | phone | chat
    account: Mapped[str] = mapped_column(String(64), default="")  # the OA / WeCom account name; "" if one
    address: Mapped[str] = mapped_column(EncryptedText())  # openid, e-mail address, phone number
    address_hash: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_column()


class MessageDelivery(Base):
    """One outgoing message to send to the customer on their channel (a bot or staff reply, a proactive
    notice, a survey), claimed and sent by a queued task (channels/delivery.py). `external_id` is the
    provider's id, which its delivery receipts name."""

    __tablename__ = "message_delivery"
    __table_args__ = (Index("ix_message_delivery_external", "channel", "external_id"),)
    id: Mapped[str] = id_column()
    message_id: Mapped[str] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), unique=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # reply | notice | survey
    # pending -> sent -> delivered | failed (a receipt) ; given_up (attempts spent); skipped (opted out, no address)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    external_id: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_column()
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class InboundKey(Base):
    """A provider's message id taken in once (WeChat MsgId, an e-mail's Message-ID, an SMS id): a retry of
    the same message finds its key and is acknowledged without a second conversation message."""

    __tablename__ = "channel_inbound_key"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_channel_inbound_key_channel"),)
    id: Mapped[str] = id_column()
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(255))
    message_id: Mapped[str | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_column()


__all__ = ["ChannelContact", "InboundKey", "MessageDelivery"]
