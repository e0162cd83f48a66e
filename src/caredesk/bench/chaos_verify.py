"""What the chaos check verifies once the faults are over and the system has drained: from the database, every
accepted message stored, triaged and decided once, with its work order, meeting or alarm once; every due notice
sent; from the SMTP server's log, how often each notice arrived. Also the SMTP server that keeps that log."""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from caredesk.bench.chaos_load import Logical

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["Findings", "SmtpLog", "unsent_notices", "verify"]

NOTICE_HEADER = "X-CareDesk-Notice"


@dataclass
class SmtpLog:
    """An aiosmtpd handler that keeps, for every message received, its notice header and when it came."""

    received: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, header or "")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes

        header = message_from_bytes(envelope.content).get(NOTICE_HEADER, "")
        with self._lock:
            self.received.append((time.monotonic(), str(header)))
        return "250 OK"

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(h for _, h in self.received)


@dataclass
class Findings:
    lost: list[str] = field(default_factory=list)  # "<key> (<kind>): why"
    duplicates: Counter[str] = field(default_factory=Counter)  # messages, work_orders, meetings, alarms
    duplicate_examples: list[str] = field(default_factory=list)
    missing_alarms: list[str] = field(default_factory=list)  # complaint conversations that raised none
    unsent: list[str] = field(default_factory=list)  # "<kind>:<id> status, attempts"
    notices: int = 0
    duplicate_emails: dict[str, int] = field(default_factory=dict)  # header -> copies received
    unmarked_emails: int = 0  # e-mails without the notice header
    sent_not_received: list[str] = field(default_factory=list)
    stored_messages: int = 0


def unsent_notices(session: Session, now: datetime) -> tuple[list[str], set[str]]:
    """(the due notices not sent, as "<kind>:<id> (state)"; the headers of every due notice)."""
    from sqlalchemy import or_, select

    from caredesk.storage.orm import AlarmDelivery, DutyHandoff, MeetingParticipant, SlaMark, ThresholdNotice

    unsent: list[str] = []
    due: set[str] = set()
    for p in session.scalars(select(MeetingParticipant)):
        due.add(f"meeting_participant:{p.id}")
        if p.email_status != "sent":
            unsent.append(f"meeting_participant:{p.id} ({p.email_status}, {p.email_attempts} attempts)")
    held_later = AlarmDelivery.not_before > now  # quiet hours: due then
    for d in session.scalars(select(AlarmDelivery).where(AlarmDelivery.channel == "email",
                                                         or_(AlarmDelivery.not_before.is_(None), ~held_later))):
        if d.status in ("skipped", "cancelled"):
            continue
        due.add(f"alarm_delivery:{d.id}")
        if d.status != "sent":
            unsent.append(f"alarm_delivery:{d.id} ({d.status}, {d.attempts} attempts)")
    marks = [("sla_mark", r.id, r.emailed_at, r.email_attempts) for r in session.scalars(select(SlaMark))]
    marks += [("duty_handoff", r.id, r.emailed_at, r.email_attempts) for r in session.scalars(select(DutyHandoff))]
    for t in session.scalars(select(ThresholdNotice).where(ThresholdNotice.channel == "email")):
        due.add(f"threshold_notice:{t.id}")
        if t.sent_at is None:
            unsent.append(f"threshold_notice:{t.id} (not sent, {t.attempts} attempts)")
    for kind, row_id, emailed_at, attempts in marks:
        due.add(f"{kind}:{row_id}")
        if emailed_at is None:
            unsent.append(f"{kind}:{row_id} (not e-mailed, {attempts} attempts)")
    return unsent, due


def _sent_headers(session: Session) -> set[str]:
    from sqlalchemy import select

    from caredesk.storage.orm import AlarmDelivery, MeetingParticipant, ThresholdNotice

    # SLA marks and hand-offs with nobody to e-mail are marked too: only those two tell a send by their state
    sent = {f"meeting_participant:{i}" for i in session.scalars(
        select(MeetingParticipant.id).where(MeetingParticipant.email_status == "sent"))}
    sent |= {f"alarm_delivery:{i}" for i in session.scalars(
        select(AlarmDelivery.id).where(AlarmDelivery.channel == "email", AlarmDelivery.status == "sent"))}
    sent |= {f"threshold_notice:{i}" for i in session.scalars(
        select(ThresholdNotice.id).where(ThresholdNotice.channel == "email", ThresholdNotice.sent_at.is_not(None)))}
    return sent


_DUE_FIELDS = {"participant_id": "meeting_participant", "delivery_id": "alarm_delivery", "mark_id": "sla_mark",
               "handoff_id": "duty_handoff"}


def outbox_trail(session: Session, since: datetime) -> dict[str, str]:
    """For each notice header, the outbox events that queued its task, in words ("event 238 recorded +21.3s,
    dispatched +30.1s, 2 attempts"; times from `since`): evidence of where an unsent notice was dropped."""
    from sqlalchemy import select

    from caredesk.storage.orm import OutboxEvent

    def at(when: datetime | None) -> str:
        return "-" if when is None else f"+{(when.replace(tzinfo=when.tzinfo or UTC) - since).total_seconds():.1f}s"

    trail: dict[str, list[str]] = defaultdict(list)
    for row in session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)):
        data = (row.payload or {}).get("data", {})
        for name, kind in _DUE_FIELDS.items():
            if name in data:
                state = f"dispatched {at(row.dispatched_at)}" if row.dispatched_at else "not dispatched"
                trail[f"{kind}:{data[name]}"].append(
                    f"outbox event {row.id} ({row.event_type}) recorded {at(row.created_at)}, {state}, "
                    f"{row.attempts} attempts" + (f", last error {row.last_error[:80]}" if row.last_error else ""))
    return {k: "; ".join(v) for k, v in trail.items()}


def verify(session: Session, logicals: list[Logical], smtp: SmtpLog, *, ref_prefix: str,
           load_started: datetime) -> Findings:
    """Compare what the clients were told with what the database holds, and the notices with the mailbox."""
    from sqlalchemy import func, select

    from caredesk.storage.orm import (
        Alarm,
        Conversation,
        Customer,
        EmergencyMeeting,
        Message,
        TriageResult,
        WorkOrder,
    )

    found = Findings()
    rows = session.execute(
        select(Message.id, Message.text, Customer.ref, TriageResult.id, TriageResult.decision_kind)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .join(Customer, Customer.id == Conversation.customer_id)
        .outerjoin(TriageResult, TriageResult.message_id == Message.id)
        .where(Message.direction == "in", Customer.ref.like(f"{ref_prefix}%"))).all()
    found.stored_messages = len(rows)
    stored: dict[tuple[str, str], list[str]] = defaultdict(list)
    triaged: dict[str, bool] = {}
    for message_id, text, ref, triage_id, decision in rows:
        stored[(ref, text)].append(message_id)
        triaged[message_id] = triage_id is not None and bool(decision)
    orders = Counter(session.scalars(select(WorkOrder.message_id).where(WorkOrder.message_id.in_(list(triaged)))))
    meetings = Counter(session.scalars(select(EmergencyMeeting.message_id)
                                       .where(EmergencyMeeting.message_id.in_(list(triaged)))))
    alarms_of: dict[str, int] = {ref: n for ref, n in session.execute(
        select(Customer.ref, func.count(Alarm.id)).join(Conversation, Conversation.id == Alarm.conversation_id)
        .join(Customer, Customer.id == Conversation.customer_id).where(Customer.ref.like(f"{ref_prefix}%"))
        .group_by(Customer.ref))}

    def duplicate(what: str, extra: int, example: str) -> None:
        found.duplicates[what] += extra
        if len(found.duplicate_examples) < 10:
            found.duplicate_examples.append(example)

    for m in logicals:
        ids = stored.get((m.customer_ref, m.text), [])
        label = f"{m.key} ({m.kind}, {m.customer_ref})"
        if not m.accepted:
            why = "not sent: its conversation never started" if m.skipped else \
                f"no 201 by the deadline (last {m.final}; {len(m.attempts)} attempts)"
            found.lost.append(f"{label}: {why}" + (f"; yet {len(ids)} stored" if ids else ""))
        elif m.message_id not in triaged:
            found.lost.append(f"{label}: answered {m.final} with message {m.message_id}, which is not stored")
        elif not triaged[m.message_id]:
            found.lost.append(f"{label}: message {m.message_id} stored without its triage and decision")
        if len(ids) > 1:
            duplicate("messages", len(ids) - 1, f"{label}: stored {len(ids)} times ({', '.join(ids)})")
        for what, counts in (("work_orders", orders), ("meetings", meetings)):
            n = sum(counts[i] for i in ids)
            if n > 1:
                duplicate(what, n - 1, f"{label}: {n} {what}")
    for ref in sorted({m.customer_ref for m in logicals}):
        n = int(alarms_of.get(ref, 0))
        if n > 1:
            duplicate("alarms", n - 1, f"customer {ref}: {n} alarms")
    complaint_refs = {m.customer_ref for m in logicals if m.kind == "complaint"}
    for ref in sorted(complaint_refs):
        conversation = [m for m in logicals if m.customer_ref == ref]
        if all(m.accepted for m in conversation) and not alarms_of.get(ref):
            found.missing_alarms.append(ref)

    unsent, due = unsent_notices(session, datetime.now(UTC))
    trail = outbox_trail(session, load_started) if unsent else {}
    found.unsent = [f"{u} [{trail.get(u.split(' ')[0], 'no outbox event')}]" for u in unsent]
    found.notices = len(due)
    received = smtp.counts()
    found.unmarked_emails = received.pop("", 0)
    found.duplicate_emails = {h: n for h, n in received.items() if n > 1}
    found.sent_not_received = sorted(_sent_headers(session) - set(received))
    return found
