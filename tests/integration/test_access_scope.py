"""Data scoped by department: an agent sees their department's work orders and their own, a team lead
also the departments below, managers, administrators and auditors all; outside the scope is 404."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from caredesk.accounts.access import work_order_filter, work_order_for
from caredesk.errors import NotFound
from caredesk.runtime import Runtime
from caredesk.storage.orm import Department, Staff, WorkOrder

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _order(s, department: Department, assignee: Staff | None = None) -> WorkOrder:
    order = WorkOrder(title="t", description="d", content_type="business", problem_type="complaint",
                      urgency="general", flow="complaint", step="accept", status="new", status_category="open",
                      department_id=department.id, assignee_id=assignee.id if assignee else None, fields={},
                      skills=[], created_at=NOW, updated_at=NOW)
    s.add(order)
    s.flush()
    return order


def test_work_orders_are_scoped_by_department(runtime: Runtime) -> None:
    with runtime.uow() as uow:
        s = uow.session
        parent = Department(code="retail", name_zh="零售", name_en="Retail")
        s.add(parent)
        s.flush()
        child = Department(code="cards_centre", name_zh="卡中心", name_en="Cards", parent_id=parent.id)
        other = Department(code="it", name_zh="IT", name_en="IT")
        s.add_all([child, other])
        s.flush()

        def staff(name: str, role: str, dept: Department) -> Staff:
            person = Staff(username=name, display_name=name, email=f"{name}@x", role=role, department_id=dept.id,
                           created_at=NOW)
            s.add(person)
            s.flush()
            return person

        agent, lead = staff("agent", "agent", child), staff("lead", "team_lead", parent)
        auditor, it_agent = staff("auditor", "auditor", other), staff("it", "agent", other)
        in_child, in_parent, in_other = _order(s, child), _order(s, parent), _order(s, other)
        assigned_elsewhere = _order(s, other, assignee=agent)
        uow.commit()
        ids = {o.id for o in (in_child, in_parent, in_other, assigned_elsewhere)}

    def visible(who: Staff) -> set[str]:
        with runtime.session_factory() as s:
            return set(s.scalars(select(WorkOrder.id).where(work_order_filter(s, "staff", who.id, who.role))))

    assert visible(agent) == {in_child.id, assigned_elsewhere.id}
    assert visible(lead) == {in_child.id, in_parent.id}  # and the department below
    assert visible(it_agent) == {in_other.id, assigned_elsewhere.id}
    assert visible(auditor) == ids
    with runtime.session_factory() as s:
        assert work_order_for(s, "api_key", "k", "agent", in_other.id).id == in_other.id  # integrations
        with pytest.raises(NotFound):
            work_order_for(s, "staff", agent.id, agent.role, in_parent.id)
