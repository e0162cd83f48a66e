"""Status tables checked one way: each aggregate (alarms, their deliveries, meetings, join notices, incident
records and recorders) keeps its own table of allowed moves beside its status enum; this refuses a move the
table does not list, so a forbidden move reads the same everywhere (409, with the moves that are allowed)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from caredesk.errors import Conflict

__all__ = ["check_move", "terminal_states"]

S = TypeVar("S", bound=StrEnum)


def check_move(moves: Mapping[S, frozenset[S]], current: str, new: S, *, noun: str) -> S:
    """`new` when the table allows `current` -> `new`; else Conflict. `current` is the stored string."""
    try:
        src = type(new)(current)
    except ValueError:
        raise Conflict(f"the {noun} has an unknown status {current!r}", status=current) from None
    allowed = moves[src]
    if new not in allowed:
        raise Conflict(f"the {noun} cannot go from {src} to {new}", status=src.value,
                       allowed=sorted(s.value for s in allowed))
    return new


def terminal_states(moves: Mapping[S, frozenset[S]]) -> frozenset[S]:
    """The statuses with no way out."""
    return frozenset(s for s, targets in moves.items() if not targets)
