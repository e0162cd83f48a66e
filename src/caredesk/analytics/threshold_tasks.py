"""The threshold alert tasks (registered in bootstrap.py): the check every 5 minutes, and the e-mail of one
notice (claimed, sent, recorded: tasks/notice.py)."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.analytics.threshold_actions import COCKPIT_LINK, do_check_thresholds
from caredesk.analytics.thresholds import load_thresholds
from caredesk.clock import Clock
from caredesk.notify.email import SmtpSender, tag_notice
from caredesk.settings import Settings
from caredesk.storage.orm import Staff, ThresholdNotice
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.app import TaskQueue
from caredesk.tasks.context import task_context
from caredesk.tasks.notice import Claimed, Skip, claim_is_live, deliver_notice, emailed_row_records

__all__ = ["check_thresholds_periodic", "send_threshold_notice"]


class ThresholdTaskDeps(Protocol):
    settings: Settings
    clock: Clock
    mailer: SmtpSender
    queue: TaskQueue

    def uow(self) -> UnitOfWork: ...


def check_thresholds_periodic() -> int:
    """Every 5 minutes, once across every worker running the schedule: judge the rules in use (the file is read
    each time, so an edit applies at the next check). Returns the number of changes told."""
    rt: ThresholdTaskDeps = task_context()
    now = rt.clock.now()
    if not rt.queue.first_this_minute("check_thresholds", now):
        return 0
    rules = load_thresholds(rt.settings.analytics_thresholds_file).rules
    run = do_check_thresholds(rt.uow(), now=now, rules=rules, tz=rt.settings.display_timezone)
    return len(run.breached) + len(run.recovered)


def send_threshold_notice(notice_id: str, outbox_id: int | None = None) -> str:
    """E-mail one breach or recovery notice to its staff member: 'sent', 'no-recipient', 'skipped' or
    'claimed'."""
    rt: ThresholdTaskDeps = task_context()

    def claim(s: Session, now: datetime) -> Claimed[EmailMessage] | Skip:
        notice = s.scalar(select(ThresholdNotice).where(ThresholdNotice.id == notice_id).with_for_update()
                          .execution_options(populate_existing=True))
        if notice is None or notice.emailed_at is not None:
            return Skip("skipped")
        if claim_is_live(notice.email_claimed_until, now):
            return Skip("claimed", done=False)
        person = s.get(Staff, notice.staff_id)
        if person is None or not person.email or not person.active:
            notice.emailed_at = now  # nobody to e-mail: the in-app notice is the record
            return Skip("no-recipient")
        notice.email_claimed_until, notice.email_attempts = now + rt.settings.notice_claim, notice.email_attempts + 1
        msg = EmailMessage()
        msg["To"] = person.email
        tag_notice(msg, "threshold_notice", notice.id)
        msg["Subject"] = f"[CareDesk] {notice.subject}"
        msg.set_content(f"{person.display_name},\n\n{notice.body}\n\n{rt.settings.base_url}{COCKPIT_LINK}\n")
        return Claimed(msg)

    record_sent, record_failed = emailed_row_records(ThresholdNotice, notice_id)
    return deliver_notice(rt.uow, rt.clock, outbox_id, task_lease=rt.settings.outbox_task_lease,
                          claim=claim, send=rt.mailer.send, record_sent=record_sent, record_failed=record_failed)
