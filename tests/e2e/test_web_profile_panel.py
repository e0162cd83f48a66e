"""The customer profile panel on the conversation and work-order pages: through the real app (fragment with
HX-Request, whole page without; zh/en; scoped, audited, masked) and in Chromium (loaded by htmx after the
page: emotion with trend, value, loyalty, tags, drivers, recommendations linking to knowledge entries, past
problems with their resolutions similar first, a stale source with why)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caredesk.accounts.credentials import hash_password
from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.storage.orm import AuditEntry, Branch, Staff
from tests.conftest import LiveServer
from tests.e2e.browsing import shot
from tests.support.profiles import (
    Said,
    add_conversation,
    add_customer,
    add_order,
    add_profile,
    add_source,
)
from tests.support.web_session import DEMO_PASSWORD, HX, sign_in_page, submit_sign_in

PHONE = "13812345678"


def _setup(rt: Runtime, ref: str, *, branch: str | None = None, scored: bool = True) -> dict[str, str]:
    now = rt.clock.now()
    cid = add_customer(rt, ref, tier="gold", branch_id=branch, created_at=now - timedelta(days=300), phone=PHONE)
    add_conversation(rt, cid, [Said("转账一直没到账", now - timedelta(days=20), topic="transfer_payment",
                                    emotion="anxious")])
    conv = add_conversation(rt, cid, [
        Said(f"信用卡年费又被扣了，回电{PHONE}", now - timedelta(hours=2), topic="fees_charges", emotion="angry",
             complaint_level=1, problem_type="complaint", masked="信用卡年费又被扣了，回电138****5678")])
    add_order(rt, cid, "手机银行App闪退", created_at=now - timedelta(days=40), ended_at=now - timedelta(days=39),
              resolution="已指导重装")
    add_order(rt, cid, "信用卡年费重复扣收", created_at=now - timedelta(days=90), ended_at=now - timedelta(days=88),
              resolution=f"已退还年费并致电{PHONE}")
    with rt.session_factory() as s:
        agent = s.scalar(select(Staff.id).where(Staff.username == "agent"))
    order = add_order(rt, cid, "信用卡年费又被扣", created_at=now - timedelta(hours=2), status="in_progress",
                      conversation_id=conv, assignee_id=agent)
    if scored:
        add_profile(rt, cid, updated_at=now, tags=["高价值", "多次投诉"])
    add_source(rt, cid, "crm", status="stale", fetched_at=now - timedelta(days=3), updated_at=now,
               error="CRM timed out after 2 s", expires_at=now + timedelta(minutes=5))
    return {"customer": cid, "conversation": conv, "order": order}


@pytest.fixture
def web(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as client:
        yield client


def test_panel_fragment_and_page_in_both_languages(web: TestClient, demo_runtime: Runtime,
                                                   crm_and_loyalty: None) -> None:
    ids = _setup(demo_runtime, "panel-1")
    submit_sign_in(web, "agent")
    url = f"/workbench/customers/{ids['customer']}/profile"
    conversation = web.get(f"/workbench/conversations/{ids['conversation']}?lang=en").text
    assert f'hx-get="{url}"' in conversation
    assert f'hx-get="{url}"' in web.get(f"/workbench/work-orders/{ids['order']}").text
    fragment = web.get(url, headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.headers["cache-control"] == "no-store"
    text = fragment.text
    assert "Customer profile" in text and 'id="profile-value">82%' in text and 'id="profile-loyalty">64%' in text
    assert "Anxious" in text and "rising" in text and "高价值" in text and "多次投诉" in text
    assert "balance_band" in text  # what drove the value score
    assert "Check the customer&#39;s record in crm" in text and "CRM timed out after 2 s" in text
    assert re.search(r'href="/workbench/knowledge/[0-9a-f]{32}"', text)  # a recommended entry
    assert text.index("信用卡年费重复扣收") < text.index("手机银行App闪退")  # similar first
    assert "已退还年费并致电138****5678" in text and PHONE not in text
    page = web.get(f"{url}?lang=zh")
    assert "<html" in page.text and "客户画像" in page.text and "正在升温" in page.text and "核对 crm" in page.text
    with demo_runtime.session_factory() as s:
        reads = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "customer_profile.read")))
    assert [(a.object_id, a.data, a.actor.startswith("staff:")) for a in reads] == [
        (ids["customer"], {"via": "web"}, True)] * 2


def test_panel_cold_start_and_scope(web: TestClient, demo_runtime: Runtime) -> None:
    rt = demo_runtime
    with rt.session_factory() as s:
        branches = {code: branch_id for code, branch_id in s.execute(select(Branch.code, Branch.id))}
    mine = _setup(rt, "panel-own", branch=branches["sh_jingan"], scored=False)
    other = _setup(rt, "panel-other", branch=branches["sh_pudong"])
    with rt.uow() as uow:
        uow.session.add(Staff(username="jingan.panel", display_name="静安", email="jp@bank.test", role="agent",
                              branch_id=branches["sh_jingan"], password_hash=hash_password(DEMO_PASSWORD),
                              created_at=datetime(2026, 1, 1, tzinfo=UTC)))
        uow.commit()
    submit_sign_in(web, "jingan.panel")
    own = web.get(f"/workbench/customers/{mine['customer']}/profile?lang=en", headers=HX)
    assert own.status_code == 200 and 'id="profile-cold"' in own.text and ">new<" in own.text
    assert "Angry" in own.text  # the latest message's emotion, computed
    hidden = web.get(f"/workbench/customers/{other['customer']}/profile", headers=HX)
    assert hidden.status_code == 404 and "高价值" not in hidden.text
    assert web.get("/workbench/customers/nobody/profile", headers=HX).status_code == 404


def test_browser_profile_panel_on_the_conversation_and_order_pages(live_server: LiveServer, page: Any,
                                                                  crm_and_loyalty: None) -> None:
    from playwright.sync_api import expect

    ids = _setup(live_server.runtime, "panel-browser")
    sign_in_page(page, live_server.url, "agent")
    page.goto(f"{live_server.url}/workbench/conversations/{ids['conversation']}?lang=en")
    panel = page.locator("#customer-profile")
    expect(panel.locator("h3")).to_contain_text("Customer profile")
    expect(panel.locator("#profile-emotion")).to_have_text("Anxious · rising")
    expect(panel.locator("#profile-value")).to_have_text("82%")
    expect(panel.locator("#profile-loyalty")).to_have_text("64%")
    expect(panel.locator("#profile-tags .profile-tag")).to_have_text(["高价值", "多次投诉"])
    expect(panel.locator("#profile-business li").first).to_contain_text("信用卡年费又被扣了，回电138****5678")
    past = panel.locator("#profile-past li")
    expect(past.first).to_contain_text("信用卡年费重复扣收")
    expect(past.first.locator(".profile-similar")).to_have_text("similar")
    expect(past.first).to_contain_text("Resolution: 已退还年费并致电138****5678")
    expect(panel.locator("#profile-sources .source-stale")).to_contain_text("CRM timed out after 2 s")
    recs = panel.locator("#profile-recommendations")
    expect(recs.locator("li[data-id='check_source:crm']")).to_contain_text("Check the customer's record in crm")
    expect(recs.locator("li.rec-knowledge a").first).to_have_attribute("href", re.compile(r"^/workbench/knowledge/"))
    panel.locator("#profile-drivers summary").click()
    expect(panel.locator("#profile-drivers")).to_contain_text("balance_band")
    expect(panel).not_to_contain_text(PHONE)
    shot(page, "profile-panel-conversation")

    page.goto(f"{live_server.url}/workbench/work-orders/{ids['order']}?lang=zh")
    expect(page.locator("#customer-profile h3")).to_contain_text("客户画像")
    expect(page.locator("#customer-profile #profile-emotion")).to_have_text("焦虑 · 正在升温")
    shot(page, "profile-panel-order")
