"""The threshold alert tasks (registered in bootstrap.py): the check every 5 minutes, and the sending of one
analytics notice (a threshold rule's or a surge's: analytics/notices.py) by e-mail, SMS or chat-ops webhook
(claimed, sent, recorded: tasks/notice.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from caredesk.alarms.strategy import AlarmStrategy
from caredesk.analytics.notices import notice_link, webhook_data
from caredesk.analytics.threshold_actions import do_check_thresholds
from caredesk.analytics.thresholds import load_thresholds
from caredesk.clock import Clock
from caredesk.notify.email import SmtpSender, tag_notice
from caredesk.notify.sms import SmsGateway
from caredesk.notify.webhook import build_webhook_request, post_webhook
from caredesk.settings import Settings
from caredesk.storage.orm import Staff, ThresholdNotice
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.app import TaskQueue
from caredesk.tasks.context import task_context
from caredesk.tasks.notice import Claimed, Skip, claim_is_live, deliver_notice

__all__ = ["check_thresholds_periodic", "send_threshold_notice"]


class ThresholdTaskDeps(Protocol):
    settings: Settings
    clock: Clock
    mailer: SmtpSender
    queue: TaskQueue
    alarm_strategy: AlarmStrategy

    def uow(self) -> UnitOfWork: ...


def check_thresholds_periodic() -> int:
    """Every 5 minutes, once across every worker running the schedule: judge the rules in use (the file is read
    each time, so an edit applies at the next check). Returns the number of changes told."""
    rt: ThresholdTaskDeps = task_context()
    now = rt.clock.now()
    if not rt.queue.first_this_minute("check_thresholds", now):
        return 0
    rules = load_thresholds(rt.settings.analytics_thresholds_file).rules
    run = do_check_thresholds(rt.uow(), now=now, rules=rules, tz=rt.settings.display_timezone,
                              quiet=rt.alarm_strategy.quiet_hours)
    return len(run.breached) + len(run.recovered)


@dataclass(frozen=True)
class _Outgoing:
    channel: str
    notice_id: str
    address: str  # e-mail address, phone number, or the webhook room's name
    name: str
    kind: str
    rule: str
    subject: str
    body: str
    value: float | None
    threshold: float


def _send(rt: ThresholdTaskDeps, out: _Outgoing) -> None:
    link = f"{rt.settings.base_url}{notice_link(out.rule)}"
    if out.channel == "email":
        msg = EmailMessage()
        msg["To"] = out.address
        tag_notice(msg, "threshold_notice", out.notice_id)
        msg["Subject"] = f"[CareDesk] {out.subject}"
        msg.set_content(f"{out.name},\n\n{out.body}\n\n{link}\n")
        rt.mailer.send(msg)
    elif out.channel == "sms":
        SmsGateway(rt.settings.sms_gateway_url, rt.settings.sms_gateway_token).send(
            out.address, f"[CareDesk] {out.subject} {link}"[:300], out.notice_id)
    else:
        room = rt.alarm_strategy.webhooks.get(out.address)
        if room is None:
            raise OSError(f"webhook {out.address!r} is not in the alarm strategy")
        data = webhook_data(out.rule, out.kind, out.value, out.threshold, link)
        post_webhook(build_webhook_request(room.kind, room.url, rt.settings.alarm_webhook_secrets.get(room.name),
                                           f"{out.subject}\n{out.body}\n{link}", data, now=rt.clock.now()))


def send_threshold_notice(notice_id: str, outbox_id: int | None = None) -> str:
    """Send one analytics notice (breach, recovery, surge opened or resolved) over its channel: 'sent',
    'no-recipient', 'skipped' or 'claimed'.
    A failed send is recorded and raised: the queue retries it."""
    rt: ThresholdTaskDeps = task_context()

    def claim(s: Session, now: datetime) -> Claimed[_Outgoing] | Skip:
        notice = s.scalar(select(ThresholdNotice).where(ThresholdNotice.id == notice_id).with_for_update()
                          .execution_options(populate_existing=True))
        if notice is None or notice.sent_at is not None:
            return Skip("skipped")
        if claim_is_live(notice.claimed_until, now):
            return Skip("claimed", done=False)
        name, address = notice.recipient, notice.recipient
        if notice.channel != "webhook":
            person = s.get(Staff, notice.staff_id) if notice.staff_id else None
            reach = (person.email if notice.channel == "email" else person.phone) if person else None
            if person is None or not person.active or not reach:
                notice.sent_at = now  # nobody to reach now: the in-app notice is the record
                notice.last_error = "no address"
                return Skip("no-recipient")
            name, address = person.display_name, reach
        notice.claimed_until, notice.attempts = now + rt.settings.notice_claim, notice.attempts + 1
        return Claimed(_Outgoing(notice.channel, notice.id, address, name, notice.kind, notice.rule,
                                 notice.subject, notice.body, notice.value, notice.threshold))

    def record_sent(s: Session, now: datetime) -> str:
        s.execute(update(ThresholdNotice).where(ThresholdNotice.id == notice_id)
                  .values(sent_at=func.coalesce(ThresholdNotice.sent_at, now), claimed_until=None, last_error=None)
                  .execution_options(synchronize_session=False))
        return "sent"

    def record_failed(s: Session, exc: OSError, now: datetime) -> None:
        s.execute(update(ThresholdNotice).where(ThresholdNotice.id == notice_id)
                  .values(claimed_until=None, last_error=str(exc)[:500])
                  .execution_options(synchronize_session=False))

    return deliver_notice(rt.uow, rt.clock, outbox_id, task_lease=rt.settings.outbox_task_lease,
                          claim=claim, send=lambda out: _send(rt, out), record_sent=record_sent,
                          record_failed=record_failed)
