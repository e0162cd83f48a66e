"""Data scoped by department and branch: an agent sees their department's work orders and their own, a team
lead also the departments below, managers, administrators and auditors all; branch staff see their branch's
customers and conversations; outside the scope is 404."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from caredesk.accounts.access import (
    conversation_filter,
    conversation_for,
    customer_filter,
    customer_for,
    work_order_filter,
    work_order_for,
)
from caredesk.bootstrap.runtime import Runtime
from caredesk.errors import NotFound
from caredesk.http.deps import Caller
from caredesk.storage.orm import Branch, Conversation, Customer, Department, Staff, WorkOrder, WorkOrderEvent

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
            return set(s.scalars(select(WorkOrder.id).where(work_order_filter(s, Caller.of_staff(who)))))

    assert visible(agent) == {in_child.id, assigned_elsewhere.id}
    assert visible(lead) == {in_child.id, in_parent.id}  # and the department below
    assert visible(it_agent) == {in_other.id, assigned_elsewhere.id}
    assert visible(auditor) == ids
    with runtime.session_factory() as s:
        integration = Caller("api_key", "k", "agent", "integration")
        assert work_order_for(s, integration, in_other.id).id == in_other.id  # integrations
        with pytest.raises(NotFound):
            work_order_for(s, Caller.of_staff(agent), in_parent.id)


def test_customers_and_conversations_are_scoped_by_branch(runtime: Runtime) -> None:
    """Branch staff: their branch's customers and conversations, plus what is assigned to them; the central
    centre and the unscoped roles: all. Work orders of another branch's customer stay hidden from branch
    staff of the same department unless assigned to them."""
    with runtime.uow() as uow:
        s = uow.session
        dept = Department(code="retail", name_zh="零售", name_en="Retail")
        a, b = Branch(code="a", name_zh="甲", name_en="A"), Branch(code="b", name_zh="乙", name_en="B")
        s.add_all([dept, a, b])
        s.flush()
        people = {name: Staff(username=name, display_name=name, email=f"{name}@x", role=role, department_id=dept.id,
                              branch_id=branch.id if branch else None, created_at=NOW)
                  for name, role, branch in [("agent_a", "agent", a), ("central", "agent", None),
                                             ("auditor", "auditor", a)]}
        s.add_all(people.values())
        s.flush()
        customers = {name: Customer(ref=name, branch_id=branch.id if branch else None, created_at=NOW)
                     for name, branch in [("in_a", a), ("in_b", b), ("nowhere", None), ("b_assigned", b)]}
        s.add_all(customers.values())
        s.flush()
        convs = {name: Conversation(customer_id=c.id, channel="web", created_at=NOW, last_message_at=NOW)
                 for name, c in customers.items()}
        convs["b_assigned"].assigned_staff_id = people["agent_a"].id
        s.add_all(convs.values())
        s.flush()
        b_order = _order(s, dept)
        b_order.customer_id, b_order.conversation_id = customers["in_b"].id, convs["in_b"].id
        a_order = _order(s, dept)
        a_order.customer_id = customers["in_a"].id
        uow.commit()
        ids = {k: (customers[k].id, convs[k].id) for k in customers}
        person_ids = {k: (p.id, p.role) for k, p in people.items()}

    def seen(who: str) -> tuple[set[str], set[str], set[str]]:
        viewer = Caller("staff", *person_ids[who], who)
        with runtime.session_factory() as s:
            cust = set(s.scalars(select(Customer.ref).where(customer_filter(s, viewer))))
            conv = {ref for ref, (_, cid) in ids.items()
                    if s.scalar(select(Conversation.id).where(Conversation.id == cid, conversation_filter(s, viewer)))}
            orders = set(s.scalars(select(WorkOrder.id).where(work_order_filter(s, viewer))))
            return cust, conv, orders

    assert seen("agent_a") == ({"in_a", "b_assigned"}, {"in_a", "b_assigned"}, {a_order.id})
    everything = set(ids)
    assert seen("central")[:2] == (everything, everything)
    assert seen("central")[2] == {a_order.id, b_order.id}
    assert seen("auditor")[:2] == (everything, everything)

    with runtime.uow() as uow:  # handed the order of a branch-B customer, agent A may open it and its conversation
        uow.session.get(WorkOrder, b_order.id).assignee_id = person_ids["agent_a"][0]
        uow.commit()
    _, conv, orders = seen("agent_a")
    assert b_order.id in orders and "in_b" in conv
    with runtime.session_factory() as s:
        viewer = Caller("staff", *person_ids["agent_a"], "agent_a")
        assert conversation_for(s, viewer, ids["in_b"][1]).id == ids["in_b"][1]
        with pytest.raises(NotFound):
            conversation_for(s, viewer, ids["nowhere"][1])
        with pytest.raises(NotFound):
            customer_for(s, viewer, ids["nowhere"][0])


def test_an_order_one_has_worked_on_stays_visible_after_it_moves_on(runtime: Runtime) -> None:
    with runtime.uow() as uow:
        s = uow.session
        here, there = (Department(code=c, name_zh=c, name_en=c) for c in ("service", "retail"))
        s.add_all([here, there])
        s.flush()
        agent = Staff(username="a", display_name="a", email="a@x", role="agent", department_id=here.id,
                      created_at=NOW)
        other = Staff(username="b", display_name="b", email="b@x", role="agent", department_id=here.id,
                      created_at=NOW)
        s.add_all([agent, other])
        s.flush()
        moved = _order(s, there)  # transferred by the agent to retail
        s.add(WorkOrderEvent(work_order_id=moved.id, seq=1, kind="transferred", actor=f"staff:{agent.id}",
                             data={}, created_at=NOW))
        uow.commit()
    with runtime.session_factory() as s:
        assert work_order_for(s, Caller.of_staff(agent), moved.id).id == moved.id
        with pytest.raises(NotFound):  # a colleague who never touched it does not
            work_order_for(s, Caller.of_staff(other), moved.id)
