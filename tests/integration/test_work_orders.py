"""Work orders end to end through intake and the actions, on SQLite and PostgreSQL, with real SMTP and a
frozen clock driving the SLA sweep: skills routing, a warning / breach / escalation at the right business
minute across a weekend and a holiday, transfers with hop times, closure with survey and callback, a low
rating reopening the order, and no double escalation with two Redis workers."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from huey import RedisHuey
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from caredesk.bootstrap import _register_tasks, build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.errors import Conflict, InvalidInput
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.sla.tasks import check_sla, sla_sweep
from caredesk.storage.orm import (
    CallbackTask,
    Customer,
    Department,
    Message,
    Notification,
    OutboxEvent,
    SatisfactionSurvey,
    SkillGroup,
    SlaMark,
    Staff,
    WorkOrder,
    WorkOrderEvent,
)
from caredesk.storage.outbox import TASK_LEASE, relay_once
from caredesk.tasks.app import EmbeddedConsumer, TaskQueue
from caredesk.triage.pipeline import TriagePipeline
from caredesk.workorders import closure, relations, replies, transfers
from caredesk.workorders.tasks import send_reply_email
from tests.conftest import Mailbox, _clean, free_port, make_settings
from tests.integration.test_task_queue import running, wait_until

SH = ZoneInfo("Asia/Shanghai")
COMPLAINT = "信用卡年费被乱扣了，我要投诉，请给我一个说法"

SLA = """
calendars:
  bank:
    timezone: Asia/Shanghai
    hours: {mon-fri: ["09:00-12:00", "13:00-18:00"]}
    holidays: ["2026-12-07"]
policies:
  - name: complaint
    when: {problem_type: [complaint]}
    calendar: bank
    targets: {first_response: 60, resolution: 240}
    warn_at: 0.75
    escalation:
      - {after_minutes: 0, notify: team_lead}
      - {after_minutes: 60, notify: department_head, reassign: true}
  - name: standard
    calendar: bank
    targets: {resolution: 960}
"""


def sh(day: int, hh: int, mm: int = 0) -> datetime:
    """A Shanghai wall time in December 2026 (Friday 4th, holiday Monday 7th) as UTC."""
    return datetime(2026, 12, day, hh, mm, tzinfo=SH).astimezone(UTC)


def _org(rt: Runtime) -> dict[str, str]:
    """A small bank: two groups in customer service, a retail department, and a management chain."""
    now = rt.clock.now()
    with rt.uow() as uow:
        s = uow.session
        depts = {code: Department(code=code, name_zh=code, name_en=code) for code in
                 ("customer_service", "retail_banking", "quality_assurance", "compliance_and_complaints")}
        s.add_all(depts.values())
        s.flush()
        cards = SkillGroup(code="cards", name_zh="银行卡组", name_en="Cards",
                           department_id=depts["customer_service"].id,
                           skills=["credit_card", "debit_card", "fee_dispute"], languages=["zh", "en"],
                           strategy="skills")
        digital = SkillGroup(code="digital", name_zh="电子银行组", name_en="Digital",
                             department_id=depts["customer_service"].id, skills=["login", "mobile_app"],
                             languages=["zh"], strategy="least_loaded")
        s.add_all([cards, digital])
        s.flush()

        def person(username: str, role: str, dept: str, groups: list[SkillGroup], capacity: int,
                   manager: Staff | None = None, away: bool = False) -> Staff:
            staff = Staff(username=username, display_name=username, email=f"{username}@bank.example", role=role,
                          department_id=depts[dept].id, languages=["zh", "en"], capacity=capacity, away=away,
                          manager_id=manager.id if manager else None, skill_groups=groups, created_at=now)
            s.add(staff)
            s.flush()
            return staff

        head = person("dept.head", "team_lead", "customer_service", [], 0)
        lead = person("team.lead", "team_lead", "customer_service", [], 0, head)
        person("away.agent", "agent", "customer_service", [cards], 5, lead, away=True)
        person("digital.agent", "agent", "customer_service", [digital], 5, lead)
        agent = person("cards.agent", "agent", "customer_service", [cards], 1, lead)
        retail = person("retail.agent", "agent", "retail_banking", [], 3, head)
        uow.commit()
        return {"head": head.id, "lead": lead.id, "agent": agent.id, "retail": retail.id}


@pytest.fixture
def wo_runtime(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> Iterator[Runtime]:
    sla = tmp_path / "sla.yaml"
    sla.write_text(SLA, encoding="utf-8")
    rt = build_runtime(make_settings(db_url, tmp_path / "var", mailbox, sla_file=sla),
                       clock=FrozenClock(sh(4, 16, 30)))
    rt.set_pipeline(pipeline)
    yield rt
    _clean(rt)
    rt.engine.dispose()


def _complaint(rt: Runtime, ref: str = "cust-wo", text: str = COMPLAINT) -> WorkOrder:
    outcome = do_receive_message(rt, IncomingMessage(text, "chat", ref))
    assert outcome.decision.kind == "work_order" and outcome.work_order_id
    with rt.session_factory() as s:
        order = s.get(WorkOrder, outcome.work_order_id)
        assert order is not None
        return order


def _events(rt: Runtime, order_id: str, kind: str | None = None) -> list[WorkOrderEvent]:
    with rt.session_factory() as s:
        stmt = select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order_id).order_by(WorkOrderEvent.seq)
        return [e for e in s.scalars(stmt) if kind is None or e.kind == kind]


def _marks(rt: Runtime, order_id: str) -> list[tuple[str, str, str | None]]:
    with rt.session_factory() as s:
        return sorted((m.target, m.kind, m.staff_id) for m in
                      s.scalars(select(SlaMark).where(SlaMark.work_order_id == order_id)))


def _at(rt: Runtime, when: datetime) -> None:
    rt.clock._at = when  # type: ignore[attr-defined]


def _recipients(mailbox: Mailbox) -> list[str]:
    return [addr for m in mailbox.messages for _, addr in getaddresses(m.get_all("To", []))]


def test_complaint_is_routed_by_skills_to_an_agent_with_capacity(wo_runtime: Runtime) -> None:
    rt = wo_runtime
    people = _org(rt)
    order = _complaint(rt)
    assert (order.flow, order.problem_type, order.sla_policy) == ("complaint", "complaint", "complaint")
    assert {"credit_card", "fee_dispute"} <= set(order.skills)
    assert order.assignee_id == people["agent"]
    assigned = _events(rt, order.id, "assigned")[0]
    assert assigned.data["skill_group"] == "cards" and "credit_card" in assigned.data["reason"]
    assert any(why == "away" for _, why in assigned.data["skipped"])
    # the agent has capacity 1: the next complaint waits in the group's queue ...
    second = _complaint(rt, "cust-wo-2", "信用卡被重复扣了年费，我要投诉")
    assert second.assignee_id is None and second.queued_at is not None
    assert _events(rt, second.id, "queued")[0].data["skill_group"] == "cards"
    # ... and gets the agent as soon as the first is resolved
    told_before = _changed(rt).count(second.id)
    closure.do_resolve(rt, order.id, resolution="年费已退回。", actor="cards.agent", now=rt.clock.now())
    with rt.session_factory() as s:
        waiting = s.get(WorkOrder, second.id)
        assert waiting is not None and waiting.assignee_id == people["agent"] and waiting.queued_at is None
    # the workbench and the customer's live chat are told at once, not at their next re-read
    assert _changed(rt).count(second.id) == told_before + 1


def _changed(rt: Runtime) -> list[str]:
    """The orders of every `workorders.changed` event recorded so far, in order."""
    with rt.session_factory() as s:
        return [row.payload["data"]["work_order_id"] for row in s.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == "workorders.changed").order_by(OutboxEvent.id))]


def test_sla_warning_breach_and_escalation_at_the_right_business_minute(wo_runtime: Runtime,
                                                                        mailbox: Mailbox) -> None:
    rt = wo_runtime
    people = _org(rt)
    order = _complaint(rt)  # Friday 16:30; resolution 240 business minutes: 90 on Friday, 150 on Tuesday
    replies.do_reply(rt, order.id, text="您好，我们已收到您的投诉，正在核实。", actor="cards.agent", now=sh(4, 16, 40))
    with rt.session_factory() as s:
        fresh = s.get(WorkOrder, order.id)
        assert fresh is not None and fresh.next_due_at == sh(8, 11, 30)  # Sat, Sun and the Monday holiday skipped

    def sweep_at(when: datetime) -> list[tuple[str, str, str | None]]:
        _at(rt, when)
        sla_sweep()
        return [m for m in _marks(rt, order.id) if m[0] == "resolution"]

    assert sweep_at(sh(5, 12)) == [] and sweep_at(sh(7, 17)) == []  # weekend and holiday count nothing
    assert sweep_at(sh(8, 10, 29)) == []
    assert sweep_at(sh(8, 10, 30)) == [("resolution", "warning", people["agent"])]  # 75% = 180 minutes
    mailbox.wait_for(1)
    assert sweep_at(sh(8, 11, 29)) == [("resolution", "warning", people["agent"])]
    marks = sweep_at(sh(8, 11, 30))
    assert ("resolution", "breach", people["agent"]) in marks
    assert ("resolution", "escalation-1", people["lead"]) in marks
    mailbox.wait_for(3)
    # lunch 12:00-13:00 does not count: 60 overdue business minutes are reached at 13:30
    assert ("resolution", "escalation-2", people["head"]) not in sweep_at(sh(8, 13, 29))
    assert ("resolution", "escalation-2", people["head"]) in sweep_at(sh(8, 13, 30))
    sla_sweep()  # again at the same minute: nothing new
    assert len(_marks(rt, order.id)) == 4
    with rt.session_factory() as s:
        fresh = s.get(WorkOrder, order.id)
        assert fresh is not None and fresh.escalation_level == 2 and fresh.assignee_id == people["head"]
        notices = Counter(n.staff_id for n in s.scalars(select(Notification)))
    assert notices == Counter({people["agent"]: 2, people["lead"]: 1, people["head"]: 1})
    mailbox.wait_for(4)
    assert Counter(_recipients(mailbox)) == Counter({"cards.agent@bank.example": 2, "team.lead@bank.example": 1,
                                                     "dept.head@bank.example": 1})
    subjects = sorted(m["Subject"] for m in mailbox.messages)
    with rt.session_factory() as s:
        mark_ids = set(s.scalars(select(SlaMark.id).where(SlaMark.work_order_id == order.id)))
    assert {m["X-CareDesk-Notice"] for m in mailbox.messages} == {f"sla_mark:{i}" for i in mark_ids}
    assert any("escalation-1" in subj and str(order.case_number) in subj for subj in subjects)
    assert [e.data["from"] for e in _events(rt, order.id, "reassigned")] == [people["agent"]]


def test_paused_order_stops_the_clock(wo_runtime: Runtime) -> None:
    rt = wo_runtime
    _org(rt)
    order = _complaint(rt)
    replies.do_reply(rt, order.id, text="请提供账单截图。", actor="cards.agent", now=sh(4, 16, 35))
    _at(rt, sh(4, 17))
    from caredesk.workorders.actions import do_transition

    do_transition(rt.uow(), order.id, "waiting_customer", actor="cards.agent", now=sh(4, 17))
    _at(rt, sh(9, 17))  # two working days later, still waiting for the customer
    sla_sweep()
    assert _marks(rt, order.id) == []
    do_transition(rt.uow(), order.id, "in_progress", actor="cards.agent", now=sh(9, 17))
    # 30 minutes used on Friday; 210 left from Wednesday 17:00: 60 that day, then Thursday 09:00 + 150
    _at(rt, sh(10, 11, 29))
    sla_sweep()
    assert [k for _, k, _ in _marks(rt, order.id)] == ["warning"]
    _at(rt, sh(10, 11, 30))
    sla_sweep()
    assert "breach" in [k for _, k, _ in _marks(rt, order.id)]


def test_transfer_between_departments_records_both_hop_times(wo_runtime: Runtime) -> None:
    rt = wo_runtime
    people = _org(rt)
    order = _complaint(rt)  # opened Friday 16:30 in customer service
    with pytest.raises(InvalidInput):
        transfers.do_transfer(rt, order.id, department="retail_banking", reason=" ", actor="cards.agent",
                              now=sh(4, 16, 50))
    transfers.do_transfer(rt, order.id, department="retail_banking", reason="需要零售银行部核实年费规则",
                          actor="cards.agent", now=sh(4, 16, 50))
    with rt.session_factory() as s:
        moved = s.get(WorkOrder, order.id)
        assert moved is not None and moved.assignee_id == people["retail"]
    transfers.do_transfer(rt, order.id, department="customer_service", reason="核实完毕，退回客服答复",
                          actor="retail.agent", now=sh(4, 17, 35))
    hops = _events(rt, order.id, "transferred")
    assert [(h.data["from_department"], h.data["to_department"], h.data["hop_minutes"]) for h in hops] == [
        ("customer_service", "retail_banking", 20.0), ("retail_banking", "customer_service", 45.0)]
    assert hops[1].data["hop_started_at"] == sh(4, 16, 50).isoformat()
    with pytest.raises(Conflict):
        transfers.do_transfer(rt, order.id, department="customer_service", reason="again", actor="x", now=sh(4, 17, 40))


def test_flow_steps_require_their_fields(wo_runtime: Runtime) -> None:
    rt = wo_runtime
    _org(rt)
    order = _complaint(rt)
    with pytest.raises(Conflict):
        transfers.do_advance_step(rt, order.id, step="review", fields={}, actor="a", now=sh(4, 16, 40))
    transfers.do_advance_step(rt, order.id, step="investigate", fields={}, actor="a", now=sh(4, 16, 40))
    with pytest.raises(InvalidInput, match="root_cause"):
        transfers.do_advance_step(rt, order.id, step="review", fields={}, actor="a", now=sh(4, 16, 45))
    moved = transfers.do_advance_step(rt, order.id, step="review", fields={"root_cause": "年费减免未生效"}, actor="a",
                                      now=sh(4, 17))
    assert moved.step == "review" and moved.fields["root_cause"] == "年费减免未生效"
    changes = _events(rt, order.id, "step_changed")
    assert [(c.data["from"], c.data["to"], c.data["hop_minutes"]) for c in changes] == [
        ("accept", "investigate", 10.0), ("investigate", "review", 20.0)]


def test_closure_sends_the_survey_creates_the_callback_and_a_low_rating_reopens(wo_runtime: Runtime,
                                                                                  mailbox: Mailbox) -> None:
    rt = wo_runtime
    _org(rt)
    order = _complaint(rt)
    closure.do_resolve(rt, order.id, resolution="年费已全额退回，给您带来不便深表歉意。", actor="cards.agent",
                       now=sh(4, 17))
    _, survey, callback = closure.do_close(rt, order.id, actor="cards.agent", now=sh(4, 17, 5))
    assert callback is not None and callback.due_at == sh(4, 17, 5) + timedelta(days=2)
    with rt.session_factory() as s:
        sent = s.get(SatisfactionSurvey, survey.id)
        assert sent is not None and sent.sent_at is not None and sent.channel == "chat"
        texts = [m.text for m in s.scalars(select(Message).where(Message.conversation_id == order.conversation_id)
                                           .order_by(Message.created_at, Message.id))]
        assert "年费已全额退回，给您带来不便深表歉意。" in texts  # the resolution, on the customer's channel
        assert any(f"/survey/{survey.token}" in t for t in texts)
        assert s.scalar(select(CallbackTask).where(CallbackTask.work_order_id == order.id)) is not None
    with pytest.raises(InvalidInput):
        closure.do_answer_survey(rt, survey.token, rating=9, comment="", now=sh(4, 18))
    closure.do_answer_survey(rt, survey.token, rating=1, comment="钱还没到账", now=sh(4, 18))
    with rt.session_factory() as s:
        reopened = s.get(WorkOrder, order.id)
        assert reopened is not None and reopened.status == "reopened" and reopened.status_category == "open"
        assert reopened.closed_at is None and reopened.resolved_at is None
    assert [e.data["rating"] for e in _events(rt, order.id, "survey_answered")] == [1]
    with pytest.raises(Conflict):
        closure.do_answer_survey(rt, survey.token, rating=5, comment="", now=sh(4, 18, 1))


def test_survey_goes_by_email_when_the_customer_has_an_address(wo_runtime: Runtime, mailbox: Mailbox) -> None:
    rt = wo_runtime
    _org(rt)
    order = _complaint(rt, "cust-mail")
    with rt.uow() as uow:
        from caredesk.storage.orm import Customer

        customer = uow.session.get(Customer, order.customer_id)
        assert customer is not None
        customer.email = "customer@example.com"
        uow.commit()
    closure.do_resolve(rt, order.id, resolution="已处理。", actor="cards.agent", now=sh(4, 17))
    _, survey, _ = closure.do_close(rt, order.id, actor="cards.agent", now=sh(4, 17, 5))
    mail = [m for m in mailbox.wait_for(1) if "customer@example.com" in m["To"]]
    body = mail[0].get_payload(decode=True).decode("utf-8") if mail else ""
    assert f"/survey/{survey.token}" in body
    closure.do_answer_survey(rt, survey.token, rating=5, comment="很满意", now=sh(4, 18))
    with rt.session_factory() as s:
        closed = s.get(WorkOrder, order.id)
        assert closed is not None and closed.status == "closed"  # a good rating leaves it closed


def test_merge_split_link_and_internal_notes(wo_runtime: Runtime) -> None:
    rt = wo_runtime
    _org(rt)
    a, b = _complaint(rt, "cust-a"), _complaint(rt, "cust-b", "信用卡被重复扣了年费，我要投诉")
    replies.do_add_note(rt, a.id, text="内部：客户是 VIP，优先处理", actor="cards.agent", now=sh(4, 16, 40))
    with rt.session_factory() as s:  # an internal note never reaches the customer's conversation
        assert not any("内部" in m.text for m in s.scalars(select(Message)))
    child = relations.do_split(rt, a.id, title="信用卡分期手续费", description="另一个问题", actor="cards.agent",
                               now=sh(4, 16, 45))
    assert child.id != a.id and child.sla_policy == "complaint"
    relations.do_link(rt, a.id, b.id, actor="cards.agent", now=sh(4, 16, 46))
    relations.do_merge(rt, b.id, a.id, actor="cards.agent", now=sh(4, 16, 47))
    with rt.session_factory() as s:
        merged = s.get(WorkOrder, b.id)
        assert merged is not None and merged.status == "closed" and merged.merged_into_id == a.id
    assert [e.kind for e in _events(rt, a.id) if e.kind in ("note", "split", "linked", "merged")] == [
        "note", "split", "linked", "merged"]


@pytest.mark.redis
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_two_redis_workers_escalate_once(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline,
                                         redis_url: str) -> None:
    sla = tmp_path / "sla.yaml"
    sla.write_text(SLA, encoding="utf-8")
    rt = build_runtime(make_settings(db_url, tmp_path / "var", mailbox, sla_file=sla, tasks_mode="external",
                                     redis_url=redis_url), clock=FrozenClock(sh(4, 16, 30)))
    rt.set_pipeline(pipeline)
    rt.queue = TaskQueue(RedisHuey(f"caredesk-test-{secrets.token_hex(6)}", url=redis_url, utc=True))
    _register_tasks(rt.queue)
    other = TaskQueue(RedisHuey(rt.queue.huey.name, url=redis_url, utc=True))
    _register_tasks(other)
    try:
        people = _org(rt)
        order = _complaint(rt)
        _at(rt, sh(8, 13, 30))  # past the breach and both escalation steps
        first = EmbeddedConsumer(rt.queue.huey, workers=2, worker_type="thread", periodic=False,
                                 check_worker_health=False)
        second = EmbeddedConsumer(other.huey, workers=2, worker_type="thread", periodic=False,
                                  check_worker_health=False)
        with running(first, second):
            for _ in range(4):  # sweeps from both workers' schedulers, racing
                rt.queue.enqueue(check_sla, order.id)
                other.enqueue(check_sla, order.id)
            wait_until(lambda: rt.queue.huey.pending_count() == 0 and len(mailbox.messages) >= 8, "notices",
                       timeout=90)
            wait_until(lambda: all(m is not None for m in _emailed(rt, order.id)), "all marks e-mailed", timeout=90)
        # both targets (first response and resolution) are past every step: each notice exactly once
        marks = _marks(rt, order.id)
        assert Counter((t, k) for t, k, _ in marks) == Counter(
            {(t, k): 1 for t in ("first_response", "resolution")
             for k in ("warning", "breach", "escalation-1", "escalation-2")})
        assert Counter(_recipients(mailbox)) == Counter({"cards.agent@bank.example": 4,
                                                         "team.lead@bank.example": 2, "dept.head@bank.example": 2})
        with rt.session_factory() as s:
            fresh = s.get(WorkOrder, order.id)
            assert fresh is not None and fresh.assignee_id == people["head"]
        assert len(_events(rt, order.id, "reassigned")) == 1
    finally:
        rt.queue.huey.flush()
        rt.live.close()
        _clean(rt)
        rt.engine.dispose()


def _emailed(rt: Runtime, order_id: str) -> list[Any]:
    with rt.session_factory() as s:
        return [m.emailed_at for m in s.scalars(select(SlaMark).where(SlaMark.work_order_id == order_id))]


def test_customer_writing_after_resolution_reopens_the_order(wo_runtime: Runtime) -> None:
    rt = wo_runtime
    _org(rt)
    order = _complaint(rt, "cust-again")
    closure.do_resolve(rt, order.id, resolution="年费已退回。", actor="cards.agent", now=sh(4, 17))
    again = do_receive_message(rt, IncomingMessage("钱还是没到账，问题没解决", "chat", "cust-again",
                                                   order.conversation_id))
    assert again.work_order_id == order.id
    with rt.session_factory() as s:
        reopened = s.get(WorkOrder, order.id)
        assert reopened is not None and reopened.status == "reopened"
    assert [e.kind for e in _events(rt, order.id)][-2:] == ["customer_message", "status_changed"]


def test_agent_replies_pass_the_outgoing_compliance_check(wo_runtime: Runtime) -> None:
    rt = wo_runtime
    _org(rt)
    order = _complaint(rt, "cust-compliance")
    from caredesk.errors import ComplianceBlocked

    with pytest.raises(ComplianceBlocked) as blocked:
        replies.do_reply(rt, order.id, text="这款理财保本保息，稳赚不赔。", actor="cards.agent", now=sh(4, 16, 40))
    assert "guaranteed_returns" in str(blocked.value.details)
    with rt.session_factory() as s:  # nothing was sent, nothing recorded as a reply
        fresh = s.get(WorkOrder, order.id)
        assert fresh is not None and fresh.first_response_at is None
    assert _events(rt, order.id, "reply") == []
    replies.do_reply(rt, order.id, text="我们保证退款，请放心。", actor="cards.agent", now=sh(4, 16, 41))
    assert [e.data["hits"][0]["rule"] for e in _events(rt, order.id, "compliance_warning")] == [
        "unauthorised_commitment"]
    assert len(_events(rt, order.id, "reply")) == 1


def test_the_customer_is_told_about_the_work_order(wo_runtime: Runtime) -> None:
    rt = wo_runtime
    _org(rt)
    outcome = do_receive_message(rt, IncomingMessage(COMPLAINT, "chat", "cust-ack"))
    assert outcome.reply_message_id and outcome.case_number and outcome.case_number in (outcome.reply_text or "")
    with rt.session_factory() as s:
        reply = s.get(Message, outcome.reply_message_id)
        assert reply is not None and reply.author == "bot" and reply.conversation_id == outcome.conversation_id


# --- a staff reply to a customer who wrote by e-mail goes out once ----------------------------------------
def _email_order(rt: Runtime) -> str:
    outcome = do_receive_message(rt, IncomingMessage(COMPLAINT, "email", "cust-by-mail"))
    assert outcome.work_order_id
    with rt.uow() as uow:
        customer = uow.session.scalars(select(Customer).where(Customer.ref == "cust-by-mail")).one()
        customer.email = "customer@example.com"
        uow.commit()
    return outcome.work_order_id


def _to_customer(mailbox: Mailbox) -> list:
    return [m for m in mailbox.messages if "customer@example.com" in m["To"]]


def test_reply_email_is_sent_once(wo_runtime: Runtime, mailbox: Mailbox) -> None:
    rt = wo_runtime
    _org(rt)
    order_id = _email_order(rt)
    reply = replies.do_reply(rt, order_id, text="您好，年费已退回。", actor="cards.agent", now=sh(4, 16, 40))
    assert reply.emailed and reply.message_id
    mailbox.wait_for(1)
    (sent,) = _to_customer(mailbox)
    assert sent["Message-ID"] == f"<reply-{reply.message_id}@demo-bank.example>"
    assert send_reply_email(order_id, reply.message_id) == "skipped"  # the task again: nothing more
    assert len(_to_customer(mailbox)) == 1
    with rt.session_factory() as s:
        assert s.get(Message, reply.message_id).emailed_at is not None


def test_a_failed_send_is_retried_later(wo_runtime: Runtime, mailbox: Mailbox) -> None:
    rt = wo_runtime
    _org(rt)
    order_id = _email_order(rt)
    port = rt.mailer.port
    rt.mailer.port = free_port()  # nobody listens: the send fails
    try:
        reply = replies.do_reply(rt, order_id, text="您好，正在核实。", actor="cards.agent", now=sh(4, 16, 40))
    finally:
        rt.mailer.port = port
    with rt.session_factory() as s:
        assert s.get(Message, reply.message_id).emailed_at is None  # the claim was rolled back
    assert _to_customer(mailbox) == []
    assert send_reply_email(order_id, reply.message_id) == "sent"  # the queue's retry
    mailbox.wait_for(1)
    assert len(_to_customer(mailbox)) == 1


def test_reply_email_recorded_after_the_send_or_sent_again_and_counted(wo_runtime: Runtime,
                                                                        mailbox: Mailbox) -> None:
    """The commit that records the send fails (the database went away): the claim stays, the attempt is
    counted; once the claim lapses the next run sends again, and the relay's run after the task's lease finds
    it sent and finishes the outbox row."""
    rt = wo_runtime
    _org(rt)
    order_id = _email_order(rt)
    armed = threading.Event()

    def database_gone(conn: Any) -> None:
        if armed.is_set():
            armed.clear()
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    mailbox.on_receive = armed.set
    event.listen(rt.engine, "commit", database_gone)
    try:
        reply = replies.do_reply(rt, order_id, text="您好，年费已退回。", actor="cards.agent", now=sh(4, 16, 40))
    finally:
        event.remove(rt.engine, "commit", database_gone)
        mailbox.on_receive = None
    assert len(_to_customer(mailbox)) == 1
    with rt.session_factory() as s:
        message = s.get(Message, reply.message_id)
        assert message is not None and message.emailed_at is None and message.email_attempts == 1
        assert message.email_claimed_until == rt.clock.now() + rt.settings.notice_claim
    assert send_reply_email(order_id, reply.message_id) == "claimed"  # the queue's retry, claim still live
    clock = rt.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(rt.settings.notice_claim)
    assert send_reply_email(order_id, reply.message_id) == "sent"
    assert len(_to_customer(mailbox)) == 2  # the one possible duplicate...
    with rt.session_factory() as s:
        message = s.get(Message, reply.message_id)
        assert message is not None and message.emailed_at == clock.now() and message.email_attempts == 2  # counted
    (row,) = [r for r in _outbox(rt) if r.event_type == "workorders.reply_email_due"]
    assert row.dispatched_at is None  # the direct calls above had no row id
    assert relay_once(rt.uow, rt.subscribers, now=sh(4, 16, 40) + TASK_LEASE).failed == []
    (row,) = [r for r in _outbox(rt) if r.event_type == "workorders.reply_email_due"]
    assert row.dispatched_at is not None and len(_to_customer(mailbox)) == 2  # the task found it sent


def _outbox(rt: Runtime) -> list[OutboxEvent]:
    with rt.session_factory() as s:
        return list(s.scalars(select(OutboxEvent)))
