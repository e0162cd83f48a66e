"""Work-order write throughput on a loaded database: opening orders the way intake does (conversation,
message, flow, SLA policy, skills routing, events) and status transitions, one transaction each, one
thread (what one API worker sustains)."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["ops_throughput"]


def ops_throughput(engine: Any, seconds: float = 5.0) -> tuple[float, float, int]:
    """(orders created per second, transitions per second, orders created)."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from caredesk.compliance.crypto import install_keyring, keyring_from_settings
    from caredesk.sla.policy import load_sla_config
    from caredesk.storage.db import make_session_factory
    from caredesk.storage.orm import Conversation, Customer, Message
    from caredesk.storage.unit_of_work import UnitOfWork
    from caredesk.triage.doc import LabelScore, TriageDoc
    from caredesk.workorders.actions import do_open_work_order, transition
    from caredesk.workorders.flows import load_builtin_flows
    from caredesk.workorders.skills import load_skill_lexicon

    install_keyring(keyring_from_settings({}, None, "bench"))  # message text is encrypted at rest, as in production
    factory = make_session_factory(engine)
    flows, sla, skills = load_builtin_flows(), load_sla_config(), load_skill_lexicon()
    text = "信用卡年费被乱扣了，我要投诉，请给我一个说法"
    doc = TriageDoc(text=text, normalized=text, language="zh", masked=text,
                    labels={"content_type": LabelScore("business", 0.9), "problem_type": LabelScore("complaint", 0.9),
                            "urgency": LabelScore("attention", 0.8)}, emotion=LabelScore("angry", 0.8))
    with factory() as s:
        customer_id = s.scalar(select(Customer.id).limit(1))
    created: list[str] = []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        with UnitOfWork(factory) as uow:
            s = uow.session
            now = datetime.now(UTC)
            customer = s.get(Customer, customer_id)
            assert customer is not None
            conversation = Conversation(customer_id=customer.id, channel="chat", created_at=now, last_message_at=now)
            s.add(conversation)
            s.flush()
            message = Message(conversation_id=conversation.id, direction="in", author="customer", text=text,
                              text_masked=text, language="zh", created_at=now)
            s.add(message)
            s.flush()
            order = do_open_work_order(s, flows=flows, conversation=conversation, customer=customer,
                                       message=message, doc=doc, reason="bench", now=now, sla=sla, skills=skills,
                                       case_zone=UTC)
            uow.commit()
            created.append(order.id)
    create_rate = len(created) / (time.perf_counter() - t0)
    done = 0
    t0 = time.perf_counter()
    targets = ("in_progress", "waiting_customer")
    while time.perf_counter() - t0 < seconds:
        order_id = created[done % len(created)]
        target = targets[(done // len(created)) % 2]
        with UnitOfWork(factory) as uow:
            transition(uow.session, order_id, target, actor="bench", now=datetime.now(UTC))
            uow.commit()
        done += 1
    return round(create_rate, 1), round(done / (time.perf_counter() - t0), 1), len(created)
