"""Who an audience of the alarm strategy is, for one conversation: from staff roles, departments and the
conversation's agent (and that agent's manager)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.alarms.strategy import Audience
from caredesk.storage.orm import Conversation, Department, Staff

__all__ = ["resolve_audience"]


def resolve_audience(session: Session, audience: Audience, conversation: Conversation) -> list[Staff]:
    agent = session.get(Staff, conversation.assigned_staff_id) if conversation.assigned_staff_id else None
    if audience.conversation_agent:
        return [agent] if agent is not None and agent.active else []
    stmt = select(Staff).where(Staff.role.in_(audience.roles), Staff.active).order_by(Staff.id)
    if audience.departments:
        stmt = stmt.join(Department, Department.id == Staff.department_id).where(
            Department.code.in_(audience.departments))
    people = list(session.scalars(stmt))
    if audience.prefer_agent_manager and agent is not None and agent.manager_id:
        manager = [p for p in people if p.id == agent.manager_id]
        if manager:
            return manager
    return people
