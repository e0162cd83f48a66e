"""The composition root: settings in, a wired Runtime out. Nothing is built at import time."""

from __future__ import annotations

from dataclasses import replace

from caredesk.accounts.rate_limit import make_counter
from caredesk.accounts.throttle import make_attempt_store
from caredesk.alarms.strategy import load_strategy
from caredesk.clock import Clock, SystemClock
from caredesk.compliance.crypto import install_keyring, keyring_from_settings
from caredesk.compliance.outgoing import load_checker
from caredesk.emergency.actions import EmergencyPlan
from caredesk.emergency.meetings import build_meeting_provider
from caredesk.emergency.monitoring import build_monitoring_source
from caredesk.notify.email import mail_sender
from caredesk.notify.live import LiveBus
from caredesk.runtime import Runtime, set_current_runtime
from caredesk.settings import Settings
from caredesk.sla.policy import load_sla_config
from caredesk.storage.db import make_engine, make_session_factory
from caredesk.tasks.app import TaskQueue, build_huey
from caredesk.workorders.flows import load_builtin_flows
from caredesk.workorders.presence import Presence

__all__ = ["build_runtime"]


def _register_tasks(queue: TaskQueue) -> None:
    from huey import crontab

    from caredesk.alarms.tasks import deliver_alarm_notice, escalate_alarm
    from caredesk.compliance.retention import apply_retention_daily
    from caredesk.emergency.tasks import email_incident_outcome, send_meeting_notice
    from caredesk.knowledge.tasks import generate_suggestions_daily
    from caredesk.sla.tasks import check_sla, send_sla_notice, sla_sweep
    from caredesk.triage.tasks import retrain_nightly
    from caredesk.workorders.tasks import send_reply_email, send_survey

    queue.register("emergency.send_meeting_notice", send_meeting_notice, retries=5, retry_delay=30)
    queue.register("emergency.email_incident_outcome", email_incident_outcome, retries=5, retry_delay=60)
    # The alarm tasks keep their "escalation.*" names from before the package became alarms/: queued tasks
    # are stored under them.
    queue.register("escalation.deliver_alarm_notice", deliver_alarm_notice, retries=5, retry_delay=30)
    queue.register("escalation.escalate_alarm", escalate_alarm, retries=3, retry_delay=30)
    # Huey runs in UTC: 18:30 is 02:30 in Beijing, a quiet hour for a daily clustering run.
    queue.register_periodic("knowledge.generate_suggestions", generate_suggestions_daily,
                            crontab(hour="18", minute="30"))
    # 19:30 UTC (03:30 in Beijing): retrain triage on the day's corrections, promote only a better model.
    queue.register_periodic("triage.retrain", retrain_nightly, crontab(hour="19", minute="30"))
    # SLA: every minute, check the orders whose next warning, breach or escalation instant has come. The names
    # stay `workorders.*` since the tasks moved to sla/: queued tasks are stored under them.
    queue.register_periodic("workorders.sla_sweep", sla_sweep, crontab(minute="*"))
    queue.register("workorders.check_sla", check_sla, retries=3, retry_delay=10)
    queue.register("workorders.send_sla_notice", send_sla_notice, retries=5, retry_delay=30)
    queue.register("workorders.send_survey", send_survey, retries=5, retry_delay=60)
    queue.register("workorders.send_reply_email", send_reply_email, retries=5, retry_delay=60)
    # 17:00 UTC is 01:00 in Beijing: anonymise what is past its retention.
    queue.register_periodic("compliance.apply_retention", apply_retention_daily, crontab(hour="17", minute="0"))


def build_runtime(settings: Settings | None = None, *, clock: Clock | None = None, make_current: bool = True
                  ) -> Runtime:
    settings = settings or Settings()
    install_keyring(keyring_from_settings(settings.encryption_keys, settings.encryption_active_key,
                                          settings.secret_key))
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size,
                         max_overflow=settings.database_max_overflow)
    queue = TaskQueue(build_huey(settings))
    _register_tasks(queue)
    rt = Runtime(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                 clock=clock or SystemClock(), queue=queue, mailer=mail_sender(settings),
                 live=LiveBus(settings.redis_url), flows=load_builtin_flows(),
                 emergency=EmergencyPlan(build_meeting_provider(settings), settings.meeting_duration_minutes,
                                         settings.base_url, tuple(settings.incident_sections),
                                         build_monitoring_source(settings)),
                 alarm_strategy=replace(load_strategy(settings.alarm_strategy_file),
                                        sms_available=bool(settings.sms_gateway_url)),
                 login_attempts=make_attempt_store(settings.redis_url),
                 outgoing=load_checker(settings.outgoing_rules_path),
                 sla=load_sla_config(settings.sla_file), presence=Presence(settings.redis_url),
                 rate_counter=make_counter(settings.redis_url))
    if make_current:
        set_current_runtime(rt)
    return rt
