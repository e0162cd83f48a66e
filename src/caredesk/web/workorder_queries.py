"""Read models behind the work-order pages: the queues with every row's SLA countdown (a fixed number of
queries, whatever the length), the order page (details, SLA targets, timeline with names, what the flow
asks of the current step, what the viewer may do), the supervisor's board and callbacks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from caredesk.accounts.access import work_order_filter
from caredesk.accounts.roles import can
from caredesk.alarms.alarm_status import AlarmStatus
from caredesk.emergency.meeting_status import MeetingStatus
from caredesk.http.deps import Caller
from caredesk.profiles.priority import guarded, sla_at_risk
from caredesk.sla.policy import SlaConfig, SlaState, SlaStatus, evaluate
from caredesk.sla.tracking import timelines_of
from caredesk.storage.orm import (
    Alarm,
    CallbackTask,
    Customer,
    Department,
    EmergencyMeeting,
    Macro,
    SatisfactionSurvey,
    Staff,
    TriageResult,
    WorkOrder,
    WorkOrderEvent,
)
from caredesk.web.queries import created_reasons, departments_by_id, staff_by_id
from caredesk.workorders.actions import get_work_order
from caredesk.workorders.assignment import ACTIVE
from caredesk.workorders.flows import Flow, FlowStep
from caredesk.workorders.model import TRANSITIONS, Status
from caredesk.workorders.queries import (
    BoardRow,
    callbacks,
    emergency_meeting_of,
    macros,
    order_detail,
    sla_board,
    sla_status,
)
from caredesk.workorders.queue_order import QueueFacts, Reason, ordered, reason_keys
from caredesk.workorders.replies import render_macro

__all__ = ["BoardView", "CallbackView", "OrderView", "QueueRow", "SlaBox", "SlaView", "StepForm",
           "board_view", "callback_view", "macro_text", "my_queue", "order_view", "reply_parts", "sla_box",
           "team_queue"]

QUEUE_LENGTH = 100
_SEVERITY = {SlaState.BREACHED: 3, SlaState.WARNING: 2, SlaState.RUNNING: 1}
# Statuses offered by the plain "change status" control; resolve, close and reopen have their own forms.
_PLAIN_STATUSES = (Status.IN_PROGRESS, Status.WAITING_CUSTOMER)


@dataclass(frozen=True)
class SlaView:
    """One SLA target as the pages show it: remaining (or overdue) business minutes, the due time."""

    target: str
    state: str
    due_at: datetime | None
    remaining_minutes: int
    overdue_minutes: int
    target_minutes: int

    @classmethod
    def of(cls, st: SlaStatus) -> SlaView:
        left = max(0, round(st.target_minutes - st.used_minutes))
        return cls(st.target.value, st.state.value, st.due_at, left, round(st.overdue_minutes),
                   round(st.target_minutes))


def _statuses(config: SlaConfig, order: WorkOrder, timeline: Any, now: datetime) -> list[SlaView]:
    policy = config.named(order.sla_policy)
    return [SlaView.of(s) for s in evaluate(policy, timeline, now)] if policy else []


def _worst(views: list[SlaView]) -> SlaView | None:
    """The target that needs attention first: breached, then warning, then the nearest running one."""
    live = [v for v in views if v.state in ("running", "warning", "breached")]
    if not live:
        return None
    return max(live, key=lambda v: (_SEVERITY.get(SlaState(v.state), 0), -v.remaining_minutes))


@dataclass(frozen=True)
class QueueRow:
    order: WorkOrder
    sla: SlaView | None
    priority_reasons: list[str]
    department: Department | None
    assignee: Staff | None
    reasons: list[Reason] = field(default_factory=list)  # the priority reasons in words
    emergency: bool = False  # the order's conversation has an emergency meeting that has not ended
    alarm: bool = False  # ... or an open alarm
    guarded: bool = False  # a complaint at level 3+ or an SLA about to breach: no profile lift passes it

    @property
    def pinned(self) -> bool:
        return self.emergency or self.alarm

    @property
    def facts(self) -> QueueFacts:
        return QueueFacts(emergency=self.emergency, alarmed=self.alarm, priority=self.order.priority,
                          next_due_at=self.order.next_due_at, last_activity=self.order.created_at,
                          guarded=self.guarded)


def _pins(session: Session, orders: list[WorkOrder]) -> tuple[set[str], set[str]]:
    """The conversations (of these orders) with an emergency still going, and with an open alarm."""
    ids = list({o.conversation_id for o in orders if o.conversation_id})
    if not ids:
        return set(), set()
    going = set(session.scalars(select(EmergencyMeeting.conversation_id).where(
        EmergencyMeeting.conversation_id.in_(ids), EmergencyMeeting.status != MeetingStatus.ENDED)))
    alarmed = set(session.scalars(select(Alarm.conversation_id).where(Alarm.conversation_id.in_(ids),
                                                                      Alarm.status == AlarmStatus.OPEN)))
    return going, alarmed


def _complaints(session: Session, ids: list[str]) -> tuple[dict[str, list[str]], dict[str, int]]:
    """The serious complaint types (repeated contact, regulator...) of the messages of each order, and its
    highest complaint level when that is 2 or above."""
    if not ids:
        return {}, {}
    rows = session.execute(select(TriageResult.work_order_id, TriageResult.complaint_types,
                                  TriageResult.complaint_level)
                           .where(TriageResult.work_order_id.in_(ids), TriageResult.complaint_level >= 2))
    found: dict[str, list[str]] = {}
    levels: dict[str, int] = {}
    for oid, types, level in rows:
        if oid:
            found.setdefault(oid, []).extend(types or [])
            levels[oid] = max(levels.get(oid, 0), int(level or 0))
    return found, levels


def _rows(session: Session, orders: list[WorkOrder], config: SlaConfig, now: datetime) -> list[QueueRow]:
    """The rows in queue order: emergencies and alarmed conversations' orders pinned on top, then priority
    and due time (`workorders.queue_order`), a complaint at level 3+ or an SLA about to breach ahead of any
    profile lift (`profiles.priority.queue_rank`)."""
    timelines = timelines_of(session, orders)
    ids = [o.id for o in orders]
    reasons = created_reasons(session, ids)
    complaints, levels = _complaints(session, ids)
    going, alarmed = _pins(session, orders)
    departments = departments_by_id(session, [o.department_id for o in orders])
    people = staff_by_id(session, [o.assignee_id for o in orders])
    rows = []
    for o in orders:
        worst = _worst(_statuses(config, o, timelines[o.id], now))
        at_risk = sla_at_risk(o.next_due_at, now, sla_state=worst.state if worst else None)
        rows.append(QueueRow(o, worst, reasons.get(o.id, []), departments.get(o.department_id or ""),
                             people.get(o.assignee_id or ""),
                             reason_keys(reasons.get(o.id, []), complaints.get(o.id, [])),
                             emergency=o.conversation_id in going, alarm=o.conversation_id in alarmed,
                             guarded=guarded(levels.get(o.id, 0), at_risk)))
    return ordered(rows, lambda r: r.facts)


# Most urgent first; orders without a due time after those with one, on SQLite as on PostgreSQL.
_BY_PRIORITY = (WorkOrder.priority, WorkOrder.next_due_at.is_(None), WorkOrder.next_due_at, WorkOrder.created_at,
                WorkOrder.id)


def my_queue(session: Session, staff: Staff, config: SlaConfig, now: datetime) -> list[QueueRow]:
    """The open and paused orders assigned to this person, most urgent first."""
    orders = list(session.scalars(select(WorkOrder).where(WorkOrder.assignee_id == staff.id,
                                                          WorkOrder.status_category.in_(ACTIVE))
                                  .order_by(*_BY_PRIORITY).limit(QUEUE_LENGTH)))
    return _rows(session, orders, config, now)


def team_queue(session: Session, staff: Staff, config: SlaConfig, now: datetime) -> list[QueueRow]:
    """The open and paused orders of this person's skill groups and department, the waiting ones included."""
    scope: list[ColumnElement[bool]] = []
    groups = [g.id for g in staff.skill_groups]
    if groups:
        scope.append(WorkOrder.skill_group_id.in_(groups))
    if staff.department_id:
        scope.append(WorkOrder.department_id == staff.department_id)
    if not scope:
        return []
    visible = work_order_filter(session, Caller.of_staff(staff))
    orders = list(session.scalars(select(WorkOrder)
                                  .where(or_(*scope), visible, WorkOrder.status_category.in_(ACTIVE))
                                  .order_by(*_BY_PRIORITY).limit(QUEUE_LENGTH)))
    return _rows(session, orders, config, now)


@dataclass(frozen=True)
class StepForm:
    """What leaving the current step takes: where it may go and which fields must be filled."""

    current: FlowStep
    next_steps: tuple[str, ...]
    requires: tuple[str, ...]
    values: dict[str, str]


@dataclass
class OrderView:
    order: WorkOrder
    events: list[WorkOrderEvent]
    sla: list[SlaView]
    departments: dict[str, Department]  # by id; by code below; all of them for the transfer dialog
    by_code: dict[str, Department]
    all_departments: list[Department]
    people: dict[str, Staff]
    flow: Flow | None
    step_form: StepForm | None
    statuses: list[str]
    macros: list[Macro]
    survey: SatisfactionSurvey | None
    may_change: bool
    active: bool
    names: dict[str, str] = field(default_factory=dict)  # actor string -> display name
    may_supervise: bool = False
    meeting_id: str | None = None  # the emergency meeting this order tracks to closure

    @property
    def emergency_pending(self) -> bool:
        """Urgent below the emergency gate, and no lead has started the response yet."""
        kinds = {e.kind for e in self.events}
        return "emergency_suggested" in kinds and "emergency_started" not in kinds


def _actor_names(people: dict[str, Staff], events: list[WorkOrderEvent]) -> dict[str, str]:
    names = {f"staff:{p.id}": p.display_name for p in people.values()}
    return {e.actor: names.get(e.actor, e.actor) for e in events}


def order_view(session: Session, order_id: str, staff: Staff, *, flows: dict[str, Flow], config: SlaConfig,
               now: datetime) -> OrderView:
    detail = order_detail(session, order_id, config, now)
    order, events = detail.order, detail.events
    mentioned: list[str | None] = [order.assignee_id]
    for e in events:
        mentioned += [e.actor.partition(":")[2] if e.actor.startswith("staff:") else None,
                      e.data.get("staff_id"), e.data.get("to") if e.kind == "reassigned" else None,
                      e.data.get("from") if e.kind in ("assigned", "reassigned") else None,
                      e.data.get("notified")]
    people = staff_by_id(session, [m for m in mentioned if isinstance(m, str)])
    all_departments = list(session.scalars(select(Department).order_by(Department.code)))
    flow = flows.get(order.flow)
    step = flow.step(order.step) if flow else None
    values = {k: str(v) for k, v in (order.fields or {}).items()}
    step_form = StepForm(step, step.next, step.requires, values) if step else None
    try:
        allowed = TRANSITIONS[Status(order.status)]
    except ValueError:  # a status no longer known: only the dedicated forms are offered
        allowed = frozenset()
    active = order.status_category in ACTIVE
    return OrderView(
        order=order, events=events, sla=[SlaView.of(s) for s in detail.sla],
        departments={d.id: d for d in all_departments}, by_code={d.code: d for d in all_departments},
        all_departments=all_departments, people=people,
        flow=flow, step_form=step_form, statuses=[s.value for s in _PLAIN_STATUSES if s in allowed],
        macros=macros(session),
        survey=session.scalar(select(SatisfactionSurvey).where(SatisfactionSurvey.work_order_id == order.id)),
        may_change=can(staff.role, "workorder.change"), active=active,
        may_supervise=can(staff.role, "workorder.supervise"),
        names=_actor_names(people, events),
        meeting_id=meeting.id if (meeting := emergency_meeting_of(session, order.id)) else None)


@dataclass(frozen=True)
class SlaBox:
    """What the SLA box on the order page needs, for its refresh every minute."""

    order: WorkOrder
    sla: list[SlaView]


def sla_box(session: Session, order_id: str, *, config: SlaConfig, now: datetime) -> SlaBox:
    order = get_work_order(session, order_id)
    return SlaBox(order, [SlaView.of(s) for s in sla_status(session, order, config, now)])


@dataclass(frozen=True)
class BoardView:
    rows: list[BoardRow]
    people: dict[str, Staff]
    departments: dict[str, Department]


def board_view(session: Session) -> BoardView:
    rows = sla_board(session)
    return BoardView(rows, staff_by_id(session, [r.order.assignee_id for r in rows]),
                     departments_by_id(session, [r.order.department_id for r in rows]))


@dataclass(frozen=True)
class CallbackView:
    tasks: list[CallbackTask]
    orders: dict[str, WorkOrder]
    people: dict[str, Staff]


def callback_view(session: Session) -> CallbackView:
    tasks = callbacks(session, status="open")
    ids = list({t.work_order_id for t in tasks})
    orders = {o.id: o for o in session.scalars(select(WorkOrder).where(WorkOrder.id.in_(ids)))} if ids else {}
    return CallbackView(tasks, orders, staff_by_id(session, [t.assignee_id for t in tasks]))


def macro_text(session: Session, order_id: str, code: str) -> str:
    """The macro filled in for this order, as the reply box shows it ("" for no or an unknown macro)."""
    order = get_work_order(session, order_id)
    macro = session.scalar(select(Macro).where(Macro.code == code)) if code else None
    if macro is None:
        return ""
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    return render_macro(macro, language=order.language, order=order, customer=customer)


def reply_parts(session: Session, order_id: str, text: str, code: str) -> tuple[str, str | None]:
    """(text, macro) for `do_reply`: while the reply still begins with the macro as it was filled in, it is
    sent as that macro (recorded on the event) plus what the agent added; once the agent edits the macro's
    words, the reply is their own text."""
    filled = macro_text(session, order_id, code).strip() if code else ""
    if filled and text.strip().startswith(filled):
        return text.strip()[len(filled):].strip(), code
    return text, None
