"""Who is called to an emergency: the on-call roster for the problem's topic (card fraud), else the content
type, and the branch, plus the management chain of those on duty. Pure: roster lines and staff are passed in,
and so is the time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from caredesk.emergency.topics import topic_roster

__all__ = ["COMPLAINT_ESCALATION", "INVITE_REASONS", "Invitee", "RosterLine", "StaffCard",
           "response_roster", "select_related_staff"]

# The roster of a single customer's external threat (regulator, media, lawsuit): the complaint manager, the
# branch head and compliance, not the incident room of the content type (roster lines keyed by this name).
COMPLAINT_ESCALATION = "complaint_escalation"
_EXTERNAL_THREATS = frozenset({"regulator", "media", "lawsuit"})


def response_roster(content_type: str, complaint_types: Iterable[str], hard_rules: Iterable[str],
                    topic: str | None = None) -> str:
    """Which roster answers: a customer's threat to go to the regulator, the media or court (and nothing more)
    gathers the complaint escalation roster; a problem with a topic of its own (card fraud) that topic's
    roster; otherwise (an outage, fraud or safety case) the content type's on-call staff. The caller falls
    back to the content type's roster when the chosen one has no lines."""
    if not list(hard_rules) and _EXTERNAL_THREATS & set(complaint_types):
        return COMPLAINT_ESCALATION
    return topic_roster(topic) if topic else content_type

_POSITION_ORDER = {"primary": 0, "backup": 1, "manager": 2}
# An invitation's reason is a stable code, `roster:<position>` or `chain:manager_of:<staff id>`; the pages
# translate the code before the last parameter (these are the codes, with ":" as "_").
INVITE_REASONS = (*(f"roster_{p}" for p in _POSITION_ORDER), "chain_manager_of")


@dataclass(frozen=True)
class RosterLine:
    content_type: str
    branch_id: str | None
    staff_id: str
    position: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def on_duty(self, now: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= now) and (self.ends_at is None or now < self.ends_at)


@dataclass(frozen=True)
class StaffCard:
    id: str
    manager_id: str | None
    active: bool = True
    away: bool = False


@dataclass(frozen=True)
class Invitee:
    staff_id: str
    reason: str  # roster:primary, roster:backup, roster:manager, chain:manager_of:<id>


def select_related_staff(lines: Iterable[RosterLine], staff: Mapping[str, StaffCard], *, content_type: str,
                         branch_id: str | None, now: datetime) -> list[Invitee]:
    """Branch-specific lines before general ones; primaries, then backups, then managers; then each
    primary's manager. Inactive or away people are skipped (their backups stand in)."""
    matching = [line for line in lines if line.content_type == content_type and line.on_duty(now)
                and (line.branch_id is None or line.branch_id == branch_id)]
    matching.sort(key=lambda line: (line.branch_id is None, _POSITION_ORDER.get(line.position, 9)))
    chosen: list[Invitee] = []
    seen: set[str] = set()

    def add(staff_id: str, reason: str) -> None:
        card = staff.get(staff_id)
        if card and card.active and not card.away and staff_id not in seen:
            seen.add(staff_id)
            chosen.append(Invitee(staff_id, reason))

    for line in matching:
        add(line.staff_id, f"roster:{line.position}")
    for line in matching:
        if line.position == "primary" and (card := staff.get(line.staff_id)) and card.manager_id:
            add(card.manager_id, f"chain:manager_of:{line.staff_id}")
    return chosen
