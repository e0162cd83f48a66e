"""How the analytics alerts tell people: a threshold rule's breach and recovery (analytics/threshold_actions.py)
and a surge's opening and resolution (analytics/surge_notices.py) go the same way. In-app notices are written in
the caller's transaction; every e-mail, SMS and chat-ops room gets one notice row (ThresholdNotice), sent after
the commit by one task (ThresholdNoticeDue -> analytics/threshold_tasks.py send_threshold_notice); the alarm
strategy's quiet hours hold a channel as they do for alarms (alarms/quiet.py).

A notice row names its source in `rule`: the rule's name, or `surge:<surge id>` for a surge; the link and the
webhook's data follow from it (`notice_link`, `webhook_data`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.alarms.quiet import held_until
from caredesk.alarms.strategy import QuietHours
from caredesk.analytics.events import ThresholdNoticeDue
from caredesk.storage.orm import Notification, Staff, ThresholdNotice
from caredesk.storage.unit_of_work import events_of

__all__ = ["COCKPIT_LINK", "SURGE_PREFIX", "Notice", "notice_link", "queue_notices", "surge_link", "surge_source",
           "webhook_data"]

COCKPIT_LINK = "/analytics"
SURGE_PREFIX = "surge:"


@dataclass(frozen=True, slots=True)
class Notice:
    """One change to tell: `source` (rule name or `surge:<id>`), `kind` (breach, recovery, surge_opened,
    surge_resolved), the words, and the figure: a rule's value and threshold, a surge's observed and expected."""

    source: str
    kind: str
    in_app_kind: str  # Notification.kind
    title: str
    body: str
    value: float | None
    threshold: float


def surge_source(surge_id: str) -> str:
    return f"{SURGE_PREFIX}{surge_id}"


def surge_link(surge_id: str) -> str:
    return f"/analytics/surges/{surge_id}"


def notice_link(source: str) -> str:
    """The page a notice points to: the surge's report, or the cockpit for a threshold rule."""
    if source.startswith(SURGE_PREFIX):
        return surge_link(source.removeprefix(SURGE_PREFIX))
    return COCKPIT_LINK


def webhook_data(source: str, kind: str, value: float | None, threshold: float, link: str) -> dict[str, Any]:
    """The structured part of a chat-ops post (the text part is the subject, the body and the link)."""
    if source.startswith(SURGE_PREFIX):
        return {"event": kind, "surge_id": source.removeprefix(SURGE_PREFIX), "observed": value,
                "expected": threshold, "link": link}
    return {"event": f"threshold_{kind}", "rule": source, "value": value, "threshold": threshold, "link": link}


def queue_notices(session: Session, notice: Notice, *, channels: Sequence[str], recipients: Sequence[str],
                  webhooks: Sequence[str], now: datetime, quiet: QuietHours | None = None) -> int:
    """In-app notices now to the active staff of the `recipients` roles; one notice row per e-mail, SMS and
    chat-ops room, each sent after the commit, or over a channel the alarm strategy's `quiet` hours hold, when
    they end (in-app notices are never held). Returns the number of rows queued for sending."""
    staff = list(session.scalars(select(Staff).where(Staff.active.is_(True), Staff.role.in_(list(recipients)))
                                 .order_by(Staff.id)))
    link = notice_link(notice.source)
    outside: list[tuple[str, str, str | None]] = []  # (channel, recipient, staff id)
    for person in staff:
        if "in_app" in channels:
            session.add(Notification(staff_id=person.id, kind=notice.in_app_kind, title=notice.title[:300],
                                     body=notice.body[:2000], link=link, created_at=now))
        if "email" in channels and person.email:
            outside.append(("email", person.id, person.id))
        if "sms" in channels and person.phone:
            outside.append(("sms", person.id, person.id))
    if "webhook" in channels:
        outside += [("webhook", room, None) for room in webhooks]
    events = events_of(session, now=now)
    for channel, recipient, staff_id in outside:
        row = ThresholdNotice(rule=notice.source, kind=notice.kind, channel=channel, recipient=recipient,
                              staff_id=staff_id, subject=notice.title[:300], body=notice.body[:2000],
                              value=notice.value, threshold=notice.threshold, created_at=now, attempts=0)
        session.add(row)
        session.flush()
        events.record(ThresholdNoticeDue(row.id), available_at=held_until(channel, now, quiet))
    return len(outside)
