"""A meeting participant's join notice statuses (e-mail and in-app) and allowed moves: the queue retries a
failed e-mail until it is sent; a sent notice is never sent again. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from caredesk.moves import check_move

__all__ = ["NOTICE_MOVES", "NoticeStatus", "check_notice_move"]


class NoticeStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


NOTICE_MOVES: Mapping[NoticeStatus, frozenset[NoticeStatus]] = MappingProxyType({
    NoticeStatus.PENDING: frozenset({NoticeStatus.SENT, NoticeStatus.FAILED}),
    NoticeStatus.FAILED: frozenset({NoticeStatus.SENT, NoticeStatus.FAILED}),  # a retry may fail again
    NoticeStatus.SENT: frozenset(),
})


def check_notice_move(current: str, new: NoticeStatus) -> NoticeStatus:
    return check_move(NOTICE_MOVES, current, new, noun="join notice")
