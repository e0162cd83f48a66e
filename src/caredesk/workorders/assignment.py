"""Routing a work order inside the caller's transaction: the skill group of its step, then an agent by the
group's strategy (workorders/routing.py), or the group's waiting queue; and draining that queue when
capacity frees. A high-risk order never waits: with nobody free it goes to the lead on duty
(workorders/lead_handoff.py). Every outcome is an event on the order, with the reasons."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, joinedload

from caredesk.storage.orm import SkillGroup, Staff, WorkOrder, staff_skill_groups
from caredesk.storage.unit_of_work import events_of
from caredesk.workorders.duty import high_risk
from caredesk.workorders.events import WorkOrderChanged
from caredesk.workorders.flows import Flow
from caredesk.workorders.lead_handoff import hand_to_lead, risk_of
from caredesk.workorders.routing import (
    AgentState,
    Need,
    QueuedOrder,
    RoutingDecision,
    Strategy,
    choose_agent,
    drain_order,
)

__all__ = ["ACTIVE", "agent_loads", "drain_waiting", "route"]

ACTIVE = ("open", "paused")  # status categories that hold an agent's capacity
_ROUTABLE_ROLES = ("agent", "team_lead", "complaint_manager", "quality_reviewer")


def agent_loads(session: Session, staff_ids: Iterable[str]) -> dict[str, int]:
    ids = list(staff_ids)
    if not ids:
        return {}
    rows = session.execute(select(WorkOrder.assignee_id, func.count()).where(
        WorkOrder.assignee_id.in_(ids), WorkOrder.status_category.in_(ACTIVE)).group_by(WorkOrder.assignee_id))
    return {staff_id: int(n) for staff_id, n in rows if staff_id is not None}  # never None: filtered by in_


def _group_for(session: Session, order: WorkOrder, flows: dict[str, Flow]) -> SkillGroup | None:
    """The step's own group, else the department's group covering most of the order's skills (and its
    language), else None: the department's staff share the work."""
    flow = flows.get(order.flow)
    step = flow.step(order.step) if flow else None
    if step is not None and step.skill_group:
        group = session.scalar(select(SkillGroup).where(SkillGroup.code == step.skill_group))
        if group is not None:
            return group
    groups = list(session.scalars(select(SkillGroup).where(SkillGroup.department_id == order.department_id)
                                  .order_by(SkillGroup.code)))
    needed = set(order.skills or [])

    def fit(g: SkillGroup) -> tuple[bool, int]:
        speaks = not order.language or not g.languages or order.language in g.languages
        return speaks, len(needed & set(g.skills or []))

    return max(groups, key=fit) if groups else None  # ties: the first by code


def _candidates(session: Session, order: WorkOrder, group: SkillGroup | None) -> list[Staff]:
    stmt = select(Staff).where(Staff.active.is_(True), Staff.role.in_(_ROUTABLE_ROLES), Staff.capacity > 0)
    if group is not None:
        stmt = stmt.join(staff_skill_groups, staff_skill_groups.c.staff_id == Staff.id).where(
            staff_skill_groups.c.skill_group_id == group.id)
    else:
        stmt = stmt.where(Staff.department_id == order.department_id)
    # Lock the candidates (PostgreSQL) so that two transactions do not both fill an agent's last slot. FOR NO KEY
    # UPDATE: routing changes no key, and a row that only references a staff member (a meeting participant, a
    # notice: its foreign key check holds KEY SHARE) must not block it; with FOR UPDATE two emergencies at once,
    # each having invited the same people, waited for each other (a deadlock).
    # The skill groups come in the same statement (joined; the relationship's default is a second SELECT),
    # and only the staff rows are locked.
    stmt = stmt.options(joinedload(Staff.skill_groups)).order_by(Staff.id).with_for_update(key_share=True, of=Staff)
    return list(session.scalars(stmt).unique())


def route(session: Session, order: WorkOrder, flows: dict[str, Flow], *, now: datetime, actor: str = "system",
          exclude: frozenset[str] = frozenset(), level_now: int = 0) -> RoutingDecision:
    """Assign the order to an agent of its step's group; with nobody free, hand a high-risk order to the lead
    on duty, queue any other. `level_now`: the complaint level of the message being handled (not stored yet)."""
    from caredesk.workorders.actions import append_event

    group = _group_for(session, order, flows)
    staff = [s for s in _candidates(session, order, group) if s.id not in exclude]
    loads = agent_loads(session, (s.id for s in staff))
    group_skills = frozenset(group.skills or []) if group else frozenset()
    agents = [AgentState(s.id, frozenset(g for sg in s.skill_groups for g in (sg.skills or [])) or group_skills,
                         frozenset(s.languages or []), s.capacity, loads.get(s.id, 0), s.away, s.last_assigned_at)
              for s in staff]
    # Without a group the department's staff share the work evenly: skills only mean something in groups.
    strategy = (Strategy(group.strategy) if group.strategy in set(Strategy) else Strategy.SKILLS) \
        if group is not None else Strategy.LEAST_LOADED
    decision = choose_agent(Need(frozenset(order.skills or []), order.language), agents, strategy)
    order.skill_group_id = group.id if group else None
    order.updated_at = now
    detail = {"skill_group": group.code if group else None, "strategy": strategy.value, "reason": decision.reason,
              "reason_code": decision.code, "reason_params": decision.params,
              "skipped": [list(s) for s in decision.skipped]}
    if decision.staff_id is None:
        reasons = high_risk(risk_of(session, order, level_now=level_now))
        trigger = "after_wait" if order.queued_at is not None and order.assignee_id is None else "at_once"
        if reasons and hand_to_lead(session, order, reasons, now=now, trigger=trigger, actor=actor,
                                    detail=detail) is not None:
            return RoutingDecision(order.assignee_id, "nobody present with capacity: handed to the lead on duty",
                                   decision.skipped, "to_lead")
        already = order.queued_at is not None and order.assignee_id is None
        order.assignee_id, order.assigned_at = None, None
        order.queued_at = order.queued_at or now
        if not already:  # a drain that finds nobody free again adds nothing to the timeline
            append_event(session, order, "queued", actor=actor, now=now, data=detail)
    else:
        chosen = next(s for s in staff if s.id == decision.staff_id)
        chosen.last_assigned_at = now
        order.assignee_id, order.assigned_at, order.queued_at = chosen.id, now, None
        append_event(session, order, "assigned", actor=actor, now=now,
                     data=detail | {"staff_id": chosen.id, "staff": chosen.display_name})
    return decision


def drain_waiting(session: Session, flows: dict[str, Flow], *, skill_group_ids: Iterable[str | None],
                  department_ids: Iterable[str | None], now: datetime, limit: int = 50) -> list[str]:
    """Give freed capacity to the waiting orders of these groups/departments, highest priority and oldest
    first, until one stays queued. Returns the ids of the orders assigned."""
    groups = [g for g in set(skill_group_ids) if g]
    departments = [d for d in set(department_ids) if d]
    if not groups and not departments:
        return []
    where: ColumnElement[bool] | None = WorkOrder.skill_group_id.in_(groups) if groups else None
    if departments:
        dept = WorkOrder.skill_group_id.is_(None) & WorkOrder.department_id.in_(departments)
        where = dept if where is None else (where | dept)
    assert where is not None  # groups or departments is non-empty
    waiting = list(session.scalars(select(WorkOrder).where(
        where, WorkOrder.queued_at.is_not(None), WorkOrder.assignee_id.is_(None),
        WorkOrder.status_category.in_(ACTIVE)).order_by(WorkOrder.priority, WorkOrder.queued_at).limit(limit)
        .with_for_update()))
    by_id = {o.id: o for o in waiting}
    assigned: list[str] = []
    for queued in drain_order([QueuedOrder(o.id, o.priority, o.queued_at) for o in waiting if o.queued_at]):
        order = by_id[queued.order_id]
        if route(session, order, flows, now=now).queued:
            continue  # this order's group has nobody free; others (another group) may still fit
        assigned.append(order.id)
    events = events_of(session, now=now)
    for order_id in assigned:  # the workbench and the customer's live chat learn it at once
        events.record(WorkOrderChanged(order_id))
    return assigned
