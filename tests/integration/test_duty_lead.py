"""Nobody free never means nobody responsible, through the API on the demo bank (SQLite and PostgreSQL, real
SMTP): with no agent present, a complaint at level 3 goes to the lead on duty at once (by the rota: the demo
lead on a Friday morning, the complaint team's lead at night) with an in-app notice, an e-mail and a timeline
entry saying why; an escalating conversation's waiting order is handed over the moment it escalates; an order
that could not be handed over (nobody to lead) is handed over by the minute sweep once the wait has passed;
an ordinary complaint still waits in the queue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.http.app import create_app
from caredesk.storage.orm import DutyHandoff, Notification, Staff, WorkOrder, WorkOrderEvent
from caredesk.triage.pipeline import TriagePipeline
from caredesk.workorders.tasks import hand_over_to_duty_lead
from tests.conftest import Mailbox, create_key
from tests.integration.alarm_helpers import demo_runtime_with
from tests.integration.test_escalation_counting import ESCALATING

FRIDAY_10 = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: `lead` is on duty by the demo rota
FRIDAY_23 = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 23:00: `huang.qiang` (the night shift)
THREAT = "信用卡被乱扣年费三个月了，再不退钱我就向银保监会投诉，打12378"
MILD = "信用卡年费被乱扣了，我要投诉，请给我一个说法"


@pytest.fixture
def duty_rt(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> Iterator[Runtime]:
    # Every message opens a work order: no emergency meeting, no knowledge answer (both are configuration).
    with demo_runtime_with(db_url, tmp_path / "var", mailbox, pipeline, emergency_urgency=[],
                           kb_threshold=2.0) as rt:
        rt.clock = FrozenClock(FRIDAY_10)
        with rt.uow() as uow:  # nobody is present: every agent with capacity is away
            uow.session.execute(update(Staff).where(Staff.capacity > 0).values(away=True))
            uow.commit()
        yield rt


@pytest.fixture
def client(duty_rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(duty_rt, start_consumer=False)) as c:
        c.headers["Authorization"] = f"Bearer {create_key(duty_rt)}"
        yield c


def post(client: TestClient, text: str, ref: str, conversation_id: str | None = None) -> dict[str, Any]:
    r = client.post("/api/v1/messages", json={"text": text, "channel": "web", "customer_ref": ref,
                                              "conversation_id": conversation_id})
    assert r.status_code == 201, r.text
    body = dict(r.json())
    return body | {"work_order_id": body["decision"]["work_order_id"]}


def order_of(client: TestClient, order_id: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/work-orders/{order_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def staff_id(rt: Runtime, username: str) -> str:
    with rt.session_factory() as s:
        return s.scalars(select(Staff.id).where(Staff.username == username)).one()


def events(rt: Runtime, order_id: str) -> list[WorkOrderEvent]:
    with rt.session_factory() as s:
        return list(s.scalars(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order_id)
                              .order_by(WorkOrderEvent.seq)))


def duty_notices(rt: Runtime) -> list[tuple[str, str]]:
    with rt.session_factory() as s:
        rows = s.execute(select(Staff.username, Notification.link).join(Staff, Staff.id == Notification.staff_id)
                         .where(Notification.kind == "duty_handoff")).all()
    return sorted((username, link) for username, link in rows)


def test_duty_lead_level_3_complaint_with_nobody_present_goes_to_the_lead_at_once(
        client: TestClient, duty_rt: Runtime, mailbox: Mailbox) -> None:
    body = post(client, THREAT, "cust-12378")
    assert body["decision"]["kind"] == "work_order" and body["work_order_id"]
    order = order_of(client, body["work_order_id"])
    lead = staff_id(duty_rt, "lead")
    assert (order["assignee_id"], order["duty_lead_id"], order["queued_at"]) == (lead, lead, None)
    kinds = [e["kind"] for e in order["events"]]
    assert "handed_to_lead" in kinds and "queued" not in kinds  # never merely waiting
    handed = next(e for e in order["events"] if e["kind"] == "handed_to_lead")
    assert "complaint_level:3" in handed["data"]["reasons"]
    assert (handed["data"]["lead_by"], handed["data"]["trigger"]) == ("rota", "at_once")
    assert handed["data"]["skipped"] and all(why == "away" for _, why in handed["data"]["skipped"])
    assert handed["note"].startswith("Nobody with capacity is present and a complaint at level 3")
    assert "演示组长 Demo Lead, on duty by the rota, at once." in handed["note"]

    link = f"/workbench/work-orders/{order['id']}"
    assert duty_notices(duty_rt) == [("lead", link)]
    [mail] = mailbox.wait_for(1)
    assert mail["To"] == "lead@demo-bank.example" and order["case_number"] in mail["Subject"]
    assert order["id"] not in mail["Subject"]  # the case number people see, not the internal id
    text = mail.get_payload(decode=True).decode("utf-8")
    assert "a complaint at level 3" in text and link in text
    with duty_rt.session_factory() as s:
        [handoff] = s.scalars(select(DutyHandoff)).all()
        assert handoff.emailed_at is not None and handoff.email_attempts == 1
    assert mail["X-CareDesk-Notice"] == f"duty_handoff:{handoff.id}"

    # an ordinary complaint with nobody present still waits in its group's queue
    mild = order_of(client, post(client, MILD, "cust-mild")["work_order_id"])
    assert mild["assignee_id"] is None and mild["queued_at"] is not None and mild["duty_lead_id"] is None
    assert [e["kind"] for e in mild["events"]][-1] == "queued"
    assert len(mailbox.messages) == 1 and len(duty_notices(duty_rt)) == 1


def test_duty_lead_at_night_is_the_night_shift_and_without_the_rota_a_team_lead(
        client: TestClient, duty_rt: Runtime, mailbox: Mailbox) -> None:
    duty_rt.clock = FrozenClock(FRIDAY_23)
    night = order_of(client, post(client, THREAT, "cust-night")["work_order_id"])
    assert night["assignee_id"] == staff_id(duty_rt, "huang.qiang")
    with duty_rt.uow() as uow:  # the night lead leaves: nobody on the rota is active
        uow.session.execute(update(Staff).where(Staff.username == "huang.qiang").values(active=False))
        uow.commit()
    fallback = order_of(client, post(client, THREAT, "cust-night-2")["work_order_id"])
    handed = next(e for e in fallback["events"] if e["kind"] == "handed_to_lead")
    assert handed["data"]["lead_by"] == "team_lead"
    with duty_rt.session_factory() as s:
        chosen = s.get(Staff, fallback["assignee_id"])
        assert chosen is not None and chosen.role == "team_lead" and chosen.active
    assert sorted(m["To"] for m in mailbox.wait_for(2)) == sorted(
        ["huang.qiang@demo-bank.example", chosen.email])


def test_duty_lead_escalating_conversation_is_handed_over_when_it_escalates(
        client: TestClient, duty_rt: Runtime, mailbox: Mailbox) -> None:
    first = post(client, ESCALATING[0], "cust-escalating")  # repeated calls: level 2, waits in the queue
    order_id = first["work_order_id"]
    assert order_id and order_of(client, order_id)["assignee_id"] is None
    second = post(client, ESCALATING[1], "cust-escalating", first["conversation_id"])  # the regulator: level 3
    order = order_of(client, order_id)
    assert order["assignee_id"] == staff_id(duty_rt, "lead") == order["duty_lead_id"]
    kinds = [e["kind"] for e in order["events"]]
    assert kinds.index("queued") < kinds.index("handed_to_lead")
    handed = next(e for e in order["events"] if e["kind"] == "handed_to_lead")
    assert "complaint_level:3" in handed["data"]["reasons"]
    assert second["work_order_id"] in (None, order_id)
    post(client, ESCALATING[2], "cust-escalating", first["conversation_id"])  # the alarm: handed over already
    assert [e.kind for e in events(duty_rt, order_id)].count("handed_to_lead") == 1
    assert [m["To"] for m in mailbox.wait_for(1)].count("lead@demo-bank.example") == 1


def test_duty_lead_sweep_hands_over_after_the_wait(client: TestClient, duty_rt: Runtime, mailbox: Mailbox) -> None:
    leads = ("team_lead", "complaint_manager")
    with duty_rt.uow() as uow:  # nobody to lead either: the threat waits like any order
        uow.session.execute(update(Staff).where(Staff.role.in_(leads)).values(active=False))
        uow.commit()
    threat = post(client, THREAT, "cust-waiting")["work_order_id"]
    mild = post(client, MILD, "cust-waiting-mild")["work_order_id"]
    assert order_of(client, threat)["assignee_id"] is None
    assert "queued" in [e.kind for e in events(duty_rt, threat)]
    with duty_rt.uow() as uow:
        uow.session.execute(update(Staff).where(Staff.role.in_(leads)).values(active=True))
        uow.commit()

    clock = duty_rt.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(timedelta(minutes=4))
    assert hand_over_to_duty_lead() == []  # not yet five minutes (CAREDESK_DUTY_HANDOFF_AFTER_MINUTES)
    clock.advance(timedelta(minutes=2))
    assert hand_over_to_duty_lead() == [threat]
    order = order_of(client, threat)
    assert order["assignee_id"] == staff_id(duty_rt, "lead") == order["duty_lead_id"]
    handed = next(e for e in order["events"] if e["kind"] == "handed_to_lead")
    assert (handed["data"]["trigger"], handed["data"]["waited_minutes"]) == ("after_wait", 6)
    assert "after waiting 6 min." in handed["note"]
    [mail] = mailbox.wait_for(1)
    assert mail["To"] == "lead@demo-bank.example" and order["case_number"] in mail["Subject"]
    # the ordinary complaint keeps waiting; a second sweep in the next minute changes nothing
    assert order_of(client, mild)["assignee_id"] is None
    clock.advance(timedelta(minutes=1))
    assert hand_over_to_duty_lead() == []
    assert len(mailbox.messages) == 1
    with duty_rt.session_factory() as s:
        assert s.get(WorkOrder, mild) is not None
        assert [h.trigger for h in s.scalars(select(DutyHandoff))] == ["after_wait"]
