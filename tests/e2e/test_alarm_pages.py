"""The alarm panel, alarm cards and incident form pages through the real app (TestClient): the htmx
fragments, the lifecycle buttons (hx-post with the CSRF header that base.html sends), and the meeting's
end button opening the incident form for its first recorder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.storage.orm import IncidentRecord, Staff
from tests.support.web_session import HX, sign_in

THREATS_ZH = ["我要向12378投诉", "再不处理我就打12378", "我已经准备好材料去银保监会投诉"]
URGENT = "我的银行卡刚刚被盗刷了两万元，不是我本人操作，请立即冻结！"


def signed_in(rt: Runtime, username: str) -> TestClient:
    """A client signed in as `username` whose every request carries the htmx and CSRF headers."""
    client = TestClient(create_app(rt, start_consumer=False), follow_redirects=False)
    client.headers.update(sign_in(client, username))
    return client


def threats(rt: Runtime, ref: str) -> list[IntakeOutcome]:
    first = do_receive_message(rt, IncomingMessage(THREATS_ZH[0], "web", ref))
    return [first] + [do_receive_message(rt, IncomingMessage(t, "web", ref, first.conversation_id))
                      for t in THREATS_ZH[1:]]


@pytest.fixture
def lead(demo_runtime: Runtime) -> Iterator[TestClient]:
    with signed_in(demo_runtime, "lead") as client:
        yield client


def test_alarm_panel_and_card_buttons(lead: TestClient, demo_runtime: Runtime) -> None:
    assert 'id="alarms"' in lead.get("/workbench", headers={"HX-Request": ""}).text  # the full page has the panel
    assert "No open alarms" in lead.get("/workbench/alarms?lang=en").text
    outcomes = threats(demo_runtime, "cust-panel")
    alarm_id = str(outcomes[2].alarm_id)
    panel = lead.get("/workbench/alarms").text
    assert f'id="alarm-{alarm_id}"' in panel and 'data-status="open"' in panel
    assert "cust-panel" in panel and 'class="probability"' in panel and 'data-feature="external_threats"' in panel
    assert f'hx-post="/workbench/alarms/{alarm_id}/acknowledge"' in panel

    card = lead.post(f"/workbench/alarms/{alarm_id}/acknowledge")
    assert card.status_code == 200 and 'data-status="acknowledged"' in card.text
    assert "/acknowledge" not in card.text  # no second acknowledge button
    again = lead.post(f"/workbench/alarms/{alarm_id}/acknowledge")
    assert 'role="alert"' in again.text and "already acknowledged" in again.text

    with demo_runtime.session_factory() as s:
        agent = s.scalar(select(Staff).where(Staff.username == "agent"))
        assert agent is not None
    card = lead.post(f"/workbench/alarms/{alarm_id}/assign", data={"staff_id": agent.id})
    assert agent.display_name in card.text
    unexplained = lead.post(f"/workbench/alarms/{alarm_id}/resolve", data={"note": "  "})  # a reason is asked
    assert 'role="alert"' in unexplained.text
    assert "请填写解决原因" in unexplained.text or "Give the reason" in unexplained.text
    assert 'data-status="resolved"' not in unexplained.text and 'name="note" required' in unexplained.text
    card = lead.post(f"/workbench/alarms/{alarm_id}/resolve", data={"note": "done"})
    assert 'data-status="resolved"' in card.text and "hx-post" not in card.text
    assert f'id="alarm-{alarm_id}"' not in lead.get("/workbench/alarms").text  # resolved: off the panel

    page = lead.get(f"/workbench/conversations/{outcomes[0].conversation_id}", headers={"HX-Request": ""}).text
    assert f'hx-get="/workbench/conversations/{outcomes[0].conversation_id}/alarms"' in page
    cards = lead.get(f"/workbench/conversations/{outcomes[0].conversation_id}/alarms").text
    assert f'id="alarm-{alarm_id}"' in cards and 'data-status="resolved"' in cards

    with signed_in(demo_runtime, "agent") as agent_client:  # agents may not assign
        assert agent_client.post(f"/workbench/alarms/{alarm_id}/assign", data={"staff_id": agent.id}
                                 ).status_code == 403
    no_csrf = TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False)
    no_csrf.cookies = lead.cookies
    assert no_csrf.post(f"/workbench/alarms/{alarm_id}/resolve", headers=HX).status_code == 403


def test_meeting_end_button_opens_the_incident_form(lead: TestClient, demo_runtime: Runtime) -> None:
    outcome = do_receive_message(demo_runtime, IncomingMessage(URGENT, "web", "cust-form"))
    meeting_page = lead.get(f"/workbench/meetings/{outcome.meeting_id}", headers={"HX-Request": ""}).text
    assert f'hx-post="/workbench/meetings/{outcome.meeting_id}/end"' in meeting_page
    r = lead.post(f"/workbench/meetings/{outcome.meeting_id}/end")
    assert r.status_code == 204
    with demo_runtime.session_factory() as s:
        record = s.scalar(select(IncidentRecord).where(IncidentRecord.meeting_id == outcome.meeting_id))
        assert record is not None and record.status == "in_progress"
        first = s.get(Staff, record.recorders[0].staff_id)
        assert first is not None
    assert r.headers["HX-Redirect"] == f"/workbench/incidents/{record.id}"

    with signed_in(demo_runtime, first.username) as recorder:
        page = recorder.get(f"/workbench/incidents/{record.id}", headers={"HX-Request": ""}).text
        assert 'id="incident-save"' in page and 'id="incident-return"' not in page  # first: nothing to return to
        form = recorder.post(f"/workbench/incidents/{record.id}/sign").text
        assert 'id="incident-error"' in form  # nothing written yet
        form = recorder.post(f"/workbench/incidents/{record.id}/section", data={"content": "09:30 冻结"}).text
        assert "09:30 冻结" in form
        form = recorder.post(f"/workbench/incidents/{record.id}/sign").text
        assert 'id="incident-save"' not in form and 'data-version="1"' in form
    other = lead.get(f"/workbench/incidents/{record.id}").text
    assert "09:30 冻结" in other
