"""Cost of the conversation watch (`do_watch_conversation`) per inbound message, on SQLite: timed directly
inside the intake's transaction shape (conversation row loaded, watch run, rolled back) on conversations of
10-50 triaged messages, some of which reach the alarm threshold."""

from __future__ import annotations

import random
import secrets
import shutil
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from caredesk.bench.stats import Figures, Notes, log, percentile, summary_ms

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["run"]


def _populate(engine: Engine, conversations: int, rng: random.Random) -> list[str]:
    from sqlalchemy import insert

    from caredesk.ids import new_id
    from caredesk.storage.orm import Conversation, Customer, Message, TriageResult

    now = datetime.now(UTC)
    customers: list[dict[str, Any]] = []
    convs: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    triage: list[dict[str, Any]] = []
    for c in range(conversations):
        cust_id, conv_id = new_id(), new_id()
        start = now - timedelta(hours=rng.randint(1, 48))
        customers.append({"id": cust_id, "ref": f"bench-alarm-{c}", "tier": "standard", "created_at": start})
        convs.append({"id": conv_id, "customer_id": cust_id, "channel": "chat", "status": "open",
                      "counted_complaints": 0, "created_at": start, "last_message_at": start})
        escalating = rng.random() < 0.3  # about a third of the sessions escalate past the threshold
        for k in range(rng.randint(10, 50)):
            mid, at = new_id(), start + timedelta(minutes=k)
            hot = escalating and rng.random() < 0.3
            level = rng.choice((3, 4, 5)) if hot else rng.choice((0, 0, 0, 1, 2))
            messages.append({"id": mid, "conversation_id": conv_id, "direction": "in", "author": "customer",
                             "text": "t", "text_masked": "t", "language": "zh", "created_at": at})
            triage.append({"id": new_id(), "message_id": mid, "model_version": "bench", "language": "zh",
                           "content_type": "business", "content_type_confidence": 0.9,
                           "problem_type": "complaint", "problem_type_confidence": 0.9,
                           "urgency": "attention", "urgency_confidence": 0.9, "emotion": "angry",
                           "complaint_level": level, "complaint_types": ["regulator"] if level >= 3 else [],
                           "entities": [],
                           "explanation": {}, "decision_kind": "work_order", "decision_reason": "bench",
                           "created_at": at})
    tables = ((Customer, customers), (Conversation, convs), (Message, messages), (TriageResult, triage))
    with engine.begin() as conn:
        for table, rows in tables:
            conn.execute(insert(table), rows)
    return [c["id"] for c in convs]


def run(quick: bool) -> tuple[Figures, Notes]:
    from sqlalchemy import select

    from caredesk.alarms.actions import do_watch_conversation
    from caredesk.alarms.strategy import load_strategy
    from caredesk.clock import SystemClock
    from caredesk.compliance.crypto import install_keyring, keyring_from_settings
    from caredesk.demo.loader import do_load_demo
    from caredesk.settings import Settings
    from caredesk.storage.db import make_engine, make_session_factory
    from caredesk.storage.migrate import upgrade
    from caredesk.storage.orm import Conversation
    from caredesk.storage.unit_of_work import UnitOfWork

    install_keyring(keyring_from_settings({}, None, "bench"))  # message text is encrypted at rest, as in production
    n_conv, reps = (60, 2) if quick else (300, 3)
    tmp = Path(tempfile.mkdtemp(prefix="caredesk-bench-alarm-"))
    try:
        engine = make_engine(f"sqlite:///{tmp / 'alarm.db'}")
        upgrade(engine)
        sf = make_session_factory(engine)
        do_load_demo(UnitOfWork(sf), SystemClock())
        ids = _populate(engine, n_conv, random.Random(4))
        settings = Settings(environment="test", secret_key=secrets.token_hex(32))
        strategy = load_strategy()  # the built-in alarm strategy: raising includes telling its first level
        window = settings.alarm_window_minutes
        policy = replace(strategy.watch, level=settings.alarm_complaint_level or strategy.watch.level,
                         threshold=settings.alarm_threshold or strategy.watch.threshold,
                         window=timedelta(minutes=window) if window else strategy.watch.window)
        log(f"alarms: timing do_watch_conversation on {n_conv} conversations x {reps}")
        times: list[float] = []
        raised: list[float] = []
        for rep in range(reps + 1):  # the first pass warms up
            for conv_id in ids:
                with sf() as s:
                    conv = s.scalar(select(Conversation).where(Conversation.id == conv_id).with_for_update())
                    assert conv is not None  # _populate has just inserted it
                    t0 = time.perf_counter()
                    alarm = do_watch_conversation(s, conv, policy, now=datetime.now(UTC), strategy=strategy)
                    s.flush()  # the alarm, notifications and audit rows reach the database as in intake
                    elapsed = time.perf_counter() - t0
                    s.rollback()
                if rep:
                    (raised if alarm is not None else times).append(elapsed)
        engine.dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    p50, p99 = summary_ms(times)
    figures = {"alarm_overhead_ms": round(sum(times) / len(times) * 1000, 3), "alarm_overhead_p50_ms": p50,
               "alarm_overhead_p99_ms": p99,
               "alarm_raise_ms": round(sum(raised) / max(1, len(raised)) * 1000, 3),
               "alarm_raise_p99_ms": round(percentile(raised, 99) * 1000, 3) if raised else 0.0}
    notes = {"alarms": (
        "Wall time of do_watch_conversation (plus the flush of the rows it adds) on a SQLite file, inside a "
        "transaction holding the conversation as intake does, rolled back after each call; "
        f"{n_conv} conversations of 10-50 triaged messages (about 30% escalating past the threshold), each "
        f"watched {reps} times after a warm-up pass. alarm_overhead_ms (mean) / _p50 / _p99: the calls that "
        f"raised no alarm ({len(times)}), i.e. what nearly every inbound message pays. "
        f"alarm_raise_ms / _p99: the calls that raised an alarm with notifications and an audit entry "
        f"({len(raised)}; once per escalation in real use). Default policy: level "
        f"{policy.level}, threshold {policy.threshold}, earlier contacts counted.")}
    return figures, notes
