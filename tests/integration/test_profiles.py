"""Customer profiles on SQLite and PostgreSQL: the history read from the records, a refresh writing the row, a
message and a survey answer refreshing it through the queued task (immediate mode, and a real Redis queue with
its consumer, timed), training on generated history promoting only a better model with its held-out AUC."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from huey import RedisHuey
from sqlalchemy import func, select

from caredesk.bootstrap import _register_tasks, build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.demo.loader import do_load_demo
from caredesk.errors import NotFound
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.profiles.actions import do_refresh_profile
from caredesk.profiles.features import load_rules
from caredesk.profiles.generated import generate_history
from caredesk.profiles.history import collect_history
from caredesk.profiles.model import load_active
from caredesk.profiles.tasks import refresh_profile
from caredesk.profiles.training import do_train_profiles
from caredesk.storage.orm import (
    Alarm,
    Conversation,
    Customer,
    CustomerProfile,
    CustomerSourceRecord,
    Message,
    ProfileTrainingRun,
    WorkOrder,
)
from caredesk.tasks.app import TaskQueue, start_embedded_consumer
from caredesk.triage.pipeline import TriagePipeline
from caredesk.workorders import closure
from tests.conftest import Mailbox, _clean, make_settings

RULES = load_rules()
ANGRY = "你们乱扣我信用卡年费，已经第三次了，再不处理我就去银保监会投诉！"
CALM = "请问信用卡账单怎么查询？"


def _profile(rt: Runtime, ref: str) -> CustomerProfile | None:
    with rt.session_factory() as s:
        customer_id = s.scalar(select(Customer.id).where(Customer.ref == ref))
        return s.get(CustomerProfile, customer_id) if customer_id else None


def test_profiles_refresh_writes_the_row_from_the_records(runtime: Runtime) -> None:
    rt = runtime
    now = rt.clock.now()
    out = do_receive_message(rt, IncomingMessage(CALM, "web", "prof-1"))
    with rt.uow() as uow:
        s = uow.session
        customer_id = s.scalar(select(Customer.id).where(Customer.ref == "prof-1"))
        assert customer_id is not None
        message = s.get(Message, out.message_id)
        assert message is not None
        # the same text stored twice by a retried request, 20 s later: counted once
        s.add(Message(conversation_id=out.conversation_id, direction="in", author="customer", text=CALM,
                      text_masked=message.text_masked, created_at=message.created_at + timedelta(seconds=20)))
        s.add(Alarm(conversation_id=out.conversation_id, level=2, count=3, threshold=3, created_at=now))
        s.add(CustomerSourceRecord(customer_id=customer_id, source="core_banking", status="ok", fetched_at=now,
                                   fields={"balance": 250000, "products": ["credit_card", "mortgage"],
                                           "monthly_spend": 9000, "account_closed": False}, updated_at=now))
        uow.commit()
    with rt.session_factory() as s:
        history = collect_history(s, customer_id)
    assert history is not None and len(history.interactions) == 1 and len(history.alarms) == 1
    assert history.sources[0].fields["balance"] == 250000
    result = do_refresh_profile(rt.uow(), customer_id, now=rt.clock.now())
    row = _profile(rt, "prof-1")
    assert row is not None
    assert row.features["contacts_30d"] == 1.0 and row.features["alarms_180d"] == 1.0
    assert row.features["balance"] == 250000.0 and row.features["source_products"] == 2.0
    assert row.model_version == "cold-start" and row.segment == result.score.segment
    assert 0 <= row.value_score <= 1 and 0 <= row.loyalty_score <= 1 and 0 <= row.escalation_risk <= 1
    assert row.value_score > 0.75 and "高价值" in row.tags  # the words people read
    assert RULES.tag_by_word("高价值").en == "High value"  # type: ignore[union-attr]
    assert row.drivers["value_score"][0]["feature"] == "balance"
    assert row.emotion_current in {"neutral", "satisfied", "anxious"} and row.emotion_trend == "steady"
    with pytest.raises(NotFound):
        do_refresh_profile(rt.uow(), "no-such-customer", now=rt.clock.now())


def test_profiles_a_message_refreshes_the_profile_through_the_task(runtime: Runtime) -> None:
    rt = runtime  # immediate mode: the queued task runs right after the commit
    do_receive_message(rt, IncomingMessage(CALM, "web", "prof-2"))
    first = _profile(rt, "prof-2")
    assert first is not None and first.features["contacts_30d"] == 1.0
    for _ in range(3):
        do_receive_message(rt, IncomingMessage(ANGRY, "wechat", "prof-2"))
    later = _profile(rt, "prof-2")
    assert later is not None and later.features["contacts_30d"] == 4.0
    assert later.features["contacts_wechat_30d"] == 3.0
    assert later.emotion_current == "angry" and later.features["complaint_level_max_90d"] >= 2
    assert later.escalation_risk > first.escalation_risk
    assert later.updated_at >= first.updated_at


def test_profiles_a_refresh_requested_before_the_last_one_is_skipped(runtime: Runtime) -> None:
    rt = runtime
    out = do_receive_message(rt, IncomingMessage(CALM, "web", "prof-4"))
    row = _profile(rt, "prof-4")
    assert row is not None and row.features_at is not None
    done, customer_id = row.features_at, row.customer_id
    with rt.uow() as uow:  # a message stored without its event: only a refresh by hand sees it
        uow.session.add(Message(conversation_id=out.conversation_id, direction="in", author="customer",
                                text="again", text_masked="again", created_at=rt.clock.now()))
        uow.commit()
    refresh_profile("customer", customer_id, (done - timedelta(seconds=1)).isoformat())  # older: skipped
    assert _profile(rt, "prof-4").features["contacts_30d"] == 1.0  # type: ignore[union-attr]
    refresh_profile("customer", customer_id, (done + timedelta(seconds=1)).isoformat())
    assert _profile(rt, "prof-4").features["contacts_30d"] == 2.0  # type: ignore[union-attr]
    refresh_profile("conversation", "no-such-conversation")  # nobody behind it: nothing to do


def test_profiles_a_survey_answer_refreshes_the_profile(runtime: Runtime) -> None:
    rt = runtime
    do_load_demo(rt.uow(), rt.clock)
    out = do_receive_message(rt, IncomingMessage(ANGRY, "web", "prof-3"))
    with rt.session_factory() as s:
        order_id = s.scalar(select(WorkOrder.id).where(WorkOrder.conversation_id == out.conversation_id))
    assert order_id is not None
    _, survey, _ = closure.do_close(rt, order_id, actor="system", now=rt.clock.now())
    assert _profile(rt, "prof-3").features["csat_mean_180d"] is None  # type: ignore[union-attr]
    closure.do_answer_survey(rt, survey.token, rating=2, comment="", now=rt.clock.now())
    row = _profile(rt, "prof-3")
    assert row is not None and row.features["csat_mean_180d"] == 2.0


def test_profiles_training_promotes_only_a_better_model_and_reports_held_out_auc(runtime: Runtime) -> None:
    rt = runtime
    now = rt.clock.now()
    with rt.uow() as uow:
        made = generate_history(uow.session, customers=150, now=now, seed=3)
        uow.commit()
    assert made.customers == 150 and made.alarms > 0
    root = rt.settings.models_path
    first = do_train_profiles(rt.uow(), root, now=now, trigger="manual")
    auc = first.candidate_metrics["auc_recent"]
    assert first.promoted and auc is not None and 0.6 < auc <= 1.0  # generated history, not real
    assert first.candidate_metrics["n_holdout"] > 0 and first.candidate_metrics["holdout_positive"] > 0
    model = load_active(root)
    assert model is not None and model.version == first.candidate_version
    again = do_train_profiles(rt.uow(), root, now=now, trigger="scheduled")
    assert not again.promoted and "not better" in again.reason  # the same history: no better
    assert load_active(root).version == first.candidate_version  # type: ignore[union-attr]
    with rt.session_factory() as s:
        runs = list(s.scalars(select(ProfileTrainingRun).order_by(ProfileTrainingRun.created_at,
                                                                  ProfileTrainingRun.id)))
        customer_id = s.scalar(select(Customer.id).where(Customer.ref.like("GEN-P%")).limit(1))
    assert [(r.trigger, r.promoted) for r in runs] == [("manual", True), ("scheduled", False)]
    assert runs[1].active_version == first.candidate_version
    assert runs[1].candidate_metrics["auc_recent"] == auc and runs[1].active_metrics["auc_recent"] == auc
    assert customer_id is not None
    scored = do_refresh_profile(rt.uow(), customer_id, now=now, model=model)
    assert scored.score.model_version == model.version and scored.score.segment in model.segment_names
    assert {d["feature"] for d in scored.score.drivers["escalation_risk"]} <= set(model.feature_names)


@pytest.fixture
def redis_runtime(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline, redis_url: str
                  ) -> Iterator[Runtime]:
    rt = build_runtime(make_settings(db_url, tmp_path / "var", mailbox, tasks_mode="external", redis_url=redis_url))
    rt.set_pipeline(pipeline)
    rt.queue = TaskQueue(RedisHuey(f"caredesk-test-{secrets.token_hex(6)}", url=redis_url, utc=True))
    _register_tasks(rt.queue)
    yield rt
    rt.queue.huey.flush()
    rt.live.close()
    _clean(rt)
    rt.engine.dispose()


REFRESH_BOUND_S = 30.0


def test_profiles_features_follow_a_message_within_seconds_on_redis(redis_runtime: Runtime) -> None:
    rt = redis_runtime
    consumer = start_embedded_consumer(rt.queue.huey, workers=1)
    lags = []
    try:
        for n in range(5):
            started = time.monotonic()
            do_receive_message(rt, IncomingMessage(ANGRY if n % 2 else CALM, "web", "prof-redis"))
            while True:
                row = _profile(rt, "prof-redis")
                if row is not None and row.features.get("contacts_30d") == float(n + 1):
                    break
                # The refresh follows the message through the queue (not a nightly batch): typically ~0.1 s, printed
                # below. The bound is generous because the lag is a benchmark's matter: on a 2-core CI machine the
                # one-thread worker once waited over 5 s beside the chaos test's processes.
                assert time.monotonic() - started < REFRESH_BOUND_S, "the profile was not refreshed by the queue"
                time.sleep(0.02)
            lags.append(time.monotonic() - started)
    finally:
        consumer.stop(graceful=True)
    print(f"message -> profile refreshed on Redis: max {max(lags) * 1000:.0f} ms, "
          f"mean {sum(lags) / len(lags) * 1000:.0f} ms")
    assert max(lags) < 5.0
    with rt.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Conversation)) >= 1
