"""A surge to look at, for the surge notice, page and browser tests: three weeks of roll-up history of two topics
(about 1.5 messages an hour by day in Shanghai, 0.2 by night), then real customer messages (six customers) about
a double-charged annual fee rising to 12 an hour for two hours (masked before storing; the newest has a phone
number, so it is among the report's samples). Detection at `DETECT_AT` opens a surge of topic card_fee; at
`per_hour=20` the web channel rises well above its usual too, by the topic's messages (on the topic surge's
report)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from caredesk.analytics.facts import message_facts
from caredesk.analytics.rollups import MessageFacts, add_messages
from caredesk.bootstrap.runtime import Runtime
from caredesk.compliance.masking import mask_text
from caredesk.storage.orm import Conversation, Customer, Message, TriageResult

__all__ = ["DETECT_AT", "HOUR", "PHONE", "RISE_HOURS", "RISE_START", "SHANGHAI", "TEXTS", "add_rise_messages",
           "seed_history", "seed_rising_topic"]

HOUR = timedelta(hours=1)
SHANGHAI = ZoneInfo("Asia/Shanghai")
RISE_START = datetime(2026, 3, 2, 2, tzinfo=UTC)  # Monday 10:00 in Shanghai
RISE_HOURS = 2
DETECT_AT = RISE_START + RISE_HOURS * HOUR + timedelta(minutes=5)
PHONE = "13812345678"
TEXTS = ["信用卡年费重复扣款", "为什么年费扣了两次", "my annual fee was charged twice",
         "annual fee charged twice again", "年费重复扣款请退回", f"年费被扣了两次，电话{PHONE}"]  # the newest last


def seed_rising_topic(rt: Runtime, *, ref: str = "surge-seed", per_hour: int = 12) -> None:
    seed_history(rt)
    add_rise_messages(rt, ref=ref, per_hour=per_hour, texts=TEXTS)


def seed_history(rt: Runtime) -> None:
    """The three weeks before the rise: topics card_fee and loans on the web channel, in the roll-up."""
    rng = random.Random(15)
    facts = []
    for back in range(21 * 24, 0, -1):
        hour = RISE_START - back * HOUR
        day = 8 <= hour.astimezone(SHANGHAI).hour < 20
        for topic in ("card_fee", "loans"):
            for _ in range(sum(rng.random() < (0.5 if day else 0.07) for _ in range(3))):
                facts.append(MessageFacts(hour + timedelta(minutes=rng.randrange(60)),
                                          {"topic": (topic,), "channel": ("web",)}, frozenset({"messages"})))
    with rt.uow() as uow:
        add_messages(uow.session, facts)
        uow.commit()


def add_rise_messages(rt: Runtime, *, ref: str, per_hour: int, texts: list[str], topic: str | None = "card_fee",
                      content_type: str = "business", problem_type: str = "complaint", emotion: str = "angry",
                      minute: float = 0.0, customers: int = 6) -> None:
    """`per_hour` real customer messages an hour over the rise, from `customers` customers in turn (`ref`,
    `ref-1`, ...) on the web channel, triaged with the given labels (masked before storing, counted in the
    roll-up)."""
    with rt.uow() as uow:
        s = uow.session
        conversations = []
        for k in range(customers):
            customer = Customer(ref=f"{ref}-{k}" if k else ref, tier="standard")
            s.add(customer)
            s.flush()
            conv = Conversation(customer_id=customer.id, channel="web")
            s.add(conv)
            s.flush()
            conversations.append(conv)
        real = []
        for i in range(per_hour * RISE_HOURS):
            at = RISE_START + timedelta(minutes=60 * i / per_hour + minute)
            text = texts[i % len(texts)]
            msg = Message(conversation_id=conversations[i % customers].id, direction="in", author="customer",
                          text=text, text_masked=mask_text(text)[0], created_at=at)
            s.add(msg)
            s.flush()
            triage = TriageResult(message_id=msg.id, model_version="test", language="zh", content_type=content_type,
                                  content_type_confidence=0.9, problem_type=problem_type, problem_type_confidence=0.9,
                                  urgency="general", urgency_confidence=0.9, emotion=emotion, topic=topic,
                                  decision_kind="work_order", decision_reason="test", created_at=at)
            s.add(triage)
            real.append(message_facts(triage, received_at=at, channel="web", branch=None))
        add_messages(s, real)
        uow.commit()
