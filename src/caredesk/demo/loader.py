"""Loads the demo bank (organisation, roster, knowledge base) into the configured database. Idempotent:
running it again changes nothing that is already there."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.accounts.credentials import hash_password
from caredesk.clock import Clock
from caredesk.config_files import load_config
from caredesk.demo.org_file import WEEKDAYS, OrgFile
from caredesk.knowledge.actions import save_entries
from caredesk.knowledge.importing import read_kb_csv
from caredesk.storage.orm import Branch, Department, DutyShift, Macro, OnCallEntry, SkillGroup, Staff
from caredesk.storage.unit_of_work import UnitOfWork

__all__ = ["DEMO_PASSWORD", "DemoReport", "do_load_demo", "load_org_file"]

DEMO_PASSWORD = "caredesk-demo"


@dataclass(frozen=True)
class DemoReport:
    staff: int
    knowledge_created: int
    knowledge_total: int


def _data(name: str) -> Path:
    with resources.as_file(resources.files("caredesk.demo").joinpath(name)) as path:
        return Path(path)


@cache
def load_org_file() -> OrgFile:
    """The demo organisation, validated (references between its entries included); a packaged file, read once
    per process."""
    return load_config(OrgFile, resources.files("caredesk.demo").joinpath("bank.yaml"), "demo/bank.yaml")


@cache
def _demo_password_hash() -> str:
    """One argon2 hash per process (it costs ~0.1 s on purpose; the demo password is public anyway)."""
    return hash_password(DEMO_PASSWORD)


def _by_code(session: Session, model: Any) -> dict[str, Any]:
    return {row.code: row for row in session.scalars(select(model))}


def _load_org(session: Session, org: dict[str, Any], password_hash: str) -> int:
    depts = _by_code(session, Department)
    for d in org["departments"]:
        if d["code"] not in depts:
            depts[d["code"]] = Department(code=d["code"], name_zh=d["name_zh"], name_en=d["name_en"])
            session.add(depts[d["code"]])
    session.flush()
    for d in org["departments"]:
        if d.get("parent"):
            depts[d["code"]].parent_id = depts[d["parent"]].id
    branches = _by_code(session, Branch)
    for b in org["branches"]:
        if b["code"] not in branches:
            branches[b["code"]] = Branch(code=b["code"], name_zh=b["name_zh"], name_en=b["name_en"],
                                         city=b.get("city", ""))
            session.add(branches[b["code"]])
    groups = _by_code(session, SkillGroup)
    session.flush()
    for g in org["skill_groups"]:
        if g["code"] not in groups:
            groups[g["code"]] = SkillGroup(code=g["code"], name_zh=g["name_zh"], name_en=g["name_en"],
                                           department_id=depts[g["department"]].id, skills=g.get("skills", []),
                                           languages=g.get("languages", []), strategy=g.get("strategy", "skills"))
            session.add(groups[g["code"]])
    session.flush()
    staff = {s.username: s for s in session.scalars(select(Staff))}
    for p in org["staff"]:
        if p["username"] in staff:
            continue
        person = Staff(username=p["username"], display_name=p["display_name"], email=p["email"], role=p["role"],
                       department_id=depts[p["department"]].id if p.get("department") else None,
                       branch_id=branches[p["branch"]].id if p.get("branch") else None,
                       languages=p.get("languages", []), capacity=int(p.get("capacity", 0)),
                       password_hash=password_hash,
                       skill_groups=[groups[c] for c in p.get("skill_groups", [])])
        staff[p["username"]] = person
        session.add(person)
    session.flush()
    for p in org["staff"]:
        if p.get("manager"):
            staff[p["username"]].manager_id = staff[p["manager"]].id
    existing = {(e.content_type, e.branch_id, e.staff_id) for e in session.scalars(select(OnCallEntry))}
    for line in org["oncall"]:
        branch_id = branches[line["branch"]].id if line.get("branch") else None
        key = (line["roster"], branch_id, staff[line["staff"]].id)
        if key not in existing:
            existing.add(key)
            session.add(OnCallEntry(content_type=key[0], branch_id=branch_id, staff_id=key[2],
                                    position=line["position"]))
    if not session.scalar(select(DutyShift.id).limit(1)):  # the rota is loaded once; edits are the site's
        duty = org.get("duty") or {}
        for position, shift in enumerate(duty.get("shifts", [])):
            session.add(DutyShift(staff_id=staff[shift["staff"]].id, position=position,
                                  weekdays=[WEEKDAYS.index(d) for d in shift["days"]], starts=shift["start"][:5],
                                  ends=shift["end"][:5], timezone=duty.get("timezone", "Asia/Shanghai")))
    macros = {m.code for m in session.scalars(select(Macro))}
    for m in org.get("macros", []):
        if m["code"] not in macros:
            session.add(Macro(code=m["code"], title_zh=m["title_zh"], title_en=m["title_en"], body_zh=m["body_zh"],
                              body_en=m["body_en"]))
    return len(staff)


def do_load_demo(uow: UnitOfWork, clock: Clock) -> DemoReport:
    spec = load_org_file()
    org = spec.model_dump(mode="json")
    for line, parsed in zip(org["oncall"], spec.oncall, strict=True):
        line["roster"] = parsed.roster
    drafts = read_kb_csv(_data("knowledge_base.csv"))
    password_hash = _demo_password_hash()
    with uow:
        staff_count = _load_org(uow.session, org, password_hash)
        report = save_entries(uow.session, drafts, actor="demo", now=clock.now())
        uow.commit()
    return DemoReport(staff_count, report.created, len(drafts))
