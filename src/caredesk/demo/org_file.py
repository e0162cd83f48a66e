"""The demo organisation file (bank.yaml) as a schema: a typo in a code or a reference to a department,
branch, skill group or person that is not in the file is refused before anything is written."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StrictInt, model_validator

from caredesk.accounts.roles import Role
from caredesk.config_files import BadField, ConfigModel, Loc, Name, TimeZoneName
from caredesk.emergency.topics import load_topics, topic_roster

__all__ = ["WEEKDAYS", "OrgFile"]


class DepartmentSpec(ConfigModel):
    code: Name
    name_zh: Name
    name_en: Name
    parent: Name | None = None


class BranchSpec(ConfigModel):
    code: Name
    name_zh: Name
    name_en: Name
    city: str = ""


class SkillGroupSpec(ConfigModel):
    code: Name
    name_zh: Name
    name_en: Name
    department: Name
    skills: tuple[Name, ...] = ()
    languages: tuple[Literal["zh", "en"], ...] = ()
    strategy: Literal["round_robin", "least_loaded", "skills"] = "skills"


class StaffSpec(ConfigModel):
    username: Name
    display_name: Name
    email: Name
    role: Role
    department: Name | None = None
    branch: Name | None = None
    skill_groups: tuple[Name, ...] = ()
    manager: Name | None = None
    languages: tuple[Literal["zh", "en"], ...] = ()
    capacity: StrictInt = Field(0, ge=0)


class OnCallSpec(ConfigModel):
    """One roster line: for a content type (or `complaint_escalation`), or for a problem topic of
    emergency/topics.yaml (card fraud), whose lines win over the content type's."""

    content_type: Name | None = None
    topic: Name | None = None
    branch: Name | None = None
    staff: Name
    position: Literal["primary", "backup", "manager"]

    @model_validator(mode="after")
    def _one_key(self) -> OnCallSpec:
        if (self.content_type is None) == (self.topic is None):
            raise ValueError("a roster line names either a content_type or a topic")
        return self

    @property
    def roster(self) -> str:
        """The stored roster key (emergency/topics.py: topics carry a prefix)."""
        return topic_roster(self.topic) if self.topic else str(self.content_type)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock_time(value: object) -> time:
    """HH:MM as a quoted string: unquoted, YAML 1.1 reads 08:00 as the number 480."""
    if not isinstance(value, str) or len(value) != 5:
        raise ValueError(f"must be HH:MM, not {value!r}")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"must be HH:MM, not {value!r}") from None


class DutyShiftSpec(ConfigModel):
    """A lead on duty on these days (the day the shift starts) from `start` to `end`; an `end` at or before
    `start` runs past midnight."""

    staff: Name
    days: Annotated[tuple[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], ...], Field(min_length=1)]
    start: Annotated[time, BeforeValidator(_clock_time)]
    end: Annotated[time, BeforeValidator(_clock_time)]


class DutySpec(ConfigModel):
    timezone: TimeZoneName = "Asia/Shanghai"
    shifts: tuple[DutyShiftSpec, ...] = ()


class MacroSpec(ConfigModel):
    code: Name
    title_zh: Name
    title_en: Name
    body_zh: Name
    body_en: Name


class OrgFile(ConfigModel):
    departments: list[DepartmentSpec]
    branches: list[BranchSpec]
    skill_groups: tuple[SkillGroupSpec, ...] = ()
    staff: list[StaffSpec]
    oncall: tuple[OnCallSpec, ...] = ()
    macros: tuple[MacroSpec, ...] = ()
    duty: DutySpec = Field(default_factory=DutySpec)  # the rota of leads on duty (workorders/duty.py)

    @model_validator(mode="after")
    def _references_exist(self) -> OrgFile:
        depts = {d.code for d in self.departments}
        branches = {b.code for b in self.branches}
        groups = {g.code for g in self.skill_groups}
        people = {p.username for p in self.staff}

        def check(value: str | None, known: set[str], loc: Loc, what: str) -> None:
            if value is not None and value not in known:
                raise BadField(loc, f"no {what} {value!r} in this file")

        for i, d in enumerate(self.departments):
            check(d.parent, depts, ("departments", i, "parent"), "department")
        for i, g in enumerate(self.skill_groups):
            check(g.department, depts, ("skill_groups", i, "department"), "department")
        for i, p in enumerate(self.staff):
            check(p.department, depts, ("staff", i, "department"), "department")
            check(p.branch, branches, ("staff", i, "branch"), "branch")
            check(p.manager, people, ("staff", i, "manager"), "staff member")
            for j, code in enumerate(p.skill_groups):
                check(code, groups, ("staff", i, "skill_groups", j), "skill group")
        leads = {p.username for p in self.staff if p.role in ("team_lead", "complaint_manager")}
        for i, shift in enumerate(self.duty.shifts):
            check(shift.staff, people, ("duty", "shifts", i, "staff"), "staff member")
            if shift.staff not in leads:
                raise BadField(("duty", "shifts", i, "staff"), f"{shift.staff!r} is no team lead or complaint manager")
        topics = {t.name for t in load_topics()}
        for i, line in enumerate(self.oncall):
            check(line.topic, topics, ("oncall", i, "topic"), "topic in emergency/topics.yaml:")
            check(line.branch, branches, ("oncall", i, "branch"), "branch")
            check(line.staff, people, ("oncall", i, "staff"), "staff member")
        return self
