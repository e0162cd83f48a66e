"""Knowledge at hand and the conversation page's reply through the real app (TestClient, SQLite and PostgreSQL):
refusals change nothing, the invitations fragment lists only the reader's own unanswered invitations."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.storage.orm import KnowledgeEntry, Message, WorkOrderEvent
from tests.support.web_session import HX, csrf_token, submit_sign_in

FAQ_EN = "How do I reset my online banking password?"
COMPLAINT_ZH = "你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法"
URGENT_EN = "My credit card was just stolen and someone made unauthorized payments, freeze it now!"


@pytest.fixture
def web(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as client:
        yield client


def receive(rt: Runtime, text: str, ref: str) -> IntakeOutcome:
    return do_receive_message(rt, IncomingMessage(text, "chat", ref))


def _messages(rt: Runtime, conversation_id: str) -> int:
    with rt.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(Message)
                            .where(Message.conversation_id == conversation_id)) or 0)


def test_conversation_reply_refusals_write_nothing(web: TestClient, demo_runtime: Runtime) -> None:
    ticket = receive(demo_runtime, COMPLAINT_ZH, "at-hand-1")
    answered = receive(demo_runtime, FAQ_EN, "at-hand-2")
    submit_sign_in(web, "agent")
    token = csrf_token(web, f"/workbench/conversations/{ticket.conversation_id}")
    before = _messages(demo_runtime, ticket.conversation_id)
    r = web.post(f"/workbench/conversations/{ticket.conversation_id}/reply?lang=en",
                 data={"text": "   ", "csrf_token": token})
    assert r.status_code == 400 and r.headers["x-caredesk-error"] == "invalid_input"
    assert 'id="conv-reply-error"' in r.text and 'id="conv-reply-form"' in r.text
    assert _messages(demo_runtime, ticket.conversation_id) == before
    page = web.get(f"/workbench/conversations/{answered.conversation_id}?lang=en")  # no work order
    assert 'id="conv-no-reply"' in page.text and 'id="conv-reply-form"' not in page.text
    r = web.post(f"/workbench/conversations/{answered.conversation_id}/reply", data={"text": "hi",
                                                                                     "csrf_token": token})
    assert r.status_code == 404
    assert _messages(demo_runtime, answered.conversation_id) == 2

    r = web.post(f"/workbench/conversations/{ticket.conversation_id}/reply",
                 data={"text": "我们已核实，请您放心。", "csrf_token": token})
    assert (r.status_code, r.headers["location"]) == (
        303, f"/workbench/conversations/{ticket.conversation_id}?sent=1")
    assert _messages(demo_runtime, ticket.conversation_id) == before + 1


def test_knowledge_inserted_checks_the_entry_and_records_it(web: TestClient, demo_runtime: Runtime) -> None:
    ticket = receive(demo_runtime, COMPLAINT_ZH, "at-hand-3")
    submit_sign_in(web, "agent")
    headers = HX | {"X-CSRF-Token": csrf_token(web, "/workbench")}
    url = f"/workbench/work-orders/{ticket.work_order_id}/knowledge-inserted"
    with demo_runtime.session_factory() as s:
        entry = s.scalars(select(KnowledgeEntry).where(KnowledgeEntry.status == "published")).first()
        assert entry is not None
        entry_id, version = entry.id, entry.version
    assert web.post(url, data={"entry": "no-such-entry", "version": "1"}, headers=headers).status_code == 404
    assert web.post(url, data={"entry": entry_id, "version": str(version + 5)}, headers=headers).status_code == 404
    assert web.post(url, data={"entry": entry_id, "version": "0"}, headers=headers).status_code in (400, 422)
    r = web.post(url, data={"entry": entry_id, "version": str(version), "source": "conversation"}, headers=headers)
    assert r.status_code == 204
    with demo_runtime.session_factory() as s:
        used = s.scalars(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == ticket.work_order_id,
                                                      WorkOrderEvent.kind == "knowledge_inserted")).all()
    assert [(e.data["entry_id"], e.data["version"], e.data["source"]) for e in used] == [
        (entry_id, version, "conversation")]
    panel = web.get(f"/workbench/work-orders/{ticket.work_order_id}/knowledge?lang=en", headers=HX)
    assert panel.status_code == 200 and "Knowledge at hand" in panel.text and "<html" not in panel.text


def test_invitations_fragment_shows_only_the_readers_own(web: TestClient, demo_runtime: Runtime) -> None:
    urgent = receive(demo_runtime, URGENT_EN, "at-hand-4")
    assert urgent.meeting_id
    submit_sign_in(web, "zhou.ting")  # on call for card fraud in the demo roster
    mine = web.get("/workbench/invitations?lang=en", headers=HX)
    assert mine.status_code == 200 and f'id="invite-{urgent.meeting_id}"' in mine.text
    assert f'id="invite-{urgent.meeting_id}"' in web.get("/workbench").text  # on the full page at once
    web.post("/logout", data={"csrf_token": csrf_token(web, "/workbench")})
    submit_sign_in(web, "agent")
    assert "invite-" not in web.get("/workbench/invitations", headers=HX).text
