"""The lead on duty, pure: which orders are high-risk, who the rota names at a given minute (overnight shifts
and the week's turn included), and who leads when the rota names nobody present."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from caredesk.workorders.duty import (
    HIGH_RISK_LEVEL,
    LeadCandidate,
    LeadChoice,
    RiskSignals,
    Shift,
    choose_lead,
    high_risk,
    on_duty,
    risk_words,
)

SH = ZoneInfo("Asia/Shanghai")
WEEKDAYS, WEEKEND, EVERY_DAY = frozenset(range(5)), frozenset({5, 6}), frozenset(range(7))
ROTA = [Shift("day", WEEKDAYS, time(8), time(20), SH), Shift("weekend", WEEKEND, time(8), time(20), SH),
        Shift("night", EVERY_DAY, time(20), time(8), SH)]


def sh(day: int, hh: int, mm: int = 0) -> datetime:
    """December 2026 in Shanghai (the 4th is a Friday), as UTC."""
    return datetime(2026, 12, day, hh, mm, tzinfo=SH).astimezone(UTC)


@pytest.mark.parametrize("signals, reasons", [
    (RiskSignals(3, False, False), ("complaint_level:3",)),
    (RiskSignals(4, True, True), ("complaint_level:4", "alarm", "emergency")),
    (RiskSignals(2, False, False), ()),
    (RiskSignals(1, True, False), ("alarm",)),
    (RiskSignals(0, False, True), ("emergency",)),
    (RiskSignals(0, False, False), ()),
])
def test_duty_high_risk_reasons(signals: RiskSignals, reasons: tuple[str, ...]) -> None:
    assert high_risk(signals) == reasons
    assert HIGH_RISK_LEVEL == 3


def test_duty_risk_in_words() -> None:
    assert risk_words(("complaint_level:3", "alarm", "emergency")) == (
        "a complaint at level 3 (regulator, media, lawsuit or safety); the conversation has an open alarm; "
        "it is an emergency")
    assert risk_words(()) == ""


@pytest.mark.parametrize("when, expected", [
    (sh(4, 10), ["day"]),  # Friday morning
    (sh(4, 8), ["day"]),  # the shift's first minute
    (sh(4, 7, 59), ["night"]),  # Thursday's night shift, past midnight
    (sh(4, 20), ["night"]),  # the day shift has ended at 20:00
    (sh(4, 19, 59), ["day"]),
    (sh(5, 10), ["weekend"]),  # Saturday
    (sh(7, 3), ["night"]),  # Sunday's night shift on Monday at 03:00
    (sh(7, 8), ["day"]),
])
def test_duty_rota_at_a_minute(when: datetime, expected: list[str]) -> None:
    assert on_duty(ROTA, when) == expected


def test_duty_overnight_shift_belongs_to_the_day_it_starts() -> None:
    friday_night = [Shift("fri-night", frozenset({4}), time(22), time(6), SH)]
    assert on_duty(friday_night, sh(4, 23)) == ["fri-night"]
    assert on_duty(friday_night, sh(5, 5, 59)) == ["fri-night"]  # Saturday early: Friday's shift
    assert on_duty(friday_night, sh(5, 6)) == []
    assert on_duty(friday_night, sh(4, 5)) == []  # Friday early belongs to Thursday: not on the rota
    assert on_duty(friday_night, sh(5, 23)) == []


def test_duty_whole_day_shift_and_each_person_once() -> None:
    rota = [Shift("a", frozenset({4}), time(0), time(0), SH), Shift("a", EVERY_DAY, time(9), time(17), SH),
            Shift("b", EVERY_DAY, time(9), time(17), SH)]
    assert on_duty(rota, sh(4, 12)) == ["a", "b"]
    assert on_duty(rota, sh(4, 0)) == ["a"]
    assert on_duty(rota, sh(5, 12)) == ["a", "b"]
    assert on_duty(rota, sh(4, 23, 59)) == ["a"]  # starts == ends: the whole of Friday
    assert on_duty(rota, sh(5, 0)) == []  # and no minute of Saturday
    utc_rota = [Shift("u", WEEKDAYS, time(8), time(20), ZoneInfo("UTC"))]
    assert on_duty(utc_rota, sh(4, 10)) == []  # 02:00 UTC: the shift's own time zone counts


def lead(staff_id: str, role: str = "team_lead", dept: str | None = "cs", away: bool = False) -> LeadCandidate:
    return LeadCandidate(staff_id, staff_id, role, dept, away)


def test_duty_lead_from_the_rota_first_present_before_away() -> None:
    people = [lead("tl-a"), lead("night"), lead("day"), lead("cm", "complaint_manager")]
    assert choose_lead(["day"], people, "cs") == LeadChoice("day", "rota")
    assert choose_lead(["day", "night"], people, "cs") == LeadChoice("day", "rota")
    away = [lead("day", away=True), lead("night")]
    assert choose_lead(["day", "night"], away, "cs") == LeadChoice("night", "rota")
    assert choose_lead(["day"], [lead("day", away=True)], "cs") == LeadChoice("day", "rota")  # away beats nobody


def test_duty_lead_without_the_rota_a_team_lead_then_the_complaint_manager() -> None:
    people = [lead("z-other", dept="it"), lead("y-own", dept="cs"), lead("cm", "complaint_manager")]
    assert choose_lead([], people, "cs") == LeadChoice("y-own", "team_lead")  # the order's department first
    assert choose_lead(["inactive"], people, "it") == LeadChoice("z-other", "team_lead")
    present = [lead("a-away", away=True), lead("b-here", dept="it")]
    assert choose_lead([], present, "cs") == LeadChoice("b-here", "team_lead")  # present beats department
    assert choose_lead([], [lead("a"), lead("b")], None) == LeadChoice("a", "team_lead")
    managers = [lead("cm-b", "complaint_manager"), lead("cm-a", "complaint_manager")]
    assert choose_lead([], managers, "cs") == LeadChoice("cm-a", "complaint_manager")
    assert choose_lead([], [lead("agent-1", "agent")], "cs") is None
    assert choose_lead([], [], "cs") is None
