"""Read-only queries behind the workbench pages. The queue takes a fixed number of queries, whatever its
length. Messages are listed by time, then direction: a customer's message and the bot's reply share one
timestamp and ids within one millisecond are random, so "in" before "out" keeps the reply after the
question."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from caredesk.accounts.access import Viewer, conversation_filter, conversation_for
from caredesk.alarms.actions import list_alarms
from caredesk.alarms.alarm_status import AlarmStatus
from caredesk.emergency.meeting_status import MeetingStatus
from caredesk.intake.clarify import ClarifyOption, options_of
from caredesk.profiles.priority import guarded, sla_at_risk
from caredesk.storage.orm import (
    Alarm,
    Conversation,
    Department,
    EmergencyMeeting,
    KnowledgeEntry,
    MeetingParticipant,
    Message,
    Staff,
    TriageResult,
    WorkOrder,
    WorkOrderEvent,
)
from caredesk.workorders.assignment import ACTIVE
from caredesk.workorders.model import priority_of
from caredesk.workorders.queue_order import QueueFacts, Reason, ordered, reason_keys

__all__ = ["CaseText", "ConversationView", "Invitation", "QueueRow", "chat_history", "conversation_view",
           "created_reasons", "departments_by_id", "pending_invitations", "pending_options", "queue",
           "recent_customer_text", "reply_order", "staff_by_id", "transcript"]

QUEUE_LENGTH = 50


@dataclass(frozen=True)
class QueueRow:
    conversation_id: str
    customer_ref: str
    channel: str
    last_message_at: datetime
    last_text: str  # what the customer wrote last (masked), never the bot's reply
    last_author: str
    triage: TriageResult | None  # of the last inbound message
    alarm: bool
    work_order_id: str | None  # the conversation's latest
    meeting_id: str | None
    emergency: bool = False  # an emergency meeting that has not ended
    priority: int = 5
    next_due_at: datetime | None = None  # the latest work order's `next_due_at`
    reasons: list[Reason] = field(default_factory=list)
    case_number: str | None = None  # of that work order
    guarded: bool = False  # a complaint at level 3+ or an SLA about to breach: no profile lift passes it

    @property
    def facts(self) -> QueueFacts:
        return QueueFacts(emergency=self.emergency, alarmed=self.alarm, priority=self.priority,
                          next_due_at=self.next_due_at, last_activity=self.last_message_at, guarded=self.guarded)

    @property
    def pinned(self) -> bool:
        return self.emergency or self.alarm


@dataclass(frozen=True)
class ConversationView:
    conversation: Conversation
    messages: list[Message]
    alarms: list[Alarm]
    entries: dict[str, KnowledgeEntry] = field(default_factory=dict)
    case_numbers: dict[str, str] = field(default_factory=dict)  # work order id -> its number as people see it


def _ranked(model: Any, ids: list[str], *where: Any) -> Any:
    """Rows of `model` for the conversations, ranked newest first within each conversation."""
    rank = func.row_number().over(partition_by=model.conversation_id,
                                  order_by=(model.created_at.desc(), model.id.desc())).label("rank")
    return (select(model.id.label("row_id"), model.conversation_id.label("conversation_id"), rank)
            .where(model.conversation_id.in_(ids), *where).subquery())


def _latest_messages(session: Session, ids: list[str], *where: Any) -> dict[str, Message]:
    """The newest message of each conversation (its triage comes with it in one more query)."""
    ranked = _ranked(Message, ids, *where)
    rows = session.scalars(select(Message).join(ranked, ranked.c.row_id == Message.id)
                           .where(ranked.c.rank == 1))
    return {m.conversation_id: m for m in rows}


def _latest_rows(session: Session, model: Any, ids: list[str]) -> dict[str, Any]:
    """The newest row of `model` for each conversation."""
    ranked = _ranked(model, ids)
    rows = session.scalars(select(model).join(ranked, ranked.c.row_id == model.id).where(ranked.c.rank == 1))
    return {r.conversation_id: r for r in rows}


def _meetings(session: Session, ids: list[str]) -> dict[str, tuple[str, bool]]:
    """Each conversation's newest meeting: (id, still going), without loading the participants."""
    ranked = _ranked(EmergencyMeeting, ids)
    rows = session.execute(select(EmergencyMeeting.conversation_id, EmergencyMeeting.id, EmergencyMeeting.status)
                           .join(ranked, ranked.c.row_id == EmergencyMeeting.id).where(ranked.c.rank == 1))
    return {cid: (mid, status != MeetingStatus.ENDED) for cid, mid, status in rows}


def _complaint_types(session: Session, ids: list[str]) -> tuple[dict[str, set[str]], dict[str, int]]:
    """The serious complaint types (level 2 and above: repeated contact, regulator...) said in each conversation,
    and its highest complaint level when that is 2 or above."""
    rows = session.execute(select(Message.conversation_id, TriageResult.complaint_types, TriageResult.complaint_level)
                           .join(TriageResult, TriageResult.message_id == Message.id)
                           .where(Message.conversation_id.in_(ids), TriageResult.complaint_level >= 2))
    found: dict[str, set[str]] = {}
    levels: dict[str, int] = {}
    for cid, types, level in rows:
        found.setdefault(cid, set()).update(types or [])
        levels[cid] = max(levels.get(cid, 0), int(level or 0))
    return found, levels


def created_reasons(session: Session, order_ids: list[str]) -> dict[str, list[str]]:
    """The priority rule's reasons, as recorded when each order was created or last had its priority raised
    (workorders/lead_notice.py; one query, even for none: the queue's query count does not depend on what it
    shows)."""
    created = session.execute(select(WorkOrderEvent.work_order_id, WorkOrderEvent.data)
                              .where(WorkOrderEvent.work_order_id.in_(order_ids),
                                     WorkOrderEvent.kind.in_(("created", "priority_raised")))
                              .order_by(WorkOrderEvent.work_order_id, WorkOrderEvent.seq))
    return {oid: list((data or {}).get("priority_reasons") or []) for oid, data in created}  # the latest wins


def _visible_conversations(session: Session, viewer: Viewer, limit: int) -> list[Conversation]:
    """The most recently active conversations, and those with an open alarm or an emergency still going
    however long ago they last moved (they are pinned on top)."""
    visible = conversation_filter(session, viewer)
    newest_first = (Conversation.last_message_at.desc(), Conversation.id.desc())
    recent = list(session.scalars(select(Conversation).where(visible).order_by(*newest_first).limit(limit)))
    urgent = or_(Conversation.id.in_(select(Alarm.conversation_id).where(Alarm.status == AlarmStatus.OPEN)),
                 Conversation.id.in_(select(EmergencyMeeting.conversation_id)
                                     .where(EmergencyMeeting.status != MeetingStatus.ENDED)))
    seen = {c.id for c in recent}
    if not seen:
        return []
    pinned = session.scalars(select(Conversation).where(visible, urgent, Conversation.id.not_in(seen))
                             .order_by(*newest_first).limit(limit))
    return recent + list(pinned)


def _priority(order: WorkOrder | None, reasons: list[str], inbound: Message | None, tier: str
              ) -> tuple[int, list[str]]:
    """The work order's priority and the rule's reasons for it; without an order, the rule applied to the
    last message's triage (what the order would get)."""
    if order is not None:
        return order.priority, reasons
    tr = inbound.triage if inbound else None
    if tr is None:
        return 5, []
    return priority_of(tr.urgency, tier, tr.emotion)


def queue(session: Session, viewer: Viewer, limit: int = QUEUE_LENGTH, *, now: datetime | None = None
          ) -> list[QueueRow]:
    """The conversations the viewer may see, in queue order (`workorders.queue_order`): emergencies and
    alarmed conversations pinned on top, then by priority (a complaint at level 3+, or an order due within
    the guard's window of `now`, ahead of any profile lift), SLA due time and the newest activity."""
    conversations = _visible_conversations(session, viewer, limit)
    if not conversations:
        return []
    ids = [c.id for c in conversations]
    last_in = _latest_messages(session, ids, Message.direction == "in")
    orders: dict[str, WorkOrder] = _latest_rows(session, WorkOrder, ids)
    reasons = created_reasons(session, [o.id for o in orders.values()])
    meetings = _meetings(session, ids)
    complaints, levels = _complaint_types(session, ids)
    alarmed = set(session.scalars(select(Alarm.conversation_id).where(Alarm.conversation_id.in_(ids),
                                                                      Alarm.status == AlarmStatus.OPEN)))
    rows = []
    for c in conversations:
        inbound, order = last_in.get(c.id), orders.get(c.id)
        meeting_id, meeting_going = meetings.get(c.id, (None, False))
        priority, why = _priority(order, reasons.get(order.id, []) if order else [], inbound, c.customer.tier)
        rows.append(QueueRow(
            conversation_id=c.id, customer_ref=c.customer.ref, channel=c.channel,
            last_message_at=c.last_message_at, last_text=inbound.text_masked if inbound else "",
            last_author=inbound.author if inbound else "", triage=inbound.triage if inbound else None,
            alarm=c.id in alarmed, work_order_id=order.id if order else None, meeting_id=meeting_id,
            emergency=meeting_going, priority=priority, next_due_at=order.next_due_at if order else None,
            case_number=order.number if order else None,
            reasons=reason_keys(why, sorted(complaints.get(c.id, ()))),
            guarded=guarded(levels.get(c.id, 0), now is not None and order is not None
                            and order.status_category in ACTIVE and sla_at_risk(order.next_due_at, now))))
    return ordered(rows, lambda r: r.facts)


def conversation_view(session: Session, viewer: Viewer, conversation_id: str) -> ConversationView:
    conversation = conversation_for(session, viewer, conversation_id)
    messages = list(session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                    .order_by(Message.created_at, Message.direction, Message.id)))
    entry_ids = {m.triage.answer_entry_id for m in messages if m.triage and m.triage.answer_entry_id}
    entries: dict[str, KnowledgeEntry] = {}
    if entry_ids:
        rows = session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.id.in_(entry_ids)))
        entries = {e.id: e for e in rows}
    order_ids = {m.triage.work_order_id for m in messages if m.triage and m.triage.work_order_id}
    numbers = {order_id: number or order_id for order_id, number in session.execute(
        select(WorkOrder.id, WorkOrder.case_number).where(WorkOrder.id.in_(order_ids)))} if order_ids else {}
    return ConversationView(conversation, messages, list_alarms(session, conversation_id), entries, numbers)


def staff_by_id(session: Session, ids: list[str | None]) -> dict[str, Staff]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {s.id: s for s in session.scalars(select(Staff).where(Staff.id.in_(wanted)))}


def departments_by_id(session: Session, ids: list[str | None]) -> dict[str, Department]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {d.id: d for d in session.scalars(select(Department).where(Department.id.in_(wanted)))}


def chat_history(session: Session, conversation_id: str | None, customer_ref: str | None) -> list[Message]:
    """The customer's own conversation (kept in their browser session), for the chat page after a reload."""
    if not conversation_id or not customer_ref:
        return []
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.customer.ref != customer_ref:
        return []
    return list(session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                .order_by(Message.created_at, Message.direction, Message.id)))


TRANSCRIPT_LENGTH = 200


def transcript(session: Session, conversation_id: str, n: int = TRANSCRIPT_LENGTH) -> list[Message]:
    """The conversation's last `n` messages, oldest first (the caller has checked the reader's scope)."""
    rows = list(session.scalars(select(Message).where(Message.conversation_id == conversation_id)
                                .order_by(Message.created_at.desc(), Message.id.desc()).limit(n)))
    return rows[::-1]


def pending_options(session: Session, conversation_id: str | None, history: list[Message]
                    ) -> tuple[ClarifyOption, ...]:
    """The options of the clarifying question this chat is waiting on (offered as buttons again after a
    reload)."""
    if not conversation_id or not history:
        return ()
    conversation = session.get(Conversation, conversation_id)
    pending = conversation.pending_clarification if conversation is not None else None
    # the state is dropped by the customer's next message, so a question still pending is the last one asked
    if not pending or pending.get("message_id") not in {m.id for m in history if m.direction == "out"}:
        return ()
    return options_of(pending)


RECENT_CUSTOMER_MESSAGES = 3


@dataclass(frozen=True)
class CaseText:
    """What knowledge at hand searches with: the customer's recent words, and the case's triage topic."""

    text: str
    content_type: str | None
    problem_type: str | None


def recent_customer_text(session: Session, conversation_id: str, n: int = RECENT_CUSTOMER_MESSAGES) -> CaseText:
    """The conversation's last `n` customer messages (masked, oldest first) and the newest one's topic."""
    rows = list(session.scalars(select(Message).where(Message.conversation_id == conversation_id,
                                                      Message.direction == "in")
                                .order_by(Message.created_at.desc(), Message.id.desc()).limit(n)))
    triage = rows[0].triage if rows else None
    return CaseText(" ".join(m.text_masked for m in reversed(rows)),
                    triage.content_type if triage else None, triage.problem_type if triage else None)


def reply_order(session: Session, conversation_id: str) -> WorkOrder | None:
    """The conversation's newest open or paused work order: a reply from the conversation page goes through
    it (its SLA clocks, its timeline, the customer's channel)."""
    return session.scalar(select(WorkOrder).where(WorkOrder.conversation_id == conversation_id,
                                                  WorkOrder.status_category.in_(ACTIVE))
                          .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc()).limit(1))


@dataclass(frozen=True)
class Invitation:
    meeting: EmergencyMeeting
    participant: MeetingParticipant


def pending_invitations(session: Session, staff_id: str) -> list[Invitation]:
    """The emergency meetings this person is invited to and has not joined, while they have not ended:
    shown on their workbench until they respond."""
    rows = session.execute(select(EmergencyMeeting, MeetingParticipant)
                           .join(MeetingParticipant, MeetingParticipant.meeting_id == EmergencyMeeting.id)
                           .where(MeetingParticipant.staff_id == staff_id, MeetingParticipant.joined_at.is_(None),
                                  EmergencyMeeting.status != MeetingStatus.ENDED)
                           .order_by(EmergencyMeeting.created_at.desc()).limit(20))
    return [Invitation(meeting, participant) for meeting, participant in rows]
