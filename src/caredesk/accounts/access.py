"""Who may see which records, one function per aggregate, used by every route that reads or changes one.

- Customers are scoped by branch: staff of a branch see that branch's customers, plus the customers of
  conversations and work orders assigned to them; staff of the central centre (no branch) see all.
- Conversations follow their customer, and are also visible to whoever is assigned the conversation or can
  see one of its work orders (a branch agent handed an order needs the conversation behind it).
- Alarms follow their conversation (and are visible to whoever they are assigned to); emergency meetings
  and their incident records follow their conversation and are visible to every participant.
- Work orders are scoped by department (team leads also the departments below theirs) and, for branch
  staff, by the customer's branch; an order assigned to someone, or one they have worked on (transferred,
  replied to, moved on), stays visible to them: they answer the customer's follow-up calls.

Complaint managers, administrators and auditors see all; integration API keys act for the bank
(unscoped). A record outside the caller's scope is "not found": its existence is not revealed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from caredesk.errors import NotFound
from caredesk.storage.orm import (
    Alarm,
    Conversation,
    Customer,
    Department,
    EmergencyMeeting,
    IncidentRecord,
    MeetingParticipant,
    Message,
    Staff,
    WorkOrder,
    WorkOrderEvent,
)

__all__ = ["UNSCOPED_ROLES", "Viewer", "alarm_filter", "alarm_for", "conversation_filter",
           "conversation_for", "customer_filter", "customer_for", "incident_for", "meeting_filter", "meeting_for",
           "message_for", "visible_departments", "work_order_filter", "work_order_for"]

UNSCOPED_ROLES = frozenset({"complaint_manager", "admin", "auditor"})
T = TypeVar("T")


class Viewer(Protocol):
    """Who is asking: `kind` is staff or api_key (api/deps.py's Caller, for an API key or a signed-in staff member)."""

    @property
    def kind(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def role(self) -> str: ...


def visible_departments(session: Session, staff: Staff) -> set[str]:
    """The staff member's department and, for team leads, every department below it."""
    if staff.department_id is None:
        return set()
    seen = {staff.department_id}
    if staff.role == "team_lead":
        frontier = [staff.department_id]
        while frontier:
            children = set(session.scalars(select(Department.id).where(Department.parent_id.in_(frontier)))) - seen
            seen |= children
            frontier = list(children)
    return seen


def _scoped(session: Session, viewer: Viewer, scope: Callable[[Staff], ColumnElement[bool]]
            ) -> ColumnElement[bool]:
    if viewer.kind != "staff" or viewer.role in UNSCOPED_ROLES:
        return true()
    staff = session.get(Staff, viewer.id)
    return false() if staff is None else scope(staff)


def _one(session: Session, model: type[T], record_id: str, scope: ColumnElement[bool], what: str) -> T:
    """The record when it exists within the scope; otherwise "not found", whichever it is."""
    query = select(model).where(model.id == record_id, scope)  # type: ignore[attr-defined]  # T has an id column
    found = session.scalar(query)  # a statement of its own: nested in this call, mypy infers Never for T
    if found is None:
        raise NotFound(f"{what} not found", id=record_id)
    return found


def _in_branch(branch_id: str) -> ColumnElement[bool]:
    return Customer.branch_id == branch_id


def _order_scope(session: Session, staff: Staff) -> ColumnElement[bool]:
    in_department: ColumnElement[bool] = WorkOrder.department_id.in_(visible_departments(session, staff))
    if staff.branch_id is not None:
        branch_customers = select(Customer.id).where(_in_branch(staff.branch_id))
        in_department = and_(in_department, or_(WorkOrder.customer_id.is_(None),
                                                WorkOrder.customer_id.in_(branch_customers)))
    mine = select(WorkOrderEvent.work_order_id).where(WorkOrderEvent.actor == f"staff:{staff.id}")
    worked_on = WorkOrder.id.in_(mine)
    # people called to an emergency follow the work order that tracks it (the meeting page links to it)
    called = select(EmergencyMeeting.work_order_id).join(
        MeetingParticipant, MeetingParticipant.meeting_id == EmergencyMeeting.id).where(
        MeetingParticipant.staff_id == staff.id, EmergencyMeeting.work_order_id.is_not(None))
    return or_(in_department, WorkOrder.assignee_id == staff.id, worked_on, WorkOrder.id.in_(called))


def work_order_filter(session: Session, viewer: Viewer) -> ColumnElement[bool]:
    return _scoped(session, viewer, lambda staff: _order_scope(session, staff))


def work_order_for(session: Session, viewer: Viewer, order_id: str) -> WorkOrder:
    return _one(session, WorkOrder, order_id, work_order_filter(session, viewer), "work order")


def _customer_scope(staff: Staff) -> ColumnElement[bool]:
    if staff.branch_id is None:
        return true()
    assigned_conversation = exists().where(Conversation.customer_id == Customer.id,
                                           Conversation.assigned_staff_id == staff.id)
    assigned_order = exists().where(WorkOrder.customer_id == Customer.id, WorkOrder.assignee_id == staff.id)
    return or_(_in_branch(staff.branch_id), assigned_conversation, assigned_order)


def customer_filter(session: Session, viewer: Viewer) -> ColumnElement[bool]:
    return _scoped(session, viewer, _customer_scope)


def customer_for(session: Session, viewer: Viewer, customer_id: str) -> Customer:
    return _one(session, Customer, customer_id, customer_filter(session, viewer), "customer")


def _conversation_scope(session: Session, staff: Staff) -> ColumnElement[bool]:
    if staff.branch_id is None:
        return true()
    branch_customer = Conversation.customer_id.in_(select(Customer.id).where(_in_branch(staff.branch_id)))
    visible_order = exists().where(WorkOrder.conversation_id == Conversation.id, _order_scope(session, staff))
    return or_(branch_customer, Conversation.assigned_staff_id == staff.id, visible_order)


def conversation_filter(session: Session, viewer: Viewer) -> ColumnElement[bool]:
    return _scoped(session, viewer, lambda staff: _conversation_scope(session, staff))


def conversation_for(session: Session, viewer: Viewer, conversation_id: str) -> Conversation:
    return _one(session, Conversation, conversation_id, conversation_filter(session, viewer), "conversation")


def message_for(session: Session, viewer: Viewer, message_id: str) -> Message:
    """A message, when the viewer may see its conversation."""
    message = session.scalar(select(Message).join(Conversation, Conversation.id == Message.conversation_id)
                             .where(Message.id == message_id, conversation_filter(session, viewer)))
    if message is None:
        raise NotFound("message not found", id=message_id)
    return message


def _follows_conversation(session: Session, viewer: Viewer, conversation_id: Any,
                          also: Callable[[Staff], ColumnElement[bool]]) -> ColumnElement[bool]:
    """The scope of a record that belongs to a conversation: the conversation's, or `also` (assigned, invited)."""
    def scope(staff: Staff) -> ColumnElement[bool]:
        if staff.branch_id is None:
            return true()
        visible = select(Conversation.id).where(_conversation_scope(session, staff))
        return or_(conversation_id.in_(visible), also(staff))

    return _scoped(session, viewer, scope)


def alarm_filter(session: Session, viewer: Viewer) -> ColumnElement[bool]:
    return _follows_conversation(session, viewer, Alarm.conversation_id,
                                 lambda staff: Alarm.assigned_to == staff.id)


def alarm_for(session: Session, viewer: Viewer, alarm_id: str) -> Alarm:
    return _one(session, Alarm, alarm_id, alarm_filter(session, viewer), "alarm")


def meeting_filter(session: Session, viewer: Viewer) -> ColumnElement[bool]:
    def invited(staff: Staff) -> ColumnElement[bool]:
        return exists().where(MeetingParticipant.meeting_id == EmergencyMeeting.id,
                              MeetingParticipant.staff_id == staff.id)

    return _follows_conversation(session, viewer, EmergencyMeeting.conversation_id, invited)


def meeting_for(session: Session, viewer: Viewer, meeting_id: str) -> EmergencyMeeting:
    return _one(session, EmergencyMeeting, meeting_id, meeting_filter(session, viewer), "meeting")


def incident_for(session: Session, viewer: Viewer, record_id: str) -> IncidentRecord:
    """An incident record, when the viewer may see its meeting."""
    record = session.scalar(select(IncidentRecord)
                            .join(EmergencyMeeting, EmergencyMeeting.id == IncidentRecord.meeting_id)
                            .where(IncidentRecord.id == record_id, meeting_filter(session, viewer)))
    if record is None:
        raise NotFound("incident record not found", id=record_id)
    return record
