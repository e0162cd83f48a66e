"""The composition root: settings in, a wired Runtime out. Nothing is built at import time.

The only place that wires: the task functions under their stored queue names, the subscribers of every domain
event (notices and tasks through the queue, live updates to the workbench), the outbox relay, and the task
context that background tasks read their dependencies from."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from caredesk.accounts.rate_limit import make_counter
from caredesk.accounts.throttle import make_attempt_store
from caredesk.alarms.strategy import load_strategy
from caredesk.bootstrap.channels import (
    build_connectors,
    build_senders,
    register_channel_tasks,
    subscribe_channels,
)
from caredesk.bootstrap.runtime import Runtime, current_runtime, set_current_runtime
from caredesk.clock import Clock, SystemClock
from caredesk.compliance.crypto import install_keyring, keyring_from_settings
from caredesk.compliance.outgoing import load_checker
from caredesk.emergency.actions import EmergencyPlan
from caredesk.emergency.meetings import build_meeting_provider
from caredesk.emergency.monitoring import build_monitoring_source
from caredesk.emergency.topics import load_topics
from caredesk.notify.email import mail_sender
from caredesk.notify.live import LiveBus
from caredesk.profiles.sources import install_sources, load_sources
from caredesk.settings import Settings
from caredesk.sla.policy import load_sla_config
from caredesk.storage.db import make_engine, make_session_factory
from caredesk.storage.outbox import relay_once
from caredesk.tasks.app import TaskQueue, build_huey
from caredesk.tasks.context import set_task_context
from caredesk.workorders.flows import load_builtin_flows
from caredesk.workorders.presence import Presence

__all__ = ["build_runtime"]


def _register_tasks(queue: TaskQueue) -> None:
    from huey import crontab

    from caredesk.alarms.tasks import deliver_alarm_notice, escalate_alarm
    from caredesk.analytics.surge_tasks import detect_surges
    from caredesk.analytics.tasks import refresh_order_hours, refresh_team_forecast
    from caredesk.analytics.threshold_tasks import check_thresholds_periodic, send_threshold_notice
    from caredesk.compliance.retention import apply_retention_daily
    from caredesk.emergency.tasks import email_incident_outcome, send_meeting_notice
    from caredesk.knowledge.tasks import generate_suggestions_daily
    from caredesk.learning.tasks import retrain_nightly
    from caredesk.profiles.source_tasks import fetch_customer_sources
    from caredesk.sla.tasks import check_sla, send_sla_notice, sla_sweep
    from caredesk.workorders.tasks import hand_over_to_duty_lead, send_duty_notice, send_reply_email, send_survey

    queue.register("emergency.send_meeting_notice", send_meeting_notice, retries=5, retry_delay=30)
    queue.register("emergency.email_incident_outcome", email_incident_outcome, retries=5, retry_delay=60)
    # The alarm tasks keep their "escalation.*" names from before the package became alarms/: queued tasks
    # are stored under them.
    queue.register("escalation.deliver_alarm_notice", deliver_alarm_notice, retries=5, retry_delay=30)
    queue.register("escalation.escalate_alarm", escalate_alarm, retries=3, retry_delay=30)
    # Huey runs in UTC: 18:30 is 02:30 in Beijing, a quiet hour for a daily clustering run.
    queue.register_periodic("knowledge.generate_suggestions", generate_suggestions_daily,
                            crontab(hour="18", minute="30"))
    # 19:30 UTC (03:30 in Beijing): retrain triage on the day's corrections, promote only a better model. The
    # name stays `triage.retrain` since the task moved to learning/: the queue stores it.
    queue.register_periodic("triage.retrain", retrain_nightly, crontab(hour="19", minute="30"))
    # SLA: every minute, check the orders whose next warning, breach or escalation instant has come. The names
    # stay `workorders.*` since the tasks moved to sla/: queued tasks are stored under them.
    queue.register_periodic("workorders.sla_sweep", sla_sweep, crontab(minute="*"))
    queue.register("workorders.check_sla", check_sla, retries=3, retry_delay=10)
    queue.register("workorders.send_sla_notice", send_sla_notice, retries=5, retry_delay=30)
    queue.register("workorders.send_survey", send_survey, retries=5, retry_delay=60)
    queue.register("workorders.send_reply_email", send_reply_email, retries=5, retry_delay=60)
    # Nobody free never means nobody responsible: every minute, high-risk orders still unassigned after the
    # wait go to the lead on duty; each hand-off's e-mail is its own task.
    queue.register_periodic("workorders.hand_over_to_duty_lead", hand_over_to_duty_lead, crontab(minute="*"))
    queue.register("workorders.send_duty_notice", send_duty_notice, retries=5, retry_delay=30)
    # 17:00 UTC is 01:00 in Beijing: anonymise what is past its retention.
    queue.register_periodic("compliance.apply_retention", apply_retention_daily, crontab(hour="17", minute="0"))
    # Every minute: the outbox rows not marked done whose time has come (delayed events, failed subscribers,
    # a process that died between its commit and the dispatch). Rows are claimed, so every worker may run it.
    queue.register_periodic("outbox.relay", relay_outbox, crontab(minute="*"))
    # Two past each quarter hour: surge detection judges the quarter that just ended (analytics/surge_actions.py).
    queue.register_periodic("analytics.detect_surges", detect_surges, crontab(minute="2,17,32,47"))
    # Hourly: the work-order figures of the hours a reopen or a returning customer can still change.
    queue.register_periodic("analytics.refresh_order_hours", refresh_order_hours, crontab(minute="7"))
    # Hourly (and when the team page finds none for the hour): the team page's forecast and staffing plan.
    queue.register_periodic("analytics.refresh_team_forecast", refresh_team_forecast, crontab(minute="12"))
    # Every 5 minutes: judge the threshold alert rules; a breach or a recovery is told once.
    queue.register_periodic("analytics.check_thresholds", check_thresholds_periodic, crontab(minute="*/5"))
    queue.register("analytics.send_threshold_notice", send_threshold_notice, retries=5, retry_delay=30)
    # Outside customer sources (profiles/source_tasks.py): the HTTP calls run here, never in intake or a page.
    # A failed fetch is recorded (stale / failed) rather than raised, so one try each.
    queue.register("profiles.fetch_customer_sources", fetch_customer_sources, retries=0)
    _register_profile_tasks(queue)
    register_channel_tasks(queue)


def _register_profile_tasks(queue: TaskQueue) -> None:
    from huey import crontab

    from caredesk.profiles.tasks import refresh_profile, train_profiles_daily, update_segments_hourly

    # After every customer message and answered survey (subscribed below): the profile within seconds.
    queue.register("profiles.refresh", refresh_profile, retries=3, retry_delay=5)
    # 20:15 UTC (04:15 in Beijing): refit the profile model, promote only a better one (profiles/training.py).
    queue.register_periodic("profiles.train", train_profiles_daily, crontab(hour="20", minute="15"))
    # Hourly: one partial_fit of the segments on the profiles refreshed in the hour.
    queue.register_periodic("profiles.update_segments", update_segments_hourly, crontab(minute="23"))


def _count_task_failure(name: str) -> None:
    from caredesk.observability.metrics import metrics

    metrics().task_failures.labels(name).inc()


def relay_outbox() -> int:
    """The periodic relay task: dispatch what is due, in this process's runtime."""
    rt = current_runtime()
    return relay_once(rt.uow, rt.subscribers, now=rt.clock.now(), task_lease=rt.settings.outbox_task_lease).dispatched


def _subscribe(rt: Runtime) -> None:
    """Who hears each domain event. Handlers read `rt.queue` and `rt.live` when they run (a test may swap
    the queue); every one is idempotent, because a relay may deliver an event again."""
    from caredesk.alarms.events import AlarmChanged, EscalationDue, NoticeDue
    from caredesk.alarms.tasks import deliver_alarm_notice, escalate_alarm
    from caredesk.analytics.events import ThresholdNoticeDue
    from caredesk.analytics.threshold_tasks import send_threshold_notice
    from caredesk.emergency.events import IncidentOutcomeDue, InvitationDue
    from caredesk.emergency.tasks import email_incident_outcome, send_meeting_notice
    from caredesk.intake.events import MessageReceived
    from caredesk.profiles.source_tasks import sources_on_message
    from caredesk.sla.events import SlaMarked, SlaNoticeDue
    from caredesk.sla.tasks import send_sla_notice
    from caredesk.workorders.events import DutyHandoffDue, ReplyEmailDue, SurveyDue, WorkOrderChanged
    from caredesk.workorders.tasks import send_duty_notice, send_reply_email, send_survey

    def count_decision(e: MessageReceived) -> None:
        from caredesk.observability.metrics import metrics

        metrics().decisions.labels(e.decision).inc()

    def live(payload: dict[str, Any]) -> None:
        rt.live.publish(payload)

    on = rt.subscribers.subscribe
    task = rt.subscribers.subscribe_task
    # notices and background work: the queue (tasks take ids and re-check state). Each task gets its outbox
    # row's id and marks the row done when it has finished; until then the row is leased to it, and the relay
    # queues the task again if its worker died with it (storage/outbox.py).
    task(NoticeDue, lambda e, row: rt.queue.enqueue(deliver_alarm_notice, e.delivery_id, row),
         name="queue:alarm notice")
    task(EscalationDue, lambda e, row: rt.queue.enqueue(escalate_alarm, e.alarm_id, e.from_level, row),
         name="queue:alarm escalation")
    task(InvitationDue, lambda e, row: rt.queue.enqueue(send_meeting_notice, e.participant_id, row),
         name="queue:invitation")
    task(IncidentOutcomeDue, lambda e, row: rt.queue.enqueue(email_incident_outcome, e.record_id, row),
         name="queue:incident outcome")
    task(SlaNoticeDue, lambda e, row: rt.queue.enqueue(send_sla_notice, e.mark_id, row), name="queue:SLA notice")
    task(SurveyDue, lambda e, row: rt.queue.enqueue(send_survey, e.survey_id, row), name="queue:survey")
    task(ReplyEmailDue, lambda e, row: rt.queue.enqueue(send_reply_email, e.work_order_id, e.message_id, row),
         name="queue:reply e-mail")
    task(DutyHandoffDue, lambda e, row: rt.queue.enqueue(send_duty_notice, e.handoff_id, row),
         name="queue:duty hand-off")
    task(ThresholdNoticeDue, lambda e, row: rt.queue.enqueue(send_threshold_notice, e.notice_id, row),
         name="queue:threshold notice")
    # `/metrics`: committed messages by decision (counted after the commit, like every other side effect)
    on(MessageReceived, count_decision, name="metrics:decision")
    # a customer's outside sources are fetched in the background when their message arrives (if any is enabled)
    on(MessageReceived, sources_on_message(lambda: rt.queue, rt), name="queue:sources")
    _subscribe_profiles(rt)
    subscribe_channels(rt)
    # live updates for the workbench: ids and labels only
    on(AlarmChanged, lambda e: live({"type": "alarm", "alarm_id": e.alarm_id, "conversation_id": e.conversation_id,
                                     "change": e.change}), name="live:alarm")
    on(WorkOrderChanged, lambda e: live({"type": "work_order", "work_order_id": e.work_order_id}),
       name="live:work order")
    on(SlaMarked, lambda e: live({"type": "sla", "work_order_id": e.work_order_id, "kinds": list(e.kinds)}),
       name="live:SLA")
    # the invitee's workbench shows the invitation at once (it lists the reader's own, so no id is needed)
    on(InvitationDue, lambda e: live({"type": "meeting_invitation"}), name="live:invitation")
    on(MessageReceived, lambda e: live({"type": "message", "conversation_id": e.conversation_id,
                                        "message_id": e.message_id, "decision": e.decision,
                                        "clarification": e.clarification, "urgency": e.urgency,
                                        "alarm_id": e.alarm_id}), name="live:message")


def _subscribe_profiles(rt: Runtime) -> None:
    """A customer's profile is refreshed by a queued task after each message and survey answer (not a task
    hand-off: a lost refresh is redone by the next event or `caredesk profiles refresh`)."""
    from caredesk.intake.events import MessageReceived
    from caredesk.profiles.features import load_rules
    from caredesk.profiles.tasks import refresh_profile
    from caredesk.workorders.events import SurveyAnswered

    load_rules()  # the feature rules are checked at start (a bad file stops here, not in the first refresh)

    def refresh(kind: str, ref: str) -> None:
        rt.queue.enqueue(refresh_profile, kind, ref, rt.clock.now().isoformat())

    rt.subscribers.subscribe(MessageReceived, lambda e: refresh("conversation", e.conversation_id),
                             name="queue:profile")
    rt.subscribers.subscribe(SurveyAnswered, lambda e: refresh("work_order", e.work_order_id), name="queue:profile")


def _check_task_shapes(rt: Runtime) -> None:
    """mypy checks here that the runtime gives every tasks module the dependencies it asks for."""
    from caredesk.alarms.tasks import AlarmTaskDeps
    from caredesk.analytics.tasks import AnalyticsTaskDeps, ForecastTaskDeps
    from caredesk.channels.delivery import DeliveryDeps
    from caredesk.compliance.retention import RetentionDeps
    from caredesk.emergency.tasks import EmergencyTaskDeps
    from caredesk.knowledge.tasks import SuggestionDeps
    from caredesk.learning.tasks import TriageTaskDeps
    from caredesk.profiles.source_fetch import SourceFetchDeps
    from caredesk.profiles.tasks import ProfileTaskDeps
    from caredesk.sla.tasks import SlaTaskDeps
    from caredesk.workorders.deps import WorkOrderDeps
    from caredesk.workorders.tasks import WorkOrderTaskDeps

    shapes: tuple[AlarmTaskDeps, RetentionDeps, EmergencyTaskDeps, SuggestionDeps, SlaTaskDeps, TriageTaskDeps,
                  WorkOrderDeps, WorkOrderTaskDeps, AnalyticsTaskDeps] = (rt, rt, rt, rt, rt, rt, rt, rt, rt)
    profile_shape: ProfileTaskDeps = rt
    sources: SourceFetchDeps = rt
    forecast: ForecastTaskDeps = rt
    delivery: DeliveryDeps = rt
    del shapes, profile_shape, sources, forecast, delivery


def build_runtime(settings: Settings | None = None, *, clock: Clock | None = None, make_current: bool = True
                  ) -> Runtime:
    settings = settings or Settings()
    install_keyring(keyring_from_settings(settings.encryption_keys, settings.encryption_active_key,
                                          settings.secret_key))
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size,
                         max_overflow=settings.database_max_overflow)
    queue = TaskQueue(build_huey(settings))
    _register_tasks(queue)
    queue.on_failure(_count_task_failure)
    rt = Runtime(settings=settings, engine=engine, session_factory=make_session_factory(engine),
                 clock=clock or SystemClock(), queue=queue, mailer=mail_sender(settings),
                 live=LiveBus(settings.redis_url), flows=load_builtin_flows(),
                 emergency=EmergencyPlan(build_meeting_provider(settings), settings.meeting_duration_minutes,
                                         settings.base_url, tuple(settings.incident_sections),
                                         build_monitoring_source(settings), load_topics()),
                 alarm_strategy=replace(load_strategy(settings.alarm_strategy_file),
                                        sms_available=bool(settings.sms_gateway_url)),
                 login_attempts=make_attempt_store(settings.redis_url),
                 outgoing=load_checker(settings.outgoing_rules_path),
                 sla=load_sla_config(settings.sla_file), presence=Presence(settings.redis_url),
                 rate_counter=make_counter(settings.redis_url),
                 customer_sources=load_sources(settings.customer_sources_file),
                 channels=build_senders(settings), connectors=build_connectors(settings))
    install_sources(rt.customer_sources)  # what source_statuses lists when not handed the configuration
    _subscribe(rt)
    _check_task_shapes(rt)
    if make_current:
        set_current_runtime(rt)
        set_task_context(rt)
    return rt
