"""SLA clocks at their edges: completion and breach on the minute, pauses that start now, several pauses, the
numbers every status carries, escalation before its first step, policies by name, the file's calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from caredesk.sla.calendar import ALWAYS
from caredesk.sla.policy import (
    EscalationStep,
    SlaConfig,
    SlaPolicy,
    SlaState,
    SlaStatus,
    SlaTimeline,
    Target,
    escalation_due,
    evaluate,
    load_sla_config,
)

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
POLICY = SlaPolicy("p", {}, {Target.RESOLUTION: 60.0}, ALWAYS, warn_at=0.5,
                   escalation=(EscalationStep(30, "team_lead"), EscalationStep(90, "department_head")))


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def resolution(timeline: SlaTimeline, now: datetime) -> SlaStatus:
    (status,) = evaluate(POLICY, timeline, now)
    return status


def test_sla_resolved_at_now_on_the_target_minute_is_met_with_its_numbers() -> None:
    status = resolution(SlaTimeline(T0, resolved_at=at(60)), at(60))
    assert status == SlaStatus(Target.RESOLUTION, SlaState.MET, 60.0, 60.0, None, None)
    assert resolution(SlaTimeline(T0, resolved_at=at(61)), at(61)).state == SlaState.MISSED


def test_sla_running_and_warning_statuses_carry_target_used_due_and_warn() -> None:
    assert resolution(SlaTimeline(T0), at(10)) == SlaStatus(Target.RESOLUTION, SlaState.RUNNING, 60.0, 10.0, at(60),
                                                            at(30))
    assert resolution(SlaTimeline(T0), at(30)) == SlaStatus(Target.RESOLUTION, SlaState.WARNING, 60.0, 30.0, at(60),
                                                            None)


def test_sla_pause_starting_now_pauses_the_clock() -> None:
    status = resolution(SlaTimeline(T0, pauses=[(at(20), None)]), at(20))
    assert status == SlaStatus(Target.RESOLUTION, SlaState.PAUSED, 60.0, 20.0, None, None)


def test_sla_every_pause_is_taken_off_the_clock() -> None:
    timeline = SlaTimeline(T0, pauses=[(at(10), at(20)), (at(30), at(45))])
    status = resolution(timeline, at(50))
    assert status.used_minutes == 25 and status.due_at == at(85)


def test_sla_breach_instant_is_where_the_clock_reached_the_target_before_a_pause() -> None:
    # 60 minutes ran out exactly when a pause began: breached then, not when the pause ended
    status = resolution(SlaTimeline(T0, pauses=[(at(60), at(90))]), at(120))
    assert status.state == SlaState.BREACHED and status.used_minutes == 90 and status.due_at == at(60)


def test_sla_escalation_due_none_before_the_first_step_then_the_highest_reached() -> None:
    timeline = SlaTimeline(T0)
    assert escalation_due(POLICY, resolution(timeline, at(89))) is None  # 29 minutes overdue
    assert escalation_due(POLICY, resolution(timeline, at(90))) == (1, POLICY.escalation[0])
    assert escalation_due(POLICY, resolution(timeline, at(150))) == (2, POLICY.escalation[1])


def test_sla_policy_by_name_and_none_for_unknown_or_missing() -> None:
    config = SlaConfig((POLICY, SlaPolicy("q", {"urgency": frozenset({"urgent"})}, {Target.RESOLUTION: 30.0},
                                          ALWAYS)), {})
    assert config.named("q") is config.policies[1] and config.named("p") is POLICY
    assert config.named("gone") is None and config.named(None) is None and config.named("") is None
    assert config.policy_for({"urgency": "urgent"}) is POLICY  # file order: the first that applies


def test_sla_policy_for_none_when_no_policy_applies() -> None:
    config = SlaConfig((SlaPolicy("q", {"urgency": frozenset({"urgent"})}, {Target.RESOLUTION: 30.0}, ALWAYS),), {})
    assert config.policy_for({"urgency": "general"}) is None


def test_sla_file_keeps_its_calendars_by_name(tmp_path: Path) -> None:
    path = tmp_path / "sla.yaml"
    path.write_text("calendars:\n  office: {hours: {mon-fri: '09:00-17:00'}}\n"
                    "policies:\n  - {name: p, calendar: office, targets: {resolution: 60}}\n", encoding="utf-8")
    config = load_sla_config(path)
    assert config.calendars["office"].name == "office"
    assert config.policies[0].calendar is config.calendars["office"]
