"""A meeting participant's join notice statuses (e-mail and in-app) and allowed moves: an e-mail is claimed
(`sending`) before it goes out and recorded after; the queue retries a failed e-mail until it is sent; a claim
whose worker died is taken again when it lapses; a sent notice is never sent again. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from caredesk.moves import check_move

__all__ = ["NOTICE_MOVES", "NoticeStatus", "check_notice_move"]


class NoticeStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker: sent, or being sent, but not yet recorded
    SENT = "sent"
    FAILED = "failed"


NOTICE_MOVES: Mapping[NoticeStatus, frozenset[NoticeStatus]] = MappingProxyType({
    NoticeStatus.PENDING: frozenset({NoticeStatus.SENDING}),
    # a lapsed claim is taken again (its worker died before recording: the e-mail may have gone)
    NoticeStatus.SENDING: frozenset({NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.SENDING}),
    # the queue's retry; or a send recorded after another worker's attempt failed
    NoticeStatus.FAILED: frozenset({NoticeStatus.SENDING, NoticeStatus.SENT}),
    NoticeStatus.SENT: frozenset(),
})


def check_notice_move(current: str, new: NoticeStatus) -> NoticeStatus:
    return check_move(NOTICE_MOVES, current, new, noun="join notice")
