"""Organisation: departments, branches, skill groups, staff (users with a role) and the places they sign in
from, on-call roster, API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caredesk.storage.orm.base import Base, UTCDateTime, created_column, id_column

staff_skill_groups = Table(
    "staff_skill_group",
    Base.metadata,
    Column("staff_id", ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True),
    Column("skill_group_id", ForeignKey("skill_group.id", ondelete="CASCADE"), primary_key=True),
)


class Department(Base):
    """A department of the bank; `parent_id` builds the management tree."""

    __tablename__ = "department"
    id: Mapped[str] = id_column()
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("department.id"))


class Branch(Base):
    """A physical branch; roster entries and customers may be scoped to one."""

    __tablename__ = "branch"
    id: Mapped[str] = id_column()
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100), default="")


class SkillGroup(Base):
    """A team that work orders are routed to, with the skills and languages it covers."""

    __tablename__ = "skill_group"
    id: Mapped[str] = id_column()
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[str] = mapped_column(ForeignKey("department.id"))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    strategy: Mapped[str] = mapped_column(String(16), default="skills")  # round_robin | least_loaded | skills


class Staff(Base):
    """A staff member and user of CareDesk; `role` decides what they may do."""

    __tablename__ = "staff"
    id: Mapped[str] = id_column()
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(64))  # for SMS alarms
    role: Mapped[str] = mapped_column(String(32))
    department_id: Mapped[str | None] = mapped_column(ForeignKey("department.id"))
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branch.id"))
    manager_id: Mapped[str | None] = mapped_column(ForeignKey("staff.id"))
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=0)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    away: Mapped[bool] = mapped_column(Boolean, default=False)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # round-robin order
    created_at: Mapped[datetime] = created_column()

    skill_groups: Mapped[list[SkillGroup]] = relationship(secondary=staff_skill_groups, lazy="selectin")


class OnCallEntry(Base):
    """One line of the on-call roster: who answers emergencies of a content type (and branch)."""

    __tablename__ = "oncall_entry"
    __table_args__ = (UniqueConstraint("content_type", "branch_id", "staff_id", name="uq_oncall_entry_scope"),)
    id: Mapped[str] = id_column()
    content_type: Mapped[str] = mapped_column(String(32), index=True)
    branch_id: Mapped[str | None] = mapped_column(ForeignKey("branch.id"))
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"))
    position: Mapped[str] = mapped_column(String(16))  # primary | backup | manager
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DutyShift(Base):
    """One line of the duty rota: the team lead (or complaint manager) responsible on these weekdays between
    these local times, to whom a high-risk order goes when nobody with capacity is present."""

    __tablename__ = "duty_shift"
    id: Mapped[str] = id_column()
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id"), index=True)
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)  # 0 Monday .. 6 Sunday: the day it starts
    starts: Mapped[str] = mapped_column(String(5))  # "HH:MM" local time
    ends: Mapped[str] = mapped_column(String(5))  # "HH:MM"; before `starts`: the shift runs past midnight
    timezone: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)  # order in the rota file


class StaffLoginPlace(Base):
    """A network (IPv4 /24, IPv6 /48) a staff member signs in from: the history that accounts/login_risk.py
    judges a new sign-in against. `status` "held": a sign-in from here froze the account; an administrator's
    unfreeze makes it "known"."""

    __tablename__ = "staff_login_place"
    __table_args__ = (UniqueConstraint("staff_id", "network", name="uq_staff_login_place_network"),)
    id: Mapped[str] = id_column()
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    network: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="known")  # known | held
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    sign_ins: Mapped[int] = mapped_column(Integer, default=0)


class ApiKey(Base):
    """An integration's key. Only a SHA-256 of the secret is stored; `prefix` identifies it in lists."""

    __tablename__ = "api_key"
    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = created_column()
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
