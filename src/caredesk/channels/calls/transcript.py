"""A call's transcript as CareDesk takes it in, and the customer's side as one message, pure.

The customer's turns are triaged together (one message: a caller states the problem over several turns, and
one decision per call is what the agent acts on); the agent's turns are stored as agent messages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from caredesk.channels.calls.speech import Segment

__all__ = ["CallTranscript", "CustomerSide", "customer_side", "ended_at"]


@dataclass(frozen=True)
class CallTranscript:
    call_id: str
    customer_ref: str | None
    caller: str | None  # the caller's number, normalised
    started_at: datetime
    recording_ref: str | None
    segments: tuple[Segment, ...]  # empty: the speech engine transcribes the recording
    language: str | None


@dataclass(frozen=True)
class CustomerSide:
    text: str
    turns: int
    truncated: bool  # longer than a message may be: the later turns were left out of the message


def customer_side(segments: tuple[Segment, ...], max_chars: int) -> CustomerSide | None:
    """The customer's turns in time order, one per line, cut at a turn boundary to `max_chars` (the opening
    turns state the problem; the agent's own record is in the agent turns). None: the customer said nothing."""
    turns = [s.text.strip() for s in sorted(segments, key=lambda s: (s.start_ms, s.end_ms))
             if s.speaker == "customer" and s.text.strip()]
    if not turns:
        return None
    kept: list[str] = []
    size = 0
    for turn in turns:
        extra = len(turn) + (1 if kept else 0)
        if size + extra > max_chars:
            if not kept:
                kept.append(turn[:max_chars])
            break
        kept.append(turn)
        size += extra
    return CustomerSide("\n".join(kept), len(turns), len(kept) < len(turns) or kept[-1] != turns[len(kept) - 1])


def ended_at(call: CallTranscript) -> datetime:
    last = max((s.end_ms for s in call.segments), default=0)
    return call.started_at + timedelta(milliseconds=last)
