"""Service-level agreements: policies chosen by conditions, targets in business minutes, clocks that stop
while an order is paused, warnings at a share of the time used, breaches and multi-level escalation.

Pure: `evaluate(...)` takes the order's timeline and `now` and says where each target stands; the
background task decides what to send from that, so a frozen clock in a test drives it to the minute."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import Field, StrictBool, model_validator

from caredesk.config_files import BadField, ConfigModel, Name, OneOrMany, load_config
from caredesk.sla.calendar import ALWAYS, BusinessCalendar, CalendarSpec

__all__ = ["EscalationStep", "SlaConfig", "SlaFile", "SlaPolicy", "SlaState", "SlaStatus", "SlaTimeline",
           "Target", "escalation_due", "evaluate", "load_sla_config"]


class Target(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class SlaState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    WARNING = "warning"
    BREACHED = "breached"
    MET = "met"
    MISSED = "missed"  # completed after its due time


@dataclass(frozen=True)
class EscalationStep:
    """After a breach, `after_minutes` more business minutes without completion notify `notify` (a role in
    the order's team: team_lead, department_head, ...) and, if `reassign`, move the order to them."""

    after_minutes: float
    notify: str
    reassign: bool = False


@dataclass(frozen=True)
class SlaPolicy:
    name: str
    conditions: Mapping[str, frozenset[str]]
    targets: Mapping[Target, float]  # business minutes
    calendar: BusinessCalendar
    warn_at: float = 0.8
    escalation: tuple[EscalationStep, ...] = ()

    def applies(self, facts: Mapping[str, str | None]) -> bool:
        return all(facts.get(key) in allowed for key, allowed in self.conditions.items())


@dataclass(frozen=True)
class SlaConfig:
    policies: tuple[SlaPolicy, ...]
    calendars: Mapping[str, BusinessCalendar]

    def policy_for(self, facts: Mapping[str, str | None]) -> SlaPolicy | None:
        """The first policy, in file order, whose conditions all hold (put specific ones first)."""
        return next((p for p in self.policies if p.applies(facts)), None)

    def named(self, name: str | None) -> SlaPolicy | None:
        """The policy an order was given (None when it has none, or the file no longer has it)."""
        return next((p for p in self.policies if p.name == name), None) if name else None


@dataclass(frozen=True)
class SlaTimeline:
    """What the SLA engine needs of an order: when it opened, its paused spans (end None = still paused),
    when staff first replied, when the customer last wrote after the latest staff reply, and resolution."""

    opened_at: datetime
    pauses: Sequence[tuple[datetime, datetime | None]] = ()
    first_response_at: datetime | None = None
    awaiting_reply_since: datetime | None = None  # customer's message not yet answered (next response)
    replied_at: datetime | None = None  # the reply that ended the wait, if any
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class SlaStatus:
    target: Target
    state: SlaState
    target_minutes: float
    used_minutes: float  # business minutes on the clock (paused spans excluded)
    due_at: datetime | None  # None while paused: the due time moves with the pause
    warn_at: datetime | None

    @property
    def share_used(self) -> float:
        return self.used_minutes / self.target_minutes if self.target_minutes else 1.0

    @property
    def overdue_minutes(self) -> float:
        return max(0.0, self.used_minutes - self.target_minutes)


def _paused_minutes(cal: BusinessCalendar, pauses: Sequence[tuple[datetime, datetime | None]],
                    start: datetime, end: datetime) -> float:
    total = 0.0
    for a, b in pauses:
        lo, hi = max(a, start), min(b or end, end)
        if hi > lo:
            total += cal.minutes_between(lo, hi)
    return total


def _one(policy: SlaPolicy, target: Target, start: datetime, done: datetime | None,
         pauses: Sequence[tuple[datetime, datetime | None]], now: datetime) -> SlaStatus:
    cal, minutes = policy.calendar, policy.targets[target]
    end = min(done, now) if done else now
    used = cal.minutes_between(start, end) - _paused_minutes(cal, pauses, start, end)
    if done is not None and done <= now:
        state = SlaState.MET if used <= minutes else SlaState.MISSED
        return SlaStatus(target, state, minutes, used, None, None)
    if any(a <= now and (b is None or b > now) for a, b in pauses):
        return SlaStatus(target, SlaState.PAUSED, minutes, used, None, None)
    if used >= minutes:
        return SlaStatus(target, SlaState.BREACHED, minutes, used,
                         _breach_instant(cal, start, pauses, minutes, now), None)
    due = cal.add_minutes(now, minutes - used)
    warn_minutes = minutes * policy.warn_at
    if used >= warn_minutes:
        return SlaStatus(target, SlaState.WARNING, minutes, used, due, None)
    return SlaStatus(target, SlaState.RUNNING, minutes, used, due, cal.add_minutes(now, warn_minutes - used))


def _breach_instant(cal: BusinessCalendar, start: datetime, pauses: Sequence[tuple[datetime, datetime | None]],
                    minutes: float, now: datetime) -> datetime:
    """When the clock reached the target: walk the running spans between the pauses."""
    spans: list[tuple[datetime, datetime]] = []
    cursor = start
    for a, b in sorted((a, b or now) for a, b in pauses if (b or now) > start):
        if a > cursor:
            spans.append((cursor, min(a, now)))
        cursor = max(cursor, b)
    if cursor < now:
        spans.append((cursor, now))
    left = minutes
    for a, b in spans:
        span = cal.minutes_between(a, b)
        if span >= left:
            return cal.add_minutes(a, left)
        left -= span
    return now


def evaluate(policy: SlaPolicy, timeline: SlaTimeline, now: datetime) -> list[SlaStatus]:
    """Where each of the policy's targets stands at `now`."""
    out: list[SlaStatus] = []
    t = timeline
    if Target.FIRST_RESPONSE in policy.targets:
        out.append(_one(policy, Target.FIRST_RESPONSE, t.opened_at, t.first_response_at, t.pauses, now))
    if Target.NEXT_RESPONSE in policy.targets and t.awaiting_reply_since is not None:
        out.append(_one(policy, Target.NEXT_RESPONSE, t.awaiting_reply_since, t.replied_at, t.pauses, now))
    if Target.RESOLUTION in policy.targets:
        out.append(_one(policy, Target.RESOLUTION, t.opened_at, t.resolved_at, t.pauses, now))
    return out


def escalation_due(policy: SlaPolicy, status: SlaStatus) -> tuple[int, EscalationStep] | None:
    """The highest escalation level a breached target has reached (1-based) and its step, or None."""
    if status.state != SlaState.BREACHED:
        return None
    reached = [(i + 1, s) for i, s in enumerate(policy.escalation) if status.overdue_minutes >= s.after_minutes]
    return reached[-1] if reached else None


Minutes = Annotated[float, Field(gt=0, strict=True)]


class ConditionsSpec(ConfigModel):
    """`when:` of a policy: each condition one value or a list of values."""

    category: OneOrMany | None = None
    problem_type: OneOrMany | None = None
    content_type: OneOrMany | None = None
    urgency: OneOrMany | None = None
    customer_tier: OneOrMany | None = None


class TargetsSpec(ConfigModel):
    first_response: Minutes | None = None
    next_response: Minutes | None = None
    resolution: Minutes | None = None

    @model_validator(mode="after")
    def _some(self) -> TargetsSpec:
        if all(v is None for _, v in self):
            raise ValueError("at least one target is needed")
        return self


class EscalationSpec(ConfigModel):
    after_minutes: Annotated[float, Field(ge=0, strict=True)]
    notify: Name  # a role in the order's team
    reassign: StrictBool = False


class PolicySpec(ConfigModel):
    name: Name
    when: ConditionsSpec = ConditionsSpec()
    calendar: Name = "always"
    targets: TargetsSpec
    warn_at: Annotated[float, Field(gt=0, lt=1, strict=True)] = 0.8
    escalation: tuple[EscalationSpec, ...] = ()

    def to_policy(self, calendars: Mapping[str, BusinessCalendar]) -> SlaPolicy:
        conditions = {k: frozenset(v) for k, v in self.when if v is not None}
        targets = {Target(k): float(v) for k, v in self.targets if v is not None}
        steps = sorted((EscalationStep(s.after_minutes, s.notify, s.reassign) for s in self.escalation),
                       key=lambda s: s.after_minutes)
        calendar = ALWAYS if self.calendar == "always" else calendars[self.calendar]
        return SlaPolicy(self.name, conditions, targets, calendar, self.warn_at, tuple(steps))


class SlaFile(ConfigModel):
    """sla.yaml: business calendars by name, and the policies in the order they are tried."""

    calendars: dict[Name, CalendarSpec] = Field(default_factory=dict)
    policies: Annotated[list[PolicySpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _calendars_exist(self) -> SlaFile:
        for i, policy in enumerate(self.policies):
            if policy.calendar != "always" and policy.calendar not in self.calendars:
                raise BadField(("policies", i, "calendar"), f"no calendar named {policy.calendar!r}")
        return self

    def to_config(self) -> SlaConfig:
        calendars = {name: spec.to_calendar(name) for name, spec in self.calendars.items()}
        return SlaConfig(tuple(p.to_policy(calendars) for p in self.policies), calendars)


def load_sla_config(path: Path | None = None) -> SlaConfig:
    """The SLA file (the shipped default when `path` is None), validated; errors name what to fix."""
    if path is None:
        return load_config(SlaFile, resources.files("caredesk.sla").joinpath("sla.yaml"), "sla.yaml").to_config()
    return load_config(SlaFile, path).to_config()
