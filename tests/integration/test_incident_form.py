"""The incident feedback form through the API with real staff sign-ins (SQLite and PostgreSQL, real SMTP):
after an urgent message's meeting ends, the form passes through three recorders in the configured order,
one returns it to the previous recorder, each signs; the last signature locks and versions it, further
edits are refused with 409, the customer is told in the conversation and by e-mail, and the event record
exports as Markdown with every part."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.http.app import create_app
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.storage.orm import AuditEntry, Conversation, Customer, Message, Staff
from tests.conftest import Mailbox
from tests.support.web_session import csrf_token, submit_sign_in

URGENT = "我的银行卡刚刚被盗刷了两万元，不是我本人操作，请立即冻结！"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


class StaffClient:
    """A browser-like client signed in as one staff member; unsafe requests carry the CSRF header."""

    def __init__(self, rt: Runtime, username: str) -> None:
        self.client = TestClient(create_app(rt, start_consumer=False), follow_redirects=False)
        submit_sign_in(self.client, username)
        self.headers = {"X-CSRF-Token": csrf_token(self.client, "/workbench")}  # a new session, a new token
        self.username = username

    def put(self, path: str, **kw: Any) -> Any:
        return self.client.put(path, headers=self.headers, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.client.post(path, headers=self.headers, **kw)

    def get(self, path: str) -> Any:
        return self.client.get(path)


@pytest.fixture
def started(demo_runtime: Runtime) -> tuple[Runtime, str, str]:
    """(runtime, meeting id, conversation id) after an urgent message from a customer with an e-mail."""
    rt = demo_runtime
    rt.clock = FrozenClock(T0)
    outcome = do_receive_message(rt, IncomingMessage(URGENT, "web", "cust-incident"))
    assert outcome.meeting_id
    with rt.uow() as uow:  # the customer's e-mail address, as the CRM would know it
        customer = uow.session.scalar(select(Customer).where(Customer.ref == "cust-incident"))
        assert customer is not None
        customer.email = "cust-incident@example.com"
        uow.commit()
    return rt, outcome.meeting_id, outcome.conversation_id


def usernames(rt: Runtime, ids: list[str]) -> list[str]:
    with rt.session_factory() as s:
        names = {st.id: st.username for st in s.scalars(select(Staff).where(Staff.id.in_(ids)))}
    return [names[i] for i in ids]


def test_incident_form_three_recorders_return_sign_lock_export(started: tuple[Runtime, str, str], api: Any,
                                                               mailbox: Mailbox) -> None:
    rt, meeting_id, conversation_id = started
    form = api.get(f"/api/v1/meetings/{meeting_id}/incident").json()
    record_id = form["id"]
    assert form["status"] == "pending"
    order = usernames(rt, [r["staff_id"] for r in form["recorders"]])
    assert [r["section"] for r in form["recorders"]] == ["timeline", "cause_and_actions", "review_and_sign_off"]
    first, second, third = (StaffClient(rt, name) for name in order)

    # Before the meeting ends the form is closed.
    r = first.put(f"/api/v1/incidents/{record_id}/section", json={"content": "x"})
    assert r.status_code == 409, r.text
    assert StaffClient(rt, "agent").post(f"/api/v1/meetings/{meeting_id}/end").status_code == 403
    assert api.post(f"/api/v1/meetings/{meeting_id}/end").status_code == 200  # an admin (or team lead) may
    form = api.get(f"/api/v1/incidents/{record_id}").json()
    assert form["status"] == "in_progress" and [x["status"] for x in form["recorders"]] == ["active", "waiting",
                                                                                             "waiting"]

    sections = {"timeline": "09:30 客户报告盗刷；09:33 卡片冻结；09:40 风控确认交易为伪卡。",
                "cause_and_actions": "原因：境外伪卡交易。措施：冻结、挂失、发起拒付。",
                "review_and_sign_off": "复核：处置及时，客户资金已垫付。同意结案。"}

    rt.clock.advance(timedelta(minutes=45))  # type: ignore[attr-defined]
    # Only the recorder whose turn it is may write.
    assert second.put(f"/api/v1/incidents/{record_id}/section", json={"content": "too early"}).status_code == 403
    assert api.put(f"/api/v1/incidents/{record_id}/section", json={"content": "an API key"}).status_code == 403
    assert first.post(f"/api/v1/incidents/{record_id}/sign").status_code == 400  # nothing written yet
    assert first.post(f"/api/v1/incidents/{record_id}/return", json={"reason": "x"}).status_code == 409  # first
    assert first.put(f"/api/v1/incidents/{record_id}/section", json={"content": "09:30 盗刷"}).status_code == 200
    assert first.post(f"/api/v1/incidents/{record_id}/sign").status_code == 200

    # The second recorder writes, finds the timeline incomplete and returns the form.
    assert second.put(f"/api/v1/incidents/{record_id}/section",
                      json={"content": sections["cause_and_actions"]}).status_code == 200
    r = second.post(f"/api/v1/incidents/{record_id}/return", json={"reason": "时间线缺少冻结和风控确认的时间"})
    assert r.status_code == 200
    form = r.json()
    assert [x["status"] for x in form["recorders"]] == ["active", "waiting", "waiting"]
    assert form["recorders"][0]["signature"] is None  # the returned section must be signed again
    assert third.put(f"/api/v1/incidents/{record_id}/section", json={"content": "no"}).status_code == 403

    assert first.put(f"/api/v1/incidents/{record_id}/section", json={"content": sections["timeline"]}
                     ).status_code == 200
    assert first.post(f"/api/v1/incidents/{record_id}/sign").status_code == 200
    assert second.post(f"/api/v1/incidents/{record_id}/sign").status_code == 200  # its text was kept
    assert third.put(f"/api/v1/incidents/{record_id}/section",
                     json={"content": sections["review_and_sign_off"]}).status_code == 200
    r = third.post(f"/api/v1/incidents/{record_id}/sign")
    assert r.status_code == 200
    form = r.json()
    assert form["status"] == "locked" and form["locked_at"] is not None
    assert [x["status"] for x in form["recorders"]] == ["signed"] * 3
    assert all(len(x["signature"]) == 64 for x in form["recorders"])
    assert [v["version"] for v in form["versions"]] == [1, 2, 3, 4] and form["version"] == 4
    assert {k: v["content"] for k, v in form["form"]["parts"].items()} == sections

    # Locked: every further change is refused, by anyone.
    for client in (first, second, third):
        assert client.put(f"/api/v1/incidents/{record_id}/section", json={"content": "late"}).status_code == 409
        assert client.post(f"/api/v1/incidents/{record_id}/sign").status_code == 409
    assert third.post(f"/api/v1/incidents/{record_id}/return", json={"reason": "again"}).status_code == 409
    assert api.post(f"/api/v1/meetings/{meeting_id}/end").status_code == 409

    # The customer response is completed: a bot message in the conversation and an e-mail.
    with rt.session_factory() as s:
        last = s.scalars(select(Message).where(Message.conversation_id == conversation_id)
                         .order_by(Message.created_at.desc(), Message.id.desc())).first()
        assert last is not None and (last.author, last.direction) == ("bot", "out")
        assert "应急处置" in last.text
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.object_id == record_id)
                            .order_by(AuditEntry.id)).all()
        assert s.get(Conversation, conversation_id) is not None
    assert actions.count("incident.signed") == 4 and actions[-2:] == ["incident.locked", "incident.customer_emailed"]
    customer_mail = [m for m in mailbox.messages if m["X-CareDesk-Incident"] == record_id]
    assert len(customer_mail) == 1 and customer_mail[0]["To"] == "cust-incident@example.com"

    # The event record as Markdown, with every part.
    r = api.get(f"/api/v1/incidents/{record_id}/export.md")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/markdown")
    md = r.text
    for position, (section, content) in enumerate(sections.items(), start=1):
        assert f"## {position}. {section}" in md and content in md
    assert "时间线缺少冻结和风控确认的时间" in md  # the return is part of the record
    assert md.count("SHA-256") == 3 and "version 4" in md and "**locked**" in md
    assert "盗刷" in md  # the fault description from the meeting's context
