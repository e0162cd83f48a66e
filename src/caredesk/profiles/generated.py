"""Generated customer history, for the demo, the tests and the measurements of the profile model: NOT real
data. Each customer has a hidden temper; calm weeks bring a few contacts, mostly neutral; an episode (more
likely for a short-tempered customer) brings repeated contacts about one topic, rising anger and complaint
levels, and sometimes, from its second week, a regulator complaint or an escalation alarm (the outcomes the
risk model learns), after which some customers close their account (as the `core_banking` source says,
with the field names of customers/sources.yaml: products, monthly_spend, account_closed, open_loans, ...).

Rows are written directly (no triage, no intake): what the profile reads, with the labels triage would have
given. Customer refs start with `prefix`; a second call with the same prefix adds nothing."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.ids import new_id
from caredesk.storage.orm import (
    Alarm,
    Conversation,
    Customer,
    CustomerSourceRecord,
    Message,
    SatisfactionSurvey,
    TriageResult,
    WorkOrder,
)

__all__ = ["GeneratedHistory", "generate_history"]

_TOPICS = ("credit_card_bill", "loan_mortgage", "transfer_payment", "fees_charges", "online_banking_login",
           "card_service", "deposit_wealth", "dispute_refund")
_PRODUCTS = {"credit_card_bill": "credit_card", "loan_mortgage": "mortgage", "card_service": "debit_card",
             "deposit_wealth": "deposit", "online_banking_login": "online_banking", "fees_charges": "debit_card",
             "transfer_payment": "mobile_app", "dispute_refund": "credit_card"}
_CHANNELS = ("web", "web", "wechat", "email", "phone")
_SUBJECT = {"credit_card_bill": "信用卡账单", "loan_mortgage": "房贷还款", "transfer_payment": "转账",
            "fees_charges": "手续费", "online_banking_login": "网银登录", "card_service": "银行卡",
            "deposit_wealth": "理财产品", "dispute_refund": "交易退款"}
_ASK = {0: "的问题想咨询一下。", 1: "的问题一直没处理好，我要投诉。", 2: "的问题已经反映好几次了，要求赔偿！",
        3: "的问题再不解决我就向监管部门投诉！"}
_LEVEL_TYPES = {0: [], 1: [], 2: ["repeated"], 3: ["regulator"]}


@dataclass(frozen=True)
class GeneratedHistory:
    customers: int
    messages: int
    alarms: int
    closed_accounts: int


def _emotion(rnd: random.Random, temper: float, episode: int) -> str:
    angry = min(0.9, 0.03 + 0.15 * temper + 0.22 * episode)
    anxious = 0.15 + 0.1 * temper
    roll = rnd.random()
    if roll < angry:
        return "angry"
    if roll < angry + anxious:
        return "anxious"
    return "satisfied" if roll > 0.8 else "neutral"


def _level(rnd: random.Random, episode: int) -> int:
    if episode == 0:
        return 1 if rnd.random() < 0.06 else 0
    if episode >= 2 and rnd.random() < 0.25 + 0.1 * episode:
        return 3
    return min(2, episode) if rnd.random() < 0.7 else min(2, episode - 1)


class _Writer:
    """Rows kept in layers and flushed parents first (most of these tables have no ORM relationship that
    would order the inserts)."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.messages = self.alarms = 0
        self.layers: list[list[object]] = [[], [], [], []]

    def add(self, layer: int, *rows: object) -> None:
        self.layers[layer].extend(rows)

    def flush(self) -> None:
        for rows in self.layers:
            self.s.add_all(rows)
            self.s.flush()
            rows.clear()

    def contact(self, customer: Customer, at: datetime, channel: str, topic: str, emotion: str, level: int,
                rnd: random.Random) -> Conversation:
        conv = Conversation(id=new_id(), customer_id=customer.id, channel=channel, status="closed", created_at=at,
                            last_message_at=at)
        text = f"{_SUBJECT.get(topic, topic)}{_ASK[level]}（演示生成）"  # generated: said in the text too
        msg = Message(id=new_id(), conversation_id=conv.id, direction="in", author="customer", text=text,
                      text_masked=text, language="zh", created_at=at)
        problem = "complaint" if level else "consultation"
        tri = TriageResult(message_id=msg.id, model_version="generated", language="zh", content_type="business",
                           content_type_confidence=0.9, problem_type=problem, problem_type_confidence=0.9,
                           urgency="attention" if level >= 2 else "general", urgency_confidence=0.9,
                           emotion=emotion, complaint_level=level, complaint_types=list(_LEVEL_TYPES[level]),
                           topic=topic, product=_PRODUCTS.get(topic), decision_kind="work_order" if level else "answer",
                           decision_reason="generated history", created_at=at)
        self.add(1, conv)
        self.add(2, msg)
        self.add(3, tri)
        self.messages += 1
        if level:
            self._order(customer, conv, msg, at, topic, level, emotion, rnd)
        return conv

    def _order(self, customer: Customer, conv: Conversation, msg: Message, at: datetime, topic: str, level: int,
               emotion: str, rnd: random.Random) -> None:
        resolved = at + timedelta(days=rnd.uniform(0.5, 6))
        order = WorkOrder(id=new_id(), conversation_id=conv.id, customer_id=customer.id, message_id=msg.id,
                          title=f"(generated) {topic}", description="generated history", content_type="business",
                          problem_type="complaint", urgency="attention" if level >= 2 else "general", flow="complaint",
                          step="closed", status="closed", status_category="closed", created_at=at, updated_at=resolved,
                          customer_tier=customer.tier, category=topic, resolved_at=resolved, closed_at=resolved)
        self.add(2, order)
        if rnd.random() < 0.5:
            rating = {"angry": 2, "anxious": 3, "neutral": 4, "satisfied": 5}[emotion] + rnd.choice((-1, 0, 0, 1))
            self.add(3, SatisfactionSurvey(work_order_id=order.id, token=new_id(), channel="web", sent_at=resolved,
                                          rating=max(1, min(5, rating)), answered_at=resolved + timedelta(hours=2),
                                          created_at=resolved))

    def alarm(self, conv: Conversation, at: datetime) -> None:
        self.add(2, Alarm(conversation_id=conv.id, status="resolved", level=2, count=3, threshold=3, created_at=at,
                         resolved_at=at + timedelta(hours=4)))
        self.alarms += 1


def generate_history(session: Session, *, customers: int, now: datetime, weeks: int = 30, seed: int = 16,
                     prefix: str = "GEN-P") -> GeneratedHistory:
    """Write `customers` generated customers with `weeks` of history ending at `now` (flushes; the caller
    commits). Nothing is written when customers with the prefix exist already."""
    if session.scalar(select(func.count()).select_from(Customer).where(Customer.ref.like(f"{prefix}%"))):
        return GeneratedHistory(0, 0, 0, 0)
    rnd = random.Random(seed)
    writer = _Writer(session)
    closed = 0
    start = now - timedelta(weeks=weeks)
    for n in range(customers):
        temper = rnd.betavariate(2, 5)
        balance = round(rnd.lognormvariate(10, 1.1), 2)
        tier = "private" if balance > 150_000 else "gold" if balance > 60_000 else "standard"
        customer = Customer(id=new_id(), ref=f"{prefix}{n:06d}", tier=tier, language="zh", created_at=start)
        writer.add(0, customer)
        joined = start + timedelta(days=rnd.uniform(0, 7 * weeks * 0.6))
        episode, topic, closed_at = 0, rnd.choice(_TOPICS), None
        week = joined
        while week < now and closed_at is None:
            if episode == 0 and rnd.random() < 0.02 + 0.1 * temper:
                episode, topic = 1, rnd.choice(_TOPICS)
            rate = 0.35 + 0.5 * temper if episode == 0 else 1.2 + 0.6 * episode
            for _ in range(min(8, _poisson(rnd, rate))):
                at = week + timedelta(seconds=rnd.uniform(0, 7 * 86400))
                if at >= now:
                    continue
                subject = topic if episode else rnd.choice(_TOPICS)
                level = _level(rnd, episode)
                conv = writer.contact(customer, at, rnd.choice(_CHANNELS), subject, _emotion(rnd, temper, episode),
                                      level, rnd)
                if episode >= 2 and rnd.random() < 0.2:
                    writer.alarm(conv, at + timedelta(minutes=5))
                if level == 3 and rnd.random() < 0.15:
                    closed_at = at + timedelta(days=rnd.uniform(3, 20))
            if episode:
                episode = 0 if rnd.random() < 0.35 else episode + 1
            week += timedelta(weeks=1)
        products = rnd.sample(("credit_card", "debit_card", "mortgage", "deposit", "wealth_product", "insurance"),
                              rnd.randint(1, 4))
        fields: dict[str, object] = {"balance": balance, "products": products,
                                     "monthly_spend": round(rnd.lognormvariate(7.5, 0.8), 2)}
        fetched = now - timedelta(hours=rnd.uniform(1, 48))
        if closed_at is not None and closed_at < now:
            fields |= {"account_closed": True, "closed_at": closed_at.isoformat()}
            closed += 1
        else:
            fields["account_closed"] = False
        fields["open_loans"] = int("mortgage" in products) + int(rnd.random() < 0.2)
        fields["loyalty_points"] = int(rnd.lognormvariate(7, 1))
        writer.add(1, CustomerSourceRecord(customer_id=customer.id, source="core_banking", fields=fields,
                                         status="ok", fetched_at=fetched, expires_at=fetched + timedelta(days=1),
                                         updated_at=fetched))
        if n % 200 == 199:
            writer.flush()
    writer.flush()
    return GeneratedHistory(customers, writer.messages, writer.alarms, closed)


def _poisson(rnd: random.Random, rate: float) -> int:
    """Knuth's method: small rates only."""
    limit, k, p = pow(2.718281828459045, -rate), 0, 1.0
    while True:
        p *= rnd.random()
        if p <= limit:
            return k
        k += 1
