"""Nobody free never means nobody responsible. Pure rules for the hand-off to the lead on duty: whether an
order is high-risk (a complaint at level 3 or above, an alarmed conversation, an emergency), who is on duty
by the rota at a given time, and who leads when the rota names nobody present (any active team lead, then
the complaint manager). The caller loads the state and passes the clock's time in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = ["HIGH_RISK_LEVEL", "LeadCandidate", "LeadChoice", "RiskSignals", "Shift", "choose_lead", "high_risk",
           "on_duty", "risk_words"]

HIGH_RISK_LEVEL = 3  # regulator, media, lawsuit; 4 is safety (triage/labels.py ComplaintLevel)


@dataclass(frozen=True)
class RiskSignals:
    complaint_level: int  # the highest complaint level in the order's conversation
    alarmed: bool  # the conversation has an alarm that is not resolved
    emergency: bool  # urgent, or the conversation has an emergency meeting


def high_risk(signals: RiskSignals) -> tuple[str, ...]:
    """Why the order may not wait for an agent (empty: it may): `complaint_level:N`, `alarm`, `emergency`."""
    reasons: list[str] = []
    if signals.complaint_level >= HIGH_RISK_LEVEL:
        reasons.append(f"complaint_level:{signals.complaint_level}")
    if signals.alarmed:
        reasons.append("alarm")
    if signals.emergency:
        reasons.append("emergency")
    return tuple(reasons)


_WORDS = {"alarm": "the conversation has an open alarm", "emergency": "it is an emergency"}


def risk_words(reasons: Iterable[str]) -> str:
    """The reasons in words, for the timeline note, the notice and the e-mail."""
    out = []
    for reason in reasons:
        kind, _, level = reason.partition(":")
        out.append(f"a complaint at level {level} (regulator, media, lawsuit or safety)" if kind == "complaint_level"
                   else _WORDS.get(reason, reason))
    return "; ".join(out)


@dataclass(frozen=True)
class Shift:
    staff_id: str
    weekdays: frozenset[int]  # 0 Monday .. 6 Sunday: the day the shift starts
    starts: time
    ends: time  # at or before `starts`: the shift ends the next day (starts == ends: 24 hours)
    timezone: ZoneInfo

    def covers(self, now: datetime) -> bool:
        local = now.astimezone(self.timezone)
        at, day = local.time().replace(tzinfo=None), local.weekday()
        if self.starts < self.ends:
            return day in self.weekdays and self.starts <= at < self.ends
        yesterday = (local - timedelta(days=1)).weekday()
        return (day in self.weekdays and at >= self.starts) or (yesterday in self.weekdays and at < self.ends)


def on_duty(shifts: Sequence[Shift], now: datetime) -> list[str]:
    """The staff whose shift covers `now`, in rota order, each once."""
    seen: list[str] = []
    for shift in shifts:
        if shift.covers(now) and shift.staff_id not in seen:
            seen.append(shift.staff_id)
    return seen


@dataclass(frozen=True)
class LeadCandidate:
    staff_id: str
    username: str
    role: str
    department_id: str | None
    away: bool = False


@dataclass(frozen=True)
class LeadChoice:
    staff_id: str
    by: str  # rota | team_lead | complaint_manager: how they were found, for the timeline


def choose_lead(rota: Sequence[str], candidates: Sequence[LeadCandidate], department_id: str | None
                ) -> LeadChoice | None:
    """The first active person on duty by the rota (one who is present before one who is away); without one,
    a team lead (of the order's department first, present first), then a complaint manager. Candidates are
    the active staff with one of those roles, or on the rota."""
    by_id = {c.staff_id: c for c in candidates}
    listed = [by_id[s] for s in rota if s in by_id]
    if listed:
        chosen = min(listed, key=lambda c: c.away)  # min is stable: rota order among equals
        return LeadChoice(chosen.staff_id, "rota")
    for role in ("team_lead", "complaint_manager"):
        pool = [c for c in candidates if c.role == role]
        if pool:
            chosen = min(pool, key=lambda c: (c.away, c.department_id != department_id, c.username))
            return LeadChoice(chosen.staff_id, role)
    return None
