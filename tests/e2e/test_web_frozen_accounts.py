"""Administrators lift a freeze from the page their alert links to: the frozen account, the reason it was
frozen, and a form that needs a reason of its own (audited). Other roles may not see the page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caredesk.accounts.abuse import do_freeze_account
from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.storage.orm import AuditEntry, Notification, Staff
from tests.conftest import LiveServer
from tests.support.web_session import csrf_token, sign_in_page, submit_sign_in

REASON = "more than 2000 customer records read within an hour"


def _freeze(rt: Runtime, username: str) -> str:
    with rt.session_factory() as s:
        staff_id = s.scalars(select(Staff.id).where(Staff.username == username)).one()
    assert do_freeze_account(rt.uow(), kind="staff", account_id=staff_id, reason=REASON, now=rt.clock.now())
    return staff_id


@pytest.fixture
def web(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as client:
        yield client


def test_frozen_accounts_page_lifts_a_freeze_with_a_reason(web: TestClient, demo_runtime: Runtime) -> None:
    rt = demo_runtime
    staff_id = _freeze(rt, "li.wei")
    with rt.session_factory() as s:
        links = {n.link for n in s.scalars(select(Notification).where(Notification.kind == "account_frozen"))}
    assert links == {"/workbench/staff/frozen"}  # the administrators' alert leads to the page

    submit_sign_in(web, "admin")
    page = web.get("/workbench/staff/frozen?lang=en")
    assert page.status_code == 200 and 'id="frozen-li.wei"' in page.text and REASON in page.text
    token = csrf_token(web, "/workbench/staff/frozen")
    refused = web.post(f"/workbench/staff/{staff_id}/unfreeze?lang=en", data={"reason": " ", "csrf_token": token})
    assert refused.status_code == 400 and 'id="unfreeze-error"' in refused.text
    done = web.post(f"/workbench/staff/{staff_id}/unfreeze",
                    data={"reason": "confirmed by phone with Li Wei", "csrf_token": token})
    assert (done.status_code, done.headers["location"]) == (303, "/workbench/staff/frozen?done=li.wei")
    with rt.session_factory() as s:
        assert s.get(Staff, staff_id).active is True
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "account.unfrozen")).one()
    assert entry.object_id == staff_id and entry.data["reason"] == "confirmed by phone with Li Wei"
    assert entry.actor.startswith("staff:")
    again = web.post(f"/workbench/staff/{staff_id}/unfreeze", data={"reason": "twice", "csrf_token": token})
    assert again.status_code == 400  # not frozen any more: nothing to lift


def test_only_administrators_see_frozen_accounts(web: TestClient) -> None:
    submit_sign_in(web, "lead")
    assert web.get("/workbench/staff/frozen").status_code == 403
    assert 'id="nav-frozen"' not in web.get("/workbench").text


@pytest.mark.browser
def test_browser_admin_unfreezes_from_the_page(live_server: LiveServer, page: Any) -> None:
    from playwright.sync_api import expect

    _freeze(live_server.runtime, "wang.lei")
    sign_in_page(page, live_server.url, "admin")
    page.click("#nav-frozen")
    row = page.locator("#frozen-wang\\.lei")
    expect(row.locator(".reason")).to_have_text(REASON)
    row.locator("input[name=reason]").fill("confirmed by phone")
    row.locator("button").click()
    expect(page.locator("#unfrozen")).to_contain_text("wang.lei")
    expect(page.locator("#no-frozen")).to_be_visible()
