"""SLA policies: selection by conditions, business-minute targets, paused clocks, warning, breach and
escalation levels at the right minute (pure, the clock passed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from caredesk.errors import InvalidConfig
from caredesk.sla.policy import (
    SlaState,
    SlaTimeline,
    Target,
    escalation_due,
    evaluate,
    load_sla_config,
)

SLA = """
calendars:
  bank:
    timezone: Asia/Shanghai
    hours: {mon-fri: ["09:00-12:00", "13:00-18:00"]}
    holidays: ["2026-12-07"]
policies:
  - name: vip_complaint
    when: {problem_type: complaint, customer_tier: [vip, private]}
    calendar: bank
    targets: {first_response: 30, resolution: 240}
    warn_at: 0.8
    escalation:
      - {after_minutes: 0, notify: team_lead}
      - {after_minutes: 60, notify: department_head, reassign: true}
  - name: complaint
    when: {problem_type: [complaint]}
    calendar: bank
    targets: {first_response: 60, next_response: 120, resolution: 480}
  - name: default
    targets: {resolution: 1440}
"""


@pytest.fixture()
def config(tmp_path: Path):
    path = tmp_path / "sla.yaml"
    path.write_text(SLA, encoding="utf-8")
    return load_sla_config(path)


def sh(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 12, day, hh, mm, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


def by_target(statuses):
    return {s.target: s for s in statuses}


def test_first_matching_policy_applies(config) -> None:
    assert config.policy_for({"problem_type": "complaint", "customer_tier": "vip"}).name == "vip_complaint"
    assert config.policy_for({"problem_type": "complaint", "customer_tier": "standard"}).name == "complaint"
    assert config.policy_for({"problem_type": "consultation"}).name == "default"


def test_warning_and_breach_at_the_right_business_minute_across_weekend_and_holiday(config) -> None:
    policy = config.policy_for({"problem_type": "complaint", "customer_tier": "vip"})
    opened = sh(4, 17)  # Friday 17:00; Sat, Sun and Monday 7 Dec (holiday) do not count
    timeline = SlaTimeline(opened_at=opened, first_response_at=sh(4, 17, 10))
    # resolution 240 min: 60 on Friday, then Tuesday 09:00 + 180 = 12:00; warning at 192 min = Tue 11:12
    running = by_target(evaluate(policy, timeline, sh(7, 15)))[Target.RESOLUTION]
    assert running.state == SlaState.RUNNING and running.used_minutes == 60
    assert running.due_at == sh(8, 12) and running.warn_at == sh(8, 11, 12)
    assert by_target(evaluate(policy, timeline, sh(8, 11, 11)))[Target.RESOLUTION].state == SlaState.RUNNING
    assert by_target(evaluate(policy, timeline, sh(8, 11, 12)))[Target.RESOLUTION].state == SlaState.WARNING
    assert by_target(evaluate(policy, timeline, sh(8, 11, 59)))[Target.RESOLUTION].state == SlaState.WARNING
    breached = by_target(evaluate(policy, timeline, sh(8, 12)))[Target.RESOLUTION]
    assert breached.state == SlaState.BREACHED and breached.due_at == sh(8, 12)
    assert escalation_due(policy, breached)[0] == 1  # team lead at once
    # lunch does not count: 60 overdue business minutes are reached at 14:00, not 13:00
    assert escalation_due(policy, by_target(evaluate(policy, timeline, sh(8, 13, 59)))[Target.RESOLUTION])[0] == 1
    level, step = escalation_due(policy, by_target(evaluate(policy, timeline, sh(8, 14)))[Target.RESOLUTION])
    assert (level, step.notify, step.reassign) == (2, "department_head", True)
    # the first response came in time
    assert by_target(evaluate(policy, timeline, sh(8, 14)))[Target.FIRST_RESPONSE].state == SlaState.MET


def test_paused_time_does_not_count_and_moves_the_due_time(config) -> None:
    policy = config.policy_for({"problem_type": "complaint"})
    opened = sh(8, 9)  # Tuesday
    paused = SlaTimeline(opened_at=opened, pauses=[(sh(8, 10), None)])
    now = sh(9, 15)
    status = by_target(evaluate(policy, paused, now))[Target.RESOLUTION]
    assert status.state == SlaState.PAUSED and status.used_minutes == 60 and status.due_at is None
    resumed = SlaTimeline(opened_at=opened, pauses=[(sh(8, 10), sh(9, 15))])
    status = by_target(evaluate(policy, resumed, now))[Target.RESOLUTION]
    # 420 minutes left from Wednesday 15:00: 180 that day, then Thursday 09:00 + 240 = 14:00
    assert status.state == SlaState.RUNNING and status.due_at == sh(10, 14)
    late = by_target(evaluate(policy, resumed, sh(10, 16)))[Target.RESOLUTION]
    assert late.state == SlaState.BREACHED and late.due_at == sh(10, 14) and late.overdue_minutes == 120


def test_next_response_runs_only_while_a_customer_message_waits(config) -> None:
    policy = config.policy_for({"problem_type": "complaint"})
    base = SlaTimeline(opened_at=sh(8, 9), first_response_at=sh(8, 9, 30))
    assert Target.NEXT_RESPONSE not in by_target(evaluate(policy, base, sh(8, 16)))
    waiting = SlaTimeline(opened_at=sh(8, 9), first_response_at=sh(8, 9, 30), awaiting_reply_since=sh(8, 10))
    assert by_target(evaluate(policy, waiting, sh(8, 13, 1)))[Target.NEXT_RESPONSE].state == SlaState.BREACHED
    answered = SlaTimeline(opened_at=sh(8, 9), first_response_at=sh(8, 9, 30), awaiting_reply_since=sh(8, 10),
                           replied_at=sh(8, 11))
    assert by_target(evaluate(policy, answered, sh(8, 16)))[Target.NEXT_RESPONSE].state == SlaState.MET


def test_resolved_late_is_missed_not_breached(config) -> None:
    policy = config.policy_for({"problem_type": "consultation"})
    opened = datetime(2026, 12, 1, tzinfo=UTC)
    done = SlaTimeline(opened_at=opened, resolved_at=opened + timedelta(days=2))
    assert by_target(evaluate(policy, done, opened + timedelta(days=3)))[Target.RESOLUTION].state == SlaState.MISSED
    assert escalation_due(policy, evaluate(policy, done, opened + timedelta(days=3))[0]) is None


def test_shipped_sla_file_loads() -> None:
    config = load_sla_config()
    assert config.policy_for({"urgency": "urgent"}).name == "urgent"
    assert config.policy_for({"problem_type": "suggestion"}) is not None


@pytest.mark.parametrize(("text", "message"), [
    ("policies: []", "policies: List should have at least 1 item"),
    ("policies: [{name: a, targets: {resolution: -5}}]", r"policies\[0\]\.targets\.resolution: .*greater than 0"),
    ("policies: [{name: a, targets: {lunch: 5}}]", r"policies\[0\]\.targets\.lunch: Extra inputs"),
    ("policies: [{name: a, when: {colour: red}, targets: {resolution: 5}}]", r"policies\[0\]\.when\.colour: Extra"),
    ("policies: [{name: a, calendar: nope, targets: {resolution: 5}}]",
     r"policies\[0\]\.calendar: no calendar named 'nope'"),
    ("policies: [{name: a, targets: {resolution: 5}, warn_at: 2}]", r"policies\[0\]\.warn_at: .*less than 1"),
    ("calendars: {c: {timezone: Nowhere/Land, hours: {mon: ['09:00-10:00']}}}\n"
     "policies: [{name: a, targets: {resolution: 5}}]",
     "calendars.c.timezone: unknown time zone"),
])
def test_bad_sla_files_are_refused_with_the_field_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sla.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidConfig, match=message):
        load_sla_config(path)
