"""The bot with the order and logistics connectors, through `do_receive_message` on SQLite and PostgreSQL, a real
HTTP server standing in for the systems: a status question is answered with the live status in the customer's
language (never an invented one), an unknown number is said to be unknown, a system that is down or behind an
open circuit gives "we'll follow up" and a work order whose timeline names the failure, and without a connector
of the kind the bot behaves as before. The CRM: a first contact's tier and name come from it, a complaint is
pushed to it, both by tasks after the commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.intake.decision import DecisionKind
from caredesk.integrations.connectors.breaker import MemoryBreakers
from caredesk.integrations.connectors.client import Connectors
from caredesk.integrations.connectors.config import load_connectors
from caredesk.storage.orm import Customer, Message, TriageResult, WorkOrderEvent
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, _clean, free_port, make_settings
from tests.support.connector_server import ENV, ConnectorServer, connector_server, connectors_yaml


@pytest.fixture(scope="module")
def server() -> Iterator[ConnectorServer]:
    with connector_server(free_port()) as state:
        yield state


@pytest.fixture
def system(server: ConnectorServer) -> ConnectorServer:
    server.reset()
    return server


def connect(rt: Runtime, tmp_path: Path, system: ConnectorServer, **kwargs: object) -> None:
    path = tmp_path / "connectors.yaml"
    path.write_text(connectors_yaml(**kwargs), encoding="utf-8")  # type: ignore[arg-type]
    rt.connectors = Connectors(load_connectors(path), MemoryBreakers(), environ=ENV | {"CONN_URL": system.url})


def say(rt: Runtime, text: str, ref: str = "cust-conn-1", conversation_id: str | None = None) -> IntakeOutcome:
    return do_receive_message(rt, IncomingMessage(text, "chat", ref, conversation_id))


def stored_reply(rt: Runtime, outcome: IntakeOutcome) -> str:
    with rt.session_factory() as s:
        reply = s.get(Message, outcome.reply_message_id)
        assert reply is not None
        return reply.text


@pytest.mark.parametrize(("text", "expected"), [
    ("我的订单 123456 到哪了", "您的订单 123456 当前状态：已发货。更新时间：2026-12-01 10:00。预计送达：2026-12-03。"),
    ("Hello, where is my order 123456?", "Your order 123456: shipped. Last update: 2026-12-01 10:00. "
                                         "Expected delivery: 2026-12-03."),
    ("快递单号 SF1234567890 到哪了", "您的快递 SF1234567890 当前状态：运输中。当前位置：上海转运中心。"),
    ("Where is my parcel? Tracking number SF1234567890", "Your parcel SF1234567890: in transit. "
                                                         "Current location: 上海转运中心."),
])
def test_bot_answers_with_the_live_status(runtime: Runtime, tmp_path: Path, system: ConnectorServer, text: str,
                                          expected: str) -> None:
    connect(runtime, tmp_path, system)
    out = say(runtime, text)
    assert out.reply_text == expected and stored_reply(runtime, out) == expected
    assert out.decision.kind == DecisionKind.ANSWER and out.work_order_id is None
    assert [r.code for r in out.decision.because] == ["live_status"]
    assert out.outgoing is not None and not out.outgoing.blocked  # checked like any reply
    assert len(system.seen()) == 1
    with runtime.session_factory() as s:
        triage = s.scalar(select(TriageResult).where(TriageResult.message_id == out.message_id))
        assert triage is not None and triage.decision_kind == "answer" and "live" in triage.decision_reason


def test_bot_says_an_unknown_number_is_unknown(runtime: Runtime, tmp_path: Path, system: ConnectorServer) -> None:
    connect(runtime, tmp_path, system)
    en = say(runtime, "where is my order 999999")
    assert en.reply_text == "We could not find order 999999. Please check the number and send it again."
    zh = say(runtime, "我的订单 999999 到哪了")
    assert zh.reply_text == "没有查到订单 999999，请核对号码后再发给我们。" and zh.work_order_id is None


@pytest.mark.parametrize(("mode", "reason"), [("fail", "HTTP 503"), ("slow", "no answer within 0.5 s"),
                                              ("garbage", "the response is not JSON")])
def test_system_down_gives_a_follow_up_and_a_work_order(runtime: Runtime, tmp_path: Path, system: ConnectorServer,
                                                        mode: str, reason: str) -> None:
    connect(runtime, tmp_path, system, retries=0, timeout=0.5)
    system.mode, system.slow_seconds = mode, 1.5  # type: ignore[assignment]
    out = say(runtime, "我的订单 123456 到哪了")
    assert out.work_order_id is not None and out.case_number is not None
    assert out.decision.kind == DecisionKind.WORK_ORDER and out.decision.because[0].code == "lookup_failed"
    assert out.reply_text == (f"订单系统暂时无法查询订单 123456 的状态。我们已为您创建工单（编号 {out.case_number}），"
                              "查到后会主动联系您。")
    assert "已发货" not in out.reply_text  # nothing invented
    with runtime.session_factory() as s:
        events = s.scalars(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == out.work_order_id,
                                                        WorkOrderEvent.kind == "lookup_failed")).all()
    assert [(e.data["connector"], e.data["reason"], e.data["circuit_open"]) for e in events] == [
        ("shop", reason, False)]
    assert "123456" not in events[0].note  # the timeline's note names the fault, not the customer's number


def test_open_circuit_answers_at_once_with_a_work_order(runtime: Runtime, tmp_path: Path,
                                                        system: ConnectorServer) -> None:
    connect(runtime, tmp_path, system, failures=2, retries=0)
    system.mode = "fail"
    say(runtime, "where is my order 123456", ref="c-a")
    say(runtime, "where is my order 123456", ref="c-b")
    assert len(system.seen()) == 2
    out = say(runtime, "Where is my parcel SF1234567890? And my order 123456", ref="c-c")  # the parcel: closed
    assert out.decision.because[0].code == "lookup_failed" and len(system.seen()) == 3
    blocked = say(runtime, "where is my order 123456", ref="c-d")
    assert len(system.seen()) == 3  # the order system's breaker is open: not called, answered at once
    assert blocked.reply_text is not None and blocked.case_number is not None
    assert blocked.reply_text.startswith("We cannot reach the order system to check order 123456 right now.")
    assert f"ticket ({blocked.case_number})" in blocked.reply_text
    with runtime.session_factory() as s:
        event = s.scalar(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == blocked.work_order_id,
                                                      WorkOrderEvent.kind == "lookup_failed"))
    assert event is not None and event.data["circuit_open"] is True


def test_without_a_connector_of_the_kind_the_bot_is_unchanged(runtime: Runtime, tmp_path: Path,
                                                              system: ConnectorServer) -> None:
    before = say(runtime, "我的订单 123456 到哪了", ref="c-none-1")
    connect(runtime, tmp_path, system, orders=False)  # only the parcels and the CRM
    after = say(runtime, "我的订单 123456 到哪了", ref="c-none-2")
    assert system.seen() == []
    assert (after.decision.kind, after.decision.reason) == (before.decision.kind, before.decision.reason)
    assert "live_status" not in [r.code for r in after.decision.because]


def test_lookup_holds_no_database_lock(runtime: Runtime, tmp_path: Path, system: ConnectorServer) -> None:
    """While one customer's lookup waits for a slow system, another customer's message is stored and answered:
    it finishes while the lookup is still waiting."""
    connect(runtime, tmp_path, system, timeout=6.0, retries=0)
    runtime.settings.connectors_bot_budget_seconds = 6.0
    say(runtime, "How do I change my card PIN?", ref="c-warm")  # first-use costs paid before the race
    system.mode, system.slow_seconds = "slow", 4.0
    slow: list[IntakeOutcome] = []
    worker = threading.Thread(target=lambda: slow.append(say(runtime, "where is my order 123456", ref="c-slow")))
    worker.start()
    deadline = time.monotonic() + 5
    while not system.seen() and time.monotonic() < deadline:
        time.sleep(0.02)
    other = say(runtime, "How do I change my card PIN?", ref="c-other")
    still_waiting = worker.is_alive()
    worker.join(15)
    with runtime.session_factory() as s:
        assert s.get(Message, other.message_id) is not None
    assert still_waiting, "the other message waited for the slow lookup"
    assert slow and slow[0].reply_text is not None and slow[0].reply_text.startswith("Your order 123456: shipped")


@pytest.fixture
def crm_runtime(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline, server: ConnectorServer,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[Runtime]:
    """A runtime started with the connectors file and its variables, as `caredesk serve` would be."""
    server.reset()
    path = tmp_path / "connectors.yaml"
    path.write_text(connectors_yaml(), encoding="utf-8")
    for name, value in (ENV | {"CONN_URL": server.url}).items():
        monkeypatch.setenv(name, value)
    rt = build_runtime(make_settings(db_url, tmp_path / "var", mailbox, connectors_file=path))
    rt.set_pipeline(pipeline)
    yield rt
    _clean(rt)
    rt.engine.dispose()


def test_crm_enriches_a_first_contact_and_receives_complaints(crm_runtime: Runtime, server: ConnectorServer) -> None:
    first = say(crm_runtime, "How do I change my card PIN?", ref="C-CRM-1")
    with crm_runtime.session_factory() as s:
        customer = s.scalar(select(Customer).where(Customer.ref == "C-CRM-1"))
        assert customer is not None and (customer.tier, customer.name) == ("gold", "王小明")
    (lookup,) = server.seen("/customers")
    assert lookup.method == "GET" and lookup.headers["authorization"] == "Bearer crm-t0ken"

    complaint = say(crm_runtime, "我要投诉你们网点的服务态度太差了，柜员对我大吼大叫，我要求道歉和赔偿！",
                    ref="C-CRM-1", conversation_id=first.conversation_id)
    with crm_runtime.session_factory() as s:
        triage = s.scalar(select(TriageResult).where(TriageResult.message_id == complaint.message_id))
    assert triage is not None and triage.problem_type == "complaint"
    requests = server.seen("/customers")
    assert [r.method for r in requests] == ["GET", "PATCH"]  # no second lookup: not a first contact any more
    assert requests[1].body == {"flags": {"complaint": True, "level": triage.complaint_level},
                                "last_case": complaint.case_number}


def test_crm_down_loses_no_message(crm_runtime: Runtime, server: ConnectorServer) -> None:
    server.mode = "fail"
    out = say(crm_runtime, "How do I change my card PIN?", ref="C-CRM-1")
    with crm_runtime.session_factory() as s:  # the task failed (the queue retries it); the message is stored
        customer = s.scalar(select(Customer).where(Customer.ref == "C-CRM-1"))
        assert customer is not None and customer.tier == "standard"
        assert s.get(Message, out.message_id) is not None
    assert server.seen("/customers")
