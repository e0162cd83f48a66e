"""A provider's message id taken once, inside the transaction of the message it brings: a retry that arrives
while the first is being processed waits on the unique key and is then told `AlreadyTaken` (PostgreSQL's
unique index holds its insert; SQLite has one writer), so it never makes a second message."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caredesk.intake.actions import IntakeOutcome
from caredesk.storage.orm import InboundKey

__all__ = ["AlreadyTaken", "InboundClaim", "taken"]


class AlreadyTaken(Exception):
    """Raised inside the transaction (which rolls back): the provider's id was taken in before."""


def taken(session: Session, channel: str, external_id: str) -> InboundKey | None:
    return session.scalar(select(InboundKey).where(InboundKey.channel == channel,
                                                   InboundKey.external_id == external_id))


@dataclass
class InboundClaim:
    """intake's `MessageClaim` for a provider's message id; usable on its own in a channel's transaction."""

    channel: str
    external_id: str
    row: InboundKey | None = field(default=None, repr=False)

    def take(self, session: Session, *, now: datetime) -> None:
        row = InboundKey(channel=self.channel, external_id=self.external_id, created_at=now)
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            raise AlreadyTaken(self.external_id) from None
        self.row = row

    def keep(self, result: IntakeOutcome) -> None:
        self.keep_message(result.message_id)

    def keep_message(self, message_id: str) -> None:
        if self.row is None:
            raise RuntimeError("InboundClaim.keep before take")
        self.row.message_id = message_id
