"""The composition root: settings in, a wired Runtime out. Nothing is built at import time."""

from __future__ import annotations

from caredesk.clock import Clock, SystemClock
from caredesk.emergency.actions import EmergencyPlan
from caredesk.emergency.meetings import PatternRoomProvider
from caredesk.notify.email import SmtpSender
from caredesk.notify.live import LiveBus
from caredesk.runtime import Runtime, set_current_runtime
from caredesk.settings import Settings
from caredesk.storage.db import make_engine, make_session_factory
from caredesk.tasks.app import TaskQueue, build_huey
from caredesk.workorders.flows import load_builtin_flows

__all__ = ["build_runtime"]


def _register_tasks(queue: TaskQueue) -> None:
    from huey import crontab

    from caredesk.emergency.tasks import send_meeting_notice
    from caredesk.knowledge.tasks import generate_suggestions_daily

    queue.register("emergency.send_meeting_notice", send_meeting_notice, retries=5, retry_delay=30)
    # Huey runs in UTC: 18:30 is 02:30 in Beijing, a quiet hour for a daily clustering run.
    queue.register_periodic("knowledge.generate_suggestions", generate_suggestions_daily,
                            crontab(hour="18", minute="30"))


def build_runtime(settings: Settings | None = None, *, clock: Clock | None = None, make_current: bool = True
                  ) -> Runtime:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    queue = TaskQueue(build_huey(settings))
    _register_tasks(queue)
    rt = Runtime(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                 clock=clock or SystemClock(), queue=queue, mailer=SmtpSender(settings),
                 live=LiveBus(settings.redis_url), flows=load_builtin_flows(),
                 emergency=EmergencyPlan(PatternRoomProvider(settings.meeting_url_pattern),
                                         settings.meeting_duration_minutes, settings.base_url))
    if make_current:
        set_current_runtime(rt)
    return rt
