"""What a customer's follow-up in a conversation does to the conversation's latest work order. Pure.

It joins an open or paused order's timeline; it reopens a resolved order, and a closed one (not merged into
another) when the message says the problem is not solved; otherwise a new order is opened."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["FollowUp", "follow_up_of", "says_not_solved"]


class FollowUp(StrEnum):
    JOIN = "join"  # the message joins the order's timeline
    REOPEN = "reopen"  # joins it and reopens it
    NEW = "new"  # a new order


_NOT_SOLVED = ("没解决", "没有解决", "未解决", "还是不行", "还是没", "仍然没", "依然没", "问题还在", "不满意",
               "not solved", "not resolved", "still not", "still doesn't", "still does not", "didn't help",
               "did not help", "not fixed", "still broken", "still having")


def says_not_solved(text: str) -> bool:
    """Whether a customer's message after closure says the problem is not solved (then the order reopens)."""
    lowered = text.lower()
    return any(phrase in lowered for phrase in _NOT_SOLVED)


def follow_up_of(status_category: str | None, *, merged: bool, text: str) -> FollowUp:
    """The latest order's status category (None: the conversation has none), whether it was merged into
    another, and the customer's (masked) message."""
    if status_category in ("open", "paused"):
        return FollowUp.JOIN
    if status_category == "resolved" or (status_category == "closed" and not merged and says_not_solved(text)):
        return FollowUp.REOPEN
    return FollowUp.NEW
