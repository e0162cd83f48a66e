"""The work-order pages through the real app (TestClient; SQLite and PostgreSQL): sign-in and permissions
(anonymous -> login, an auditor reads without action buttons and gets 403 on POST, an agent cannot open the
supervisor's pages), the order page with SLA and timeline, every htmx action and its refusals shown in
place, the macro picker, the collision notice, the queues with their SLA countdown (constant query count),
the SLA board and callbacks, macros, and the customer's survey link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.http.app import create_app
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.sla.tracking import check_order
from caredesk.storage.orm import CallbackTask, SatisfactionSurvey, Staff, WorkOrder, WorkOrderEvent
from caredesk.workorders import closure, replies, transfers
from tests.support import web_session
from tests.support.web_session import HX, csrf_token

COMPLAINT = "信用卡年费被乱扣了，我要投诉，请给我一个说法"
AGENT, LEAD, AUDITOR = "agent", "lead", "jiang.tao"


@pytest.fixture
def web(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as client:
        yield client


def new_client(rt: Runtime) -> TestClient:
    return TestClient(create_app(rt, start_consumer=False), follow_redirects=False)


def sign_in(client: TestClient, username: str) -> dict[str, str]:
    """Signs in; returns the headers an htmx POST from this session's pages sends (token read from the queue)."""
    return web_session.sign_in(client, username, page="/workbench/my-orders")


def staff_id(rt: Runtime, username: str) -> str:
    with rt.session_factory() as s:
        return s.scalars(select(Staff.id).where(Staff.username == username)).one()


def complaint(rt: Runtime, ref: str = "wo-web-1", assign_to: str | None = AGENT) -> str:
    """A complaint order from the intake, given to `assign_to` so that the queues are predictable."""
    outcome = do_receive_message(rt, IncomingMessage(COMPLAINT, "chat", ref))
    assert outcome.work_order_id
    if assign_to:
        transfers.do_assign(rt, outcome.work_order_id, staff_id=staff_id(rt, assign_to), actor="test",
                            now=rt.clock.now())
    return outcome.work_order_id


def kinds(rt: Runtime, order_id: str) -> list[str]:
    with rt.session_factory() as s:
        return list(s.scalars(select(WorkOrderEvent.kind).where(WorkOrderEvent.work_order_id == order_id)
                              .order_by(WorkOrderEvent.seq)))


def order(rt: Runtime, order_id: str) -> WorkOrder:
    with rt.session_factory() as s:
        found = s.get(WorkOrder, order_id)
        assert found is not None
        return found


# --- permissions ------------------------------------------------------------------------------------------
def test_work_order_pages_send_anonymous_visitors_to_login(web: TestClient, demo_runtime: Runtime) -> None:
    oid = complaint(demo_runtime)
    for path in ("/workbench/my-orders", "/workbench/team-orders", "/workbench/sla-board",
                 "/workbench/macros", f"/workbench/work-orders/{oid}", f"/workbench/work-orders/{oid}/sla"):
        r = web.get(path)
        assert (r.status_code, r.headers["location"]) == (303, "/login"), path
    r = web.post(f"/workbench/work-orders/{oid}/note", data={"text": "x"}, headers=HX)
    assert (r.status_code, r.headers["hx-redirect"]) == (401, "/login")
    assert kinds(demo_runtime, oid)[-1] != "note"


def test_auditor_reads_the_order_without_actions_and_gets_403_on_post(web: TestClient, demo_runtime: Runtime
                                                                      ) -> None:
    oid = complaint(demo_runtime)
    headers = sign_in(web, AUDITOR)
    page = web.get(f"/workbench/work-orders/{oid}?lang=en")
    assert page.status_code == 200 and "Timeline" in page.text and 'id="wo-sla"' in page.text
    for absent in ('id="wo-actions"', "/reply", "/transfer", "/resolve", "/note\"", "wo-transfer-dialog"):
        assert absent not in page.text, absent
    before = kinds(demo_runtime, oid)
    for action, data in (("note", {"text": "x"}), ("reply", {"text": "x"}), ("close", {}),
                         ("transfer", {"department": "retail_banking", "reason": "x"})):
        r = web.post(f"/workbench/work-orders/{oid}/{action}", data=data, headers=headers)
        assert r.status_code == 403, action
    assert kinds(demo_runtime, oid) == before
    assert web.post(f"/workbench/work-orders/{oid}/viewers", headers=headers).status_code == 200  # reading
    assert web.get("/workbench/sla-board").status_code == 403


def test_agent_cannot_open_the_supervisor_pages(web: TestClient, demo_runtime: Runtime) -> None:
    headers = sign_in(web, AGENT)
    queue = web.get("/workbench/my-orders?lang=en")
    assert queue.status_code == 200 and 'id="nav-my-orders"' in queue.text
    assert "/workbench/sla-board" not in queue.text  # neither in the nav nor in the tabs
    for path in ("/workbench/sla-board", "/workbench/macros"):
        r = web.get(path + "?lang=en")
        assert r.status_code == 403 and "Not allowed" in r.text, path
    r = web.post("/workbench/macros", data={"code": "x", "title_zh": "x", "title_en": "x", "body_zh": "x",
                                            "body_en": "x"}, headers=headers)
    assert r.status_code == 403


# --- the order page -------------------------------------------------------------------------------------
def test_order_page_shows_details_sla_countdown_and_timeline(web: TestClient, demo_runtime: Runtime) -> None:
    oid = complaint(demo_runtime)
    sign_in(web, AGENT)
    r = web.get(f"/workbench/work-orders/{oid}?lang=en")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    text = r.text
    assert "<h1>Work order</h1>" in text and oid in text and "#1 created" in text
    assert 'data-target="first_response"' in text and 'data-target="resolution"' in text
    assert re.search(r"\d+ business min left", text)
    assert "Priority P" in text and 'class="reason"' in text  # priority with its reasons
    assert 'id="wo-reply-form"' in text and 'id="wo-transfer-dialog"' in text and 'id="wo-step-form"' in text
    assert f'hx-post="/workbench/work-orders/{oid}/viewers"' in text and "every 20s" in text
    assert 'name="field:' not in text  # leaving "accept" needs no field
    fragment = web.get(f"/workbench/work-orders/{oid}/sla?lang=en", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="wo-sla"' in fragment.text
    assert web.get("/workbench/work-orders/nope").status_code == 404
    for lang in ("zh", "en"):  # every word translated: no raw keys in the text
        shown = web.get(f"/workbench/work-orders/{oid}?lang={lang}").text
        assert not re.search(r">[^<]*\b(wo|survey|nav|work_order)\.[a-z_]", shown), lang
    link = web.get(f"/work-orders/{oid}")  # the link in SLA e-mails and notices
    assert (link.status_code, link.headers["location"]) == (303, f"/workbench/work-orders/{oid}")


def test_order_actions_change_the_order_and_refusals_show_in_place(web: TestClient, demo_runtime: Runtime
                                                                    ) -> None:
    rt = demo_runtime
    oid = complaint(rt)
    headers = sign_in(web, AGENT)
    url = f"/workbench/work-orders/{oid}"

    def post(action: str, data: dict[str, str], status: int = 200) -> str:
        r = web.post(f"{url}/{action}?lang=en", data=data, headers=headers)
        assert r.status_code == status, (action, data, r.text[:500])
        if status == 400:
            assert r.headers["hx-retarget"] == "#wo-notice" and 'id="wo-error"' in r.text
        return r.text

    panel = post("note", {"text": "客户情绪激动，注意措辞"})
    assert 'id="wo-done"' in panel and "ev-note" in panel and "not visible to the customer" in panel
    panel = post("reply", {"text": "您好，已收到，正在核实。"})
    assert "ev-reply" in panel and "Sent to the customer" in panel
    before = kinds(rt, oid)
    assert "needs a reason" in post("transfer", {"department": "retail_banking", "reason": " "}, 400)
    assert "department not found" in post("transfer", {"department": "nowhere", "reason": "x"}, 400)
    assert "choose a department" in post("transfer", {"department": "", "reason": "x"}, 400)
    assert "already in" in post("transfer", {"department": "customer_service", "reason": "x"}, 400)
    assert "does not go from accept" in post("step", {"step": "callback"}, 400)
    assert kinds(rt, oid) == before  # nothing half-written

    panel = post("transfer", {"department": "retail_banking", "reason": "需核实年费规则"})
    assert "Order transferred" in panel and re.search(r"hop took [\d.]+ min", panel)
    assert "Customer Service Centre</span>" in panel and "Retail Banking</span>" in panel
    panel = post("step", {"step": "investigate"})
    assert 'name="field:root_cause"' in panel  # the next move needs the investigation's root cause
    assert "root_cause" in post("step", {"step": "review"}, 400)
    panel = post("step", {"step": "review", "field:root_cause": "年费规则配置错误"})
    assert "年费规则配置错误" in panel and "Quality review" in panel
    panel = post("status", {"status": "waiting_customer"})
    assert 'data-status="waiting_customer"' in panel
    assert "cannot go from" in post("status", {"status": "new"}, 400)
    panel = post("resolve", {"resolution": "年费已退回。"})
    assert 'data-status="resolved"' in panel and 'id="wo-reopen-form"' in panel
    assert 'id="wo-reply-form"' not in panel
    assert "reopen it first" in post("reply", {"text": "x"}, 400)
    panel = post("close", {})
    assert 'data-status="closed"' in panel and "Callback scheduled" in panel
    assert "needs a reason" in post("reopen", {"reason": ""}, 400)
    panel = post("reopen", {"reason": "客户来电表示未收到退款"})
    assert 'data-status="reopened"' in panel and 'id="wo-reply-form"' in panel
    r = web.post("/workbench/work-orders/missing/note?lang=en", data={"text": "x"}, headers=headers)
    assert r.status_code == 404 and "Not found" in r.text  # a wrong address, not a refusal in place


def test_a_reply_the_compliance_rules_block_is_refused_in_place(web: TestClient, demo_runtime: Runtime
                                                                ) -> None:
    oid = complaint(demo_runtime)
    headers = sign_in(web, AGENT)
    r = web.post(f"/workbench/work-orders/{oid}/reply?lang=en", data={"text": "这款理财保本保息，稳赚不赔"},
                 headers=headers)
    assert r.status_code == 400 and 'id="wo-error"' in r.text and "Guaranteed returns" in r.text
    assert "reply" not in kinds(demo_runtime, oid)
    r = web.post(f"/workbench/work-orders/{oid}/reply?lang=zh", data={"text": "这款理财保本保息，稳赚不赔"},
                 headers=headers)
    assert r.status_code == 400 and "答复未发送" in r.text and "承诺保本保收益（「保本保息、稳赚不赔」）" in r.text
    assert "不得承诺保本或保证收益" in r.text and "Promising" not in r.text and "guaranteed_returns" not in r.text


def test_a_warned_reply_goes_out_and_the_timeline_says_why_in_chinese(web: TestClient, demo_runtime: Runtime
                                                                      ) -> None:
    oid = complaint(demo_runtime)
    headers = sign_in(web, AGENT)
    r = web.post(f"/workbench/work-orders/{oid}/reply?lang=zh", data={"text": "您的资金绝对安全，请放心。"},
                 headers=headers)
    assert r.status_code == 200 and "ev-reply" in r.text
    warning = r.text.split('data-kind="compliance_warning"')[1].split("</li>")[0]
    assert "合规提示" in warning and "绝对化用语（「绝对安全」）：" in warning and "误导性宣传" in warning
    assert "absolute_claims" not in warning.split("</code>")[1] and "misleading" not in warning
    assert kinds(demo_runtime, oid)[-2:] == ["compliance_warning", "reply"]


def test_macro_picker_fills_the_reply_and_the_reply_records_the_macro(web: TestClient, demo_runtime: Runtime
                                                                      ) -> None:
    rt = demo_runtime
    replies.do_create_macro(rt, code="fee-refund", title_zh="年费退回", title_en="Fee refunded",
                            body_zh="您好，工单 {order} 的年费已退回。", body_en="The fee of {order} is refunded.",
                            actor="test", now=rt.clock.now())
    oid = complaint(rt)
    headers = sign_in(web, AGENT)
    page = web.get(f"/workbench/work-orders/{oid}?lang=en").text
    assert 'id="wo-macro"' in page and 'value="fee-refund"' in page
    filled = web.get(f"/workbench/work-orders/{oid}/macro?macro=fee-refund", headers=HX)
    with rt.session_factory() as s:  # {order} is the case number the customer knows
        order = s.get(WorkOrder, oid)
        assert order is not None and order.case_number
        number = order.case_number
    assert filled.status_code == 200 and f"您好，工单 {number} 的年费已退回。" in filled.text
    assert 'id="wo-reply-text"' in filled.text and "<html" not in filled.text
    r = web.post(f"/workbench/work-orders/{oid}/reply", headers=headers,
                 data={"macro": "fee-refund", "text": f"您好，工单 {number} 的年费已退回。\n请查收。"})
    assert r.status_code == 200
    r = web.post(f"/workbench/work-orders/{oid}/reply", headers=headers,
                 data={"macro": "fee-refund", "text": "改写过的回复"})
    assert r.status_code == 200
    with rt.session_factory() as s:
        sent = list(s.scalars(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == oid,
                                                           WorkOrderEvent.kind == "reply")
                              .order_by(WorkOrderEvent.seq)))
    assert [(e.data["macro"], e.note) for e in sent] == [
        ("fee-refund", f"您好，工单 {number} 的年费已退回。\n\n请查收。"), (None, "改写过的回复")]


def test_collision_notice_names_the_other_viewer(web: TestClient, demo_runtime: Runtime) -> None:
    oid = complaint(demo_runtime)
    mine = sign_in(web, AGENT)
    with new_client(demo_runtime) as other:
        theirs = sign_in(other, LEAD)
        first = web.post(f"/workbench/work-orders/{oid}/viewers?lang=en", headers=mine)
        assert first.status_code == 200 and "also viewing" not in first.text
        second = other.post(f"/workbench/work-orders/{oid}/viewers?lang=en", headers=theirs)
        assert 'id="wo-collision"' in second.text and "Demo Agent is also viewing this order" in second.text
    assert web.post("/workbench/work-orders/nope/viewers", headers=mine).status_code == 404


# --- queues, board, callbacks, macros ----------------------------------------------------------------------
def test_queues_show_sla_countdown_priority_and_team_orders(web: TestClient, demo_runtime: Runtime) -> None:
    rt = demo_runtime
    mine = complaint(rt, "q-1")
    others = complaint(rt, "q-2", assign_to="li.wei")
    sign_in(web, AGENT)
    page = web.get("/workbench/my-orders?lang=en")
    assert page.status_code == 200 and "My queue" in page.text
    assert f'id="wo-row-{mine}"' in page.text and f'id="wo-row-{others}"' not in page.text
    assert re.search(r"\d+ business min left", page.text) and "urgency" in page.text
    team = web.get("/workbench/team-orders?lang=en", headers=HX)
    assert team.status_code == 200 and "<html" not in team.text
    assert f'id="wo-row-{mine}"' in team.text and f'id="wo-row-{others}"' in team.text

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    def queries() -> int:
        statements.clear()
        event.listen(rt.engine, "before_cursor_execute", count)
        try:
            assert web.get("/workbench/team-orders", headers=HX).status_code == 200
        finally:
            event.remove(rt.engine, "before_cursor_execute", count)
        return len(statements)

    two = queries()
    for i in range(3):
        complaint(rt, f"q-more-{i}", assign_to="wang.lei")
    assert queries() == two <= 12

    rt.clock = FrozenClock(rt.clock.now() + timedelta(days=21))  # far past every target
    late = web.get("/workbench/my-orders?lang=en").text
    assert 'class="wo-row-item sla-breached"' in late and "min overdue" in late


def test_sla_board_lists_breaches_and_callbacks_can_be_marked_done(web: TestClient, demo_runtime: Runtime
                                                                  ) -> None:
    rt = demo_runtime
    late, closed = complaint(rt, "b-1"), complaint(rt, "b-2")
    with rt.uow() as uow:
        check_order(uow.session, late, rt.sla, rt.flows, rt.clock.now() + timedelta(days=21))
        uow.commit()
    closure.do_close(rt, closed, actor="test", now=rt.clock.now())
    headers = sign_in(web, LEAD)
    board = web.get("/workbench/sla-board?lang=en")
    assert board.status_code == 200 and 'id="nav-sla-board"' in board.text
    row = re.search(rf'<tr class="board-row sla-breached" id="board-{late}">(.*?)</tr>', board.text, re.DOTALL)
    assert row and "Breached" in row.group(1) and "escalation-1" in row.group(1)
    assert f'id="board-{closed}"' not in board.text
    timeline = web.get(f"/workbench/work-orders/{late}?lang=en").text
    for shown in ("kind-sla_warning", "kind-sla_breach", "kind-sla_escalation"):
        assert shown in timeline, shown
    assert re.search(r'class="badge escalated">Escalation level [12]<', timeline)
    with rt.session_factory() as s:
        task = s.scalars(select(CallbackTask).where(CallbackTask.work_order_id == closed)).one()
    assert f'id="callback-{task.id}"' in board.text
    done = web.post(f"/workbench/callbacks/{task.id}/done?lang=en", data={"note": "已回访，客户满意"},
                    headers=headers)
    assert done.status_code == 200 and f'id="callback-{task.id}"' not in done.text
    again = web.post(f"/workbench/callbacks/{task.id}/done?lang=en", data={"note": ""}, headers=headers)
    assert again.status_code == 400 and "already done" in again.text
    assert kinds(rt, closed)[-1] == "callback_done"


def test_supervisor_creates_macros_and_bad_ones_are_refused_in_place(web: TestClient, demo_runtime: Runtime
                                                                     ) -> None:
    headers = sign_in(web, LEAD)
    assert web.get("/workbench/macros?lang=en").status_code == 200
    macro = {"code": "greeting", "title_zh": "问候", "title_en": "Greeting", "body_zh": "{customer}您好",
             "body_en": "Hello {customer}"}
    r = web.post("/workbench/macros?lang=en", data=macro, headers=headers)
    assert r.status_code == 200 and 'id="macro-greeting"' in r.text and "Macro greeting created" in r.text
    dup = web.post("/workbench/macros?lang=en", data=macro, headers=headers)
    assert dup.status_code == 400 and "exists" in dup.text and dup.headers["hx-retarget"] == "#wo-notice"
    bad = web.post("/workbench/macros?lang=en", data=macro | {"code": "Bad Code!", "body_en": ""},
                   headers=headers)
    assert bad.status_code == 400 and "code" in bad.text and "body_en" in bad.text


# --- the customer's survey -------------------------------------------------------------------------------
def test_survey_link_rates_once_and_a_low_rating_reopens_the_order(web: TestClient, demo_runtime: Runtime
                                                                   ) -> None:
    rt = demo_runtime
    oid = complaint(rt)
    closure.do_resolve(rt, oid, resolution="年费已退回。", actor="test", now=rt.clock.now())
    _, survey, _ = closure.do_close(rt, oid, actor="test", now=rt.clock.now())
    with rt.session_factory() as s:
        token = s.get(SatisfactionSurvey, survey.id).token  # type: ignore[union-attr]
        sent = s.get(SatisfactionSurvey, survey.id).sent_at  # type: ignore[union-attr]
    assert sent is not None  # the immediate queue ran send_survey: its link is /survey/<token>

    unknown = web.get("/survey/no-such-token", headers={"Accept-Language": "en"})
    assert unknown.status_code == 404 and 'id="survey-unknown"' in unknown.text
    page = web.get(f"/survey/{token}", headers={"Accept-Language": "en"})  # the order's language wins
    assert page.status_code == 200 and "服务满意度调查" in page.text and page.text.count('name="rating"') == 5
    assert f'href="/survey/{token}?lang=en"' in page.text  # the switch offers the other language
    headers = HX | {"X-CSRF-Token": csrf_token(web, f"/survey/{token}")}
    bad = web.post(f"/survey/{token}", data={"rating": "9"}, headers=headers)
    assert bad.status_code == 400 and "请选择 1 到 5 分" in bad.text
    r = web.post(f"/survey/{token}", data={"rating": "1", "comment": "没解决"}, headers=headers)
    assert r.status_code == 200 and 'id="survey-thanks"' in r.text and 'id="survey-reopened"' in r.text
    assert order(rt, oid).status == "reopened"
    again = web.post(f"/survey/{token}?lang=en", data={"rating": "5"}, headers=headers)
    assert again.status_code == 400 and "already been answered" in again.text
    later = web.get(f"/survey/{token}?lang=en")
    assert later.status_code == 409 and 'id="survey-answered"' in later.text
    missing = web.post("/survey/no-such-token", data={"rating": "5"}, headers=headers)
    assert missing.status_code == 400 and 'id="survey-unknown"' in missing.text
