"""Who is called to an emergency: the pure roster selection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caredesk.clock import FrozenClock
from caredesk.emergency.roster import Invitee, RosterLine, StaffCard, select_related_staff

NOW = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)).now()


def staff(*cards: StaffCard) -> dict[str, StaffCard]:
    return {c.id: c for c in cards}


TEAM = staff(
    StaffCard("prim", "boss"), StaffCard("back", "boss"), StaffCard("mgr", None), StaffCard("boss", None),
    StaffCard("br-prim", "br-boss"), StaffCard("br-boss", None), StaffCard("other-br", None),
)
LINES = [
    RosterLine("system", None, "mgr", "manager"),
    RosterLine("system", None, "back", "backup"),
    RosterLine("system", None, "prim", "primary"),
    RosterLine("business", None, "other-br", "primary"),
]


def select(lines: list[RosterLine], cards: dict[str, StaffCard], *, content_type: str = "system",
           branch_id: str | None = None, now: datetime = NOW) -> list[Invitee]:
    return select_related_staff(lines, cards, content_type=content_type, branch_id=branch_id, now=now)


def test_roster_orders_primary_backup_manager_then_primarys_manager() -> None:
    assert select(LINES, TEAM) == [
        Invitee("prim", "roster:primary"), Invitee("back", "roster:backup"), Invitee("mgr", "roster:manager"),
        Invitee("boss", "chain:manager_of:prim"),
    ]


def test_roster_only_the_content_type_asked_for() -> None:
    assert [i.staff_id for i in select(LINES, TEAM, content_type="business")] == ["other-br"]
    assert select(LINES, TEAM, content_type="external_partner") == []


def test_roster_branch_specific_lines_come_first_and_other_branches_are_ignored() -> None:
    lines = [*LINES, RosterLine("system", "b1", "br-prim", "primary"),
             RosterLine("system", "b2", "other-br", "primary")]
    chosen = select(lines, TEAM, branch_id="b1")
    assert [i.staff_id for i in chosen] == ["br-prim", "prim", "back", "mgr", "br-boss", "boss"]
    assert chosen[4] == Invitee("br-boss", "chain:manager_of:br-prim")
    # A customer without a branch gets only the general lines.
    assert "br-prim" not in {i.staff_id for i in select(lines, TEAM, branch_id=None)}


def test_roster_away_or_inactive_people_are_skipped_and_backups_stand_in() -> None:
    cards = dict(TEAM, prim=StaffCard("prim", "boss", away=True), mgr=StaffCard("mgr", None, active=False))
    chosen = select(LINES, cards)
    assert [i.staff_id for i in chosen] == ["back", "boss"]
    assert chosen[0].reason == "roster:backup"


def test_roster_away_manager_is_not_called_through_the_chain() -> None:
    cards = dict(TEAM, boss=StaffCard("boss", None, away=True))
    assert "boss" not in {i.staff_id for i in select(LINES, cards)}


def test_roster_nobody_twice_when_the_manager_is_also_on_the_roster() -> None:
    lines = [RosterLine("system", None, "prim", "primary"), RosterLine("system", None, "boss", "manager")]
    chosen = select(lines, TEAM)
    assert chosen == [Invitee("prim", "roster:primary"), Invitee("boss", "roster:manager")]


def test_roster_unknown_staff_on_a_line_is_skipped() -> None:
    lines = [RosterLine("system", None, "ghost", "primary"), *LINES]
    assert [i.staff_id for i in select(lines, TEAM)] == ["prim", "back", "mgr", "boss"]


def test_roster_off_duty_lines_by_starts_and_ends() -> None:
    hour = timedelta(hours=1)
    lines = [
        RosterLine("system", None, "prim", "primary", starts_at=NOW + hour),  # shift not started
        RosterLine("system", None, "back", "primary", starts_at=NOW - hour, ends_at=NOW + hour),  # on duty
        RosterLine("system", None, "mgr", "manager", ends_at=NOW),  # shift ended exactly now
        RosterLine("system", None, "boss", "backup", starts_at=NOW),  # starts exactly now
    ]
    chosen = select(lines, TEAM)
    assert [i.staff_id for i in chosen] == ["back", "boss"]
    assert [i.reason for i in chosen] == ["roster:primary", "roster:backup"]
    later = select(lines, TEAM, now=NOW + 2 * hour)  # prim's shift started, back's ended
    assert [(i.staff_id, i.reason) for i in later] == [("prim", "roster:primary"), ("boss", "roster:backup")]


def test_roster_line_on_duty_is_half_open() -> None:
    line = RosterLine("system", None, "prim", "primary", starts_at=NOW, ends_at=NOW + timedelta(hours=8))
    assert line.on_duty(NOW)
    assert line.on_duty(NOW + timedelta(hours=8) - timedelta(microseconds=1))
    assert not line.on_duty(NOW + timedelta(hours=8))
    assert not line.on_duty(NOW - timedelta(microseconds=1))
    assert RosterLine("system", None, "prim", "primary").on_duty(NOW)
