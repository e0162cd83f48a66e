"""The profile in the queue, on the demo bank (SQLite and PostgreSQL, real triage, real queue queries): a
high-tier angry customer's order outranks a standard customer's with the same text and the team lead is told at
once (in-app notice, timeline entry); value and loyalty lift an order, but never past one about to breach its
SLA."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.http.deps import Caller
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.storage.orm import Notification, Staff, WorkOrder, WorkOrderEvent
from caredesk.triage.pipeline import TriagePipeline
from caredesk.web import queries
from caredesk.web.workorder_queries import team_queue
from tests.conftest import Mailbox
from tests.integration.alarm_helpers import demo_runtime_with
from tests.support.profiles import customer_with_profile

FRIDAY_10 = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: `lead` is on duty by the demo rota
ANGRY = "信用卡年费乱扣，我非常生气，太过分了，你们这是什么破服务！"
PLAIN = "请问信用卡账单在哪里查询？"


@pytest.fixture
def prio_rt(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> Iterator[Runtime]:
    # Every message opens a work order: no emergency meeting, no knowledge answer (both are configuration).
    with demo_runtime_with(db_url, tmp_path / "var", mailbox, pipeline, emergency_urgency=[],
                           kb_threshold=2.0) as rt:
        rt.clock = FrozenClock(FRIDAY_10)
        yield rt


def say(rt: Runtime, text: str, ref: str) -> IntakeOutcome:
    out = do_receive_message(rt, IncomingMessage(text, "app", ref, identified=True))
    assert out.work_order_id, out.decision
    return out


def order(rt: Runtime, order_id: str) -> tuple[int, list[str], list[str]]:
    """The order's priority, its created reasons and its event kinds."""
    with rt.session_factory() as s:
        wo = s.get(WorkOrder, order_id)
        assert wo is not None
        events = list(s.scalars(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order_id)
                                .order_by(WorkOrderEvent.seq)))
        created = next(e for e in events if e.kind == "created")
        return wo.priority, list(created.data["priority_reasons"]), [e.kind for e in events]


def conversation_queue(rt: Runtime) -> list[queries.QueueRow]:
    with rt.session_factory() as s:
        admin = s.scalars(select(Staff).where(Staff.username == "admin")).one()
        return queries.queue(s, Caller.of_staff(admin), now=rt.clock.now())


def team_order_ids(rt: Runtime, order_id: str) -> list[str]:
    """The work-order team queue of a team lead of the order's department."""
    with rt.session_factory() as s:
        department = s.get(WorkOrder, order_id).department_id  # type: ignore[union-attr]
        viewer = s.scalars(select(Staff).where(Staff.department_id == department, Staff.role == "team_lead")
                           .order_by(Staff.username)).first()
        assert viewer is not None
        return [r.order.id for r in team_queue(s, viewer, rt.sla, rt.clock.now())]


def test_high_tier_angry_customer_outranks_a_standard_one_with_the_same_text_and_the_lead_is_told(
        prio_rt: Runtime) -> None:
    rt = prio_rt
    customer_with_profile(rt, "vip-angry", tier="private", value=0.9, loyalty=0.5)
    customer_with_profile(rt, "std-angry", tier="standard", profile=False)
    std = say(rt, ANGRY, "std-angry")
    rt.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    vip = say(rt, ANGRY, "vip-angry")
    assert vip.doc.emotion.label == "angry" == std.doc.emotion.label
    assert vip.doc.complaint_level < 3  # not a high-risk hand-over: the notice is the profile's doing

    vip_priority, vip_reasons, vip_events = order(rt, vip.work_order_id)  # type: ignore[arg-type]
    std_priority, std_reasons, std_events = order(rt, std.work_order_id)  # type: ignore[arg-type]
    assert vip_priority < std_priority
    assert "tier private +2" in vip_reasons and "vip_emotion strong +1" in vip_reasons
    assert "value high +1" in vip_reasons
    assert not any(r.startswith(("vip_emotion", "value", "loyalty")) for r in std_reasons)
    assert "lead_told" in vip_events and "lead_told" not in std_events

    # the team lead on duty is told at once, once, about the high-tier customer's order only
    with rt.session_factory() as s:
        notices = s.execute(select(Staff.username, Notification.link, Notification.title)
                            .join(Staff, Staff.id == Notification.staff_id)
                            .where(Notification.kind == "vip_emotion")).all()
        told = s.scalars(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == vip.work_order_id,
                                                      WorkOrderEvent.kind == "lead_told")).one()
    assert [(u, link) for u, link, _ in notices] == [("lead", f"/workbench/work-orders/{vip.work_order_id}")]
    assert told.data["lead_by"] == "rota" and told.data["note_code"] == "vip_emotion_lead_told"
    assert "vip-angry" not in notices[0][2]  # the notice names the (masked) case, not the customer

    # the real queues: the conversation queue and the department's work-order queue put the VIP first
    ids = [r.conversation_id for r in conversation_queue(rt)]
    assert ids.index(vip.conversation_id) < ids.index(std.conversation_id)
    row = next(r for r in conversation_queue(rt) if r.conversation_id == vip.conversation_id)
    assert {"tier.private", "vip_emotion.strong", "value.high"} <= {r.key for r in row.reasons}
    team = team_order_ids(rt, vip.work_order_id)  # type: ignore[arg-type]
    assert team.index(vip.work_order_id) < team.index(std.work_order_id)  # type: ignore[arg-type]


def test_value_and_loyalty_lift_an_order_but_never_past_one_about_to_breach(prio_rt: Runtime) -> None:
    rt = prio_rt
    customer_with_profile(rt, "loyal", tier="standard", value=0.95, loyalty=0.95)
    customer_with_profile(rt, "plain", tier="standard", profile=False)
    plain = say(rt, PLAIN, "plain")
    rt.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    loyal = say(rt, PLAIN, "loyal")
    loyal_priority, reasons, events = order(rt, loyal.work_order_id)  # type: ignore[arg-type]
    plain_priority, _, _ = order(rt, plain.work_order_id)  # type: ignore[arg-type]
    assert loyal_priority == plain_priority - 2 and "lead_told" not in events  # calm: nobody is told
    assert reasons[-2:] == ["value high +1", "loyalty high +1"]
    ids = [r.conversation_id for r in conversation_queue(rt)]
    assert ids.index(loyal.conversation_id) < ids.index(plain.conversation_id)  # the lift counts

    # the plain order is now due within the guard's window: no lift passes it
    with rt.uow() as uow:
        uow.session.execute(update(WorkOrder).where(WorkOrder.id == plain.work_order_id)
                            .values(next_due_at=rt.clock.now() + timedelta(minutes=20)))
        uow.commit()
    rows = conversation_queue(rt)
    ids = [r.conversation_id for r in rows]
    assert ids.index(plain.conversation_id) < ids.index(loyal.conversation_id)
    assert next(r for r in rows if r.conversation_id == plain.conversation_id).guarded
    team = team_order_ids(rt, plain.work_order_id)  # type: ignore[arg-type]
    assert team.index(plain.work_order_id) < team.index(loyal.work_order_id)  # type: ignore[arg-type]


def test_a_follow_up_with_strong_emotion_raises_the_open_order_once_and_tells_the_lead(prio_rt: Runtime) -> None:
    rt = prio_rt
    customer_with_profile(rt, "gold-calm", tier="gold", value=0.4, loyalty=0.4)
    first = say(rt, PLAIN, "gold-calm")
    before, reasons, events = order(rt, first.work_order_id)  # type: ignore[arg-type]
    assert "lead_told" not in events and not any(r.startswith("vip_emotion") for r in reasons)

    rt.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    angry = do_receive_message(rt, IncomingMessage(ANGRY, "app", "gold-calm", first.conversation_id,
                                                   identified=True))
    assert angry.work_order_id == first.work_order_id  # the follow-up joined the open order
    after, _, events = order(rt, first.work_order_id)  # type: ignore[arg-type]
    assert after == before - 1 and events.count("priority_raised") == 1 and events.count("lead_told") == 1
    row = next(r for r in conversation_queue(rt) if r.conversation_id == first.conversation_id)
    assert row.priority == after and "vip_emotion.strong" in {r.key for r in row.reasons}

    say_again = do_receive_message(rt, IncomingMessage(ANGRY, "app", "gold-calm", first.conversation_id,
                                                       identified=True))
    assert say_again.work_order_id == first.work_order_id
    again, _, events = order(rt, first.work_order_id)  # type: ignore[arg-type]
    assert again == after and events.count("lead_told") == 1  # told once per order
    with rt.session_factory() as s:
        assert len(s.scalars(select(Notification).where(Notification.kind == "vip_emotion")).all()) == 1
