"""What a surge tells, once when it opens and once when it is resolved (on its own, or by a supervisor): the
series, the figure (observed against expected, the ratio), since when, the distinguishing phrases and the link to
its report, in Chinese and English, to the recipients and over the channels of the thresholds file's `surges`
section, through the same notice path as threshold alerts (analytics/notices.py)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Literal

from sqlalchemy.orm import Session

from caredesk.alarms.strategy import QuietHours
from caredesk.analytics.notices import Notice, queue_notices, surge_source
from caredesk.analytics.thresholds import SurgeSettings
from caredesk.storage.orm import Surge

__all__ = ["SurgeEvent", "surge_notice_text", "tell_surge"]

SurgeEvent = Literal["opened", "resolved"]


def surge_notice_text(surge: Surge, event: SurgeEvent, tz: tzinfo = UTC) -> tuple[str, str]:
    """(title, body): the figure and the window in both languages; phrases when the report has them."""
    report = surge.report or {}
    ratio = (report.get("summary") or {}).get("ratio")
    times = f" (x{ratio})" if ratio else ""
    zh_times = f"（{ratio} 倍）" if ratio else ""
    since = surge.window_start.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    until = surge.window_end.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    series = f"{surge.dimension} {surge.value}"
    figure = f"{surge.observed} messages, {surge.expected:.1f} expected{times}"
    if event == "opened":
        title = f"突增 / Surge: {series}: {figure}"
        body = (f"{series} 自 {since} 起 {surge.observed} 条消息，预期 {surge.expected:.1f} 条{zh_times}。\n"
                f"{series} since {since}: {figure}.")
    else:
        title = f"突增已解除 / Surge resolved: {series}: {figure}"
        body = (f"{series} 的突增已解除（{since} 至 {until}，{surge.observed} 条，预期 {surge.expected:.1f} 条）。\n"
                f"The surge of {series} is resolved ({since} to {until}: {figure}).")
    phrases = [str(p.get("phrase")) for p in report.get("phrases", [])[:5]]
    if phrases:
        body += "\n" + "、".join(phrases)
    return title[:300], body[:2000]


def tell_surge(session: Session, surge: Surge, event: SurgeEvent, notices: SurgeSettings, *, now: datetime,
               tz: tzinfo = UTC, quiet: QuietHours | None = None) -> int:
    """In-app notices now, e-mail, SMS and chat-ops after the commit (a channel the alarm strategy's `quiet`
    hours hold waits until they end, as for threshold notices); the caller's transaction. Returns the number of
    notices queued for sending."""
    title, body = surge_notice_text(surge, event, tz)
    kind = f"surge_{event}"
    return queue_notices(session, Notice(surge_source(surge.id), kind, kind, title, body, float(surge.observed),
                                         float(surge.expected)),
                         channels=notices.channels, recipients=[str(r) for r in notices.recipients],
                         webhooks=notices.webhooks, now=now, quiet=quiet)
