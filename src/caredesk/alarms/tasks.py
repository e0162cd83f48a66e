"""Background work of the alarm strategy: delivering one notice (e-mail, SMS, chat-ops webhook) and
escalating an alarm nobody acknowledged. Both take ids, re-check the state they act on, and are
idempotent; a failed delivery is recorded and raised so that the queue retries it. A delivery is claimed,
sent with no transaction open, and recorded (tasks/notice.py)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caredesk.alarms.alarm_status import AlarmStatus
from caredesk.alarms.delivery_status import SENDABLE, DeliveryStatus, check_delivery_move
from caredesk.alarms.dispatch import do_notify_level, log_alarm_event, schedule_escalation
from caredesk.alarms.events import EscalationDue, NoticeDue
from caredesk.alarms.messages import AlarmNotice, alarm_email, alarm_text
from caredesk.alarms.strategy import AlarmStrategy
from caredesk.clock import Clock
from caredesk.compliance.audit import record_audit
from caredesk.notify.email import SmtpSender, tag_notice
from caredesk.notify.sms import SmsGateway
from caredesk.notify.webhook import build_webhook_request, post_webhook
from caredesk.settings import Settings
from caredesk.storage.orm import Alarm, AlarmDelivery, Conversation, Staff
from caredesk.storage.outbox import task_done
from caredesk.storage.unit_of_work import UnitOfWork, events_of
from caredesk.tasks.context import task_context
from caredesk.tasks.notice import Claimed, Skip, claim_is_live, deliver_notice

__all__ = ["deliver_alarm_notice", "escalate_alarm"]

log = logging.getLogger(__name__)
RESCHEDULE_FLOOR_SECONDS = 5.0


class AlarmTaskDeps(Protocol):
    settings: Settings
    clock: Clock
    mailer: SmtpSender
    alarm_strategy: AlarmStrategy

    def uow(self) -> UnitOfWork: ...


def _notice(rt: AlarmTaskDeps, alarm: Alarm) -> AlarmNotice:
    reasons = tuple(f"{r['feature']} = {r['value']} (+{r['contribution']})"
                    for r in (alarm.forecast or {}).get("reasons", []))
    return AlarmNotice(alarm.id, alarm.conversation_id, str(alarm.details.get("customer_ref", "")),
                       str(alarm.details.get("channel", "")), alarm.level, alarm.count, alarm.threshold,
                       tuple(alarm.details.get("types", [])), alarm.escalation_level, alarm.forecast_probability,
                       reasons, f"{rt.settings.base_url}/workbench/conversations/{alarm.conversation_id}")


def _send(rt: AlarmTaskDeps, delivery: AlarmDelivery, alarm: Alarm, staff: Staff | None) -> None:
    notice = _notice(rt, alarm)
    if delivery.channel == "email":
        name = staff.display_name if staff else delivery.recipient
        rt.mailer.send(tag_notice(alarm_email(notice, to_name=name, to_address=delivery.address,
                                              sender=rt.settings.mail_from), "alarm_delivery", delivery.id))
    elif delivery.channel == "sms":
        SmsGateway(rt.settings.sms_gateway_url, rt.settings.sms_gateway_token).send(
            delivery.address, alarm_text(notice), delivery.id)
    elif delivery.channel == "webhook":
        room = rt.alarm_strategy.webhooks.get(delivery.recipient)
        if room is None:
            raise OSError(f"webhook {delivery.recipient!r} is no longer in the alarm strategy")
        data = {"event": "alarm", "alarm_id": alarm.id, "conversation_id": alarm.conversation_id,
                "escalation_level": alarm.escalation_level, "count": alarm.count,
                "types": alarm.details.get("types", []), "probability": alarm.forecast_probability}
        request = build_webhook_request(room.kind, room.url, rt.settings.alarm_webhook_secrets.get(room.name),
                                        alarm_text(notice), data, now=rt.clock.now())
        post_webhook(request)


def deliver_alarm_notice(delivery_id: str, outbox_id: int | None = None) -> str:
    """'sent', 'skipped' (already sent, or unknown), 'cancelled' (the alarm was handled meanwhile),
    'not_due' (held by quiet hours: checked again later) or 'claimed' (another worker is sending it).
    Claimed, sent, recorded (tasks/notice.py); `outbox_id`: the event's row, done with the notice."""
    rt: AlarmTaskDeps = task_context()

    def claim(s: Session, now: datetime) -> Claimed[tuple[AlarmDelivery, Alarm, Staff | None]] | Skip:
        delivery = s.scalar(select(AlarmDelivery).where(AlarmDelivery.id == delivery_id).with_for_update()
                            .execution_options(populate_existing=True))
        if delivery is None or delivery.status not in SENDABLE:
            return Skip("skipped")
        if claim_is_live(delivery.claimed_until, now):
            return Skip("claimed", done=False)
        if delivery.not_before is not None and delivery.not_before > now:
            wait = max(delivery.not_before, now + timedelta(seconds=RESCHEDULE_FLOOR_SECONDS))
            events_of(s, now=now).record(NoticeDue(delivery_id), available_at=wait)
            return Skip("not_due")
        alarm = s.get(Alarm, delivery.alarm_id)
        assert alarm is not None
        if alarm.status != AlarmStatus.OPEN and delivery.status == DeliveryStatus.HELD:
            delivery.status = check_delivery_move(delivery.status, DeliveryStatus.CANCELLED)
            delivery.last_error = f"alarm {alarm.status} before quiet hours ended"
            return Skip("cancelled")
        delivery.status = check_delivery_move(delivery.status, DeliveryStatus.SENDING)
        delivery.claimed_until, delivery.attempts = now + rt.settings.notice_claim, delivery.attempts + 1
        staff = s.get(Staff, delivery.recipient) if delivery.channel in ("email", "sms") else None
        return Claimed((delivery, alarm, staff))  # loaded rows: sessions keep them after the commit

    def send(target: tuple[AlarmDelivery, Alarm, Staff | None]) -> None:
        _send(rt, *target)

    def _locked(s: Session) -> AlarmDelivery:
        delivery = s.get(AlarmDelivery, delivery_id, with_for_update=True)
        assert delivery is not None  # claimed: deliveries are never deleted
        return delivery

    def record_sent(s: Session, now: datetime) -> str:
        delivery = _locked(s)
        if delivery.status != DeliveryStatus.SENT:  # else a worker that took a lapsed claim recorded it
            delivery.status = check_delivery_move(delivery.status, DeliveryStatus.SENT)
            delivery.sent_at, delivery.last_error = now, None
        delivery.claimed_until = None
        return "sent"

    def record_failed(s: Session, exc: OSError, now: datetime) -> None:
        delivery = _locked(s)
        if delivery.status == DeliveryStatus.SENDING:
            delivery.status = check_delivery_move(delivery.status, DeliveryStatus.FAILED)
        if delivery.status != DeliveryStatus.SENT:
            delivery.last_error, delivery.claimed_until = str(exc)[:500], None
        alarm = s.get(Alarm, delivery.alarm_id)
        assert alarm is not None
        log_alarm_event(s, alarm, "delivery_failed", actor="system", now=now,
                        data={"delivery_id": delivery.id, "channel": delivery.channel,
                              "attempt": delivery.attempts, "error": str(exc)[:200]})
        log.warning("alarm notice %s (%s) failed, attempt %d: %s", delivery.id, delivery.channel,
                    delivery.attempts, type(exc).__name__)

    return deliver_notice(rt.uow, rt.clock, outbox_id, task_lease=rt.settings.outbox_task_lease,
                          claim=claim, send=send, record_sent=record_sent,
                          record_failed=record_failed)


def escalate_alarm(alarm_id: str, from_level: int, outbox_id: int | None = None) -> str:
    """Tell the next level when the alarm is still open at `from_level` and its time is up. 'escalated',
    'skipped' (acknowledged, resolved, or escalated already) or 'not_due' (checked again later). One
    transaction, which also marks the event's outbox row (`outbox_id`) done."""
    rt: AlarmTaskDeps = task_context()
    strategy = rt.alarm_strategy
    with rt.uow() as uow:
        s = uow.session
        now = rt.clock.now()
        claimed = s.execute(update(Alarm).where(
            Alarm.id == alarm_id, Alarm.status == AlarmStatus.OPEN, Alarm.escalation_level == from_level,
            Alarm.escalate_at.is_not(None), Alarm.escalate_at <= now)
            .values(escalation_level=from_level + 1, escalate_at=None).execution_options(synchronize_session=False))
        alarm = s.get(Alarm, alarm_id)
        if claimed.rowcount == 0:  # type: ignore[attr-defined]
            if (alarm is not None and alarm.status == AlarmStatus.OPEN and alarm.escalation_level == from_level
                    and alarm.escalate_at is not None):
                wait = max(alarm.escalate_at, now + timedelta(seconds=RESCHEDULE_FLOOR_SECONDS))
                uow.record(EscalationDue(alarm_id, from_level), available_at=wait)
                task_done(s, outbox_id, now=now)
                uow.commit()
                return "not_due"
            task_done(s, outbox_id, now=now)
            uow.commit()
            return "skipped"
        assert alarm is not None
        s.refresh(alarm)
        conversation = s.get(Conversation, alarm.conversation_id)
        assert conversation is not None
        log_alarm_event(s, alarm, "escalated", actor="system", now=now,
                        data={"from_level": from_level, "to_level": alarm.escalation_level})
        record_audit(s, actor="system", action="alarm.escalated", object_type="alarm", object_id=alarm.id,
                     data={"from_level": from_level, "to_level": alarm.escalation_level}, now=now)
        do_notify_level(s, alarm, conversation, strategy, alarm.escalation_level, uow, now=now,
                        link=f"/workbench/conversations/{alarm.conversation_id}")
        schedule_escalation(alarm, strategy, uow, now=now)
        task_done(s, outbox_id, now=now)
        uow.commit()
    return "escalated"
