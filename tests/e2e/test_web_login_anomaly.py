"""Unusual sign-ins through the real sign-in form (TestClient over the app, clients at chosen addresses): the
frozen account's owner is told why, in Chinese or English; an administrator unfreezes through the API with a
web session, or from the shell with `caredesk staff unfreeze`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.http.app import create_app
from caredesk.storage.orm import AuditEntry, Staff
from tests.support.cli import caredesk, cli_env
from tests.support.web_session import DEMO_PASSWORD, csrf_token, post_login

HOME, ELSEWHERE = "198.51.100.10", "203.0.113.7"
EN, ZH = {"Accept-Language": "en"}, {"Accept-Language": "zh-CN"}


@pytest.fixture
def rt(demo_runtime: Runtime) -> Runtime:
    ten_in_shanghai = datetime(2026, 3, 9, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    demo_runtime.clock = FrozenClock(ten_in_shanghai.astimezone(UTC))
    return demo_runtime


@pytest.fixture
def browser_at(rt: Runtime) -> Iterator[Any]:
    """A fresh browser (own cookies) at a client address."""
    app = create_app(rt, start_consumer=False)
    opened: list[TestClient] = []

    def open_at(address: str) -> TestClient:
        client = TestClient(app, follow_redirects=False, client=(address, 50000))
        client.__enter__()
        opened.append(client)
        return client

    yield open_at
    for client in opened:
        client.__exit__(None, None, None)


def try_sign_in(web: TestClient, username: str = "agent", password: str = DEMO_PASSWORD, **kw: Any) -> Any:
    """A sign-in from this browser with no session yet (its cookies cleared first); the response unchecked."""
    web.cookies.clear()
    return post_login(web, username, password, token=csrf_token(web), **kw)


def test_frozen_account_is_told_why_on_the_login_page(rt: Runtime, browser_at: Any) -> None:
    home = browser_at(HOME)
    for _ in range(3):  # the learning period
        assert try_sign_in(home).status_code == 303
    away = browser_at(ELSEWHERE)
    r = try_sign_in(away, headers=EN)
    assert r.status_code == 403 and 'data-code="account_frozen"' in r.text
    assert "This sign-in came from a new network or outside office hours" in r.text
    assert away.get("/workbench").status_code == 303  # no session was started

    r = try_sign_in(home, headers=ZH)  # the right password from the usual place: still frozen, in Chinese
    assert r.status_code == 403 and "该账号已冻结，请联系管理员解冻。" in r.text
    r = try_sign_in(home, headers=EN)
    assert "This account is frozen. Ask an administrator to unfreeze it." in r.text
    r = try_sign_in(home, password="guess", headers=EN)  # a wrong password learns nothing about the freeze
    assert r.status_code == 401 and "account_frozen" not in r.text and "Wrong username or password" in r.text

    admin = browser_at("127.0.0.1")  # the administrator at the server's console (loopback: trusted)
    assert try_sign_in(admin, username="admin").status_code == 303
    with rt.session_factory() as s:
        agent_id = s.scalar(select(Staff.id).where(Staff.username == "agent"))
    r = admin.post(f"/api/v1/staff/{agent_id}/unfreeze", json={"reason": "called the agent back"},
                   headers={"X-CSRF-Token": csrf_token(admin, "/workbench")})
    assert r.status_code == 200 and r.json()["trusted_places"] == ["203.0.113.0/24"]
    assert try_sign_in(away).status_code == 303
    with rt.session_factory() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "account.unfrozen"))
        admin_id = s.scalar(select(Staff.id).where(Staff.username == "admin"))
    assert entry is not None and entry.actor == f"staff:{admin_id}"


def test_only_administrators_may_unfreeze(rt: Runtime, browser_at: Any) -> None:
    lead = browser_at("127.0.0.1")
    assert try_sign_in(lead, username="lead").status_code == 303
    r = lead.post("/api/v1/staff/whoever/unfreeze", json={"reason": "x"},
                  headers={"X-CSRF-Token": csrf_token(lead, "/workbench")})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_cli_unfreeze(rt: Runtime, browser_at: Any) -> None:
    home = browser_at(HOME)
    for _ in range(3):
        try_sign_in(home)
    assert try_sign_in(browser_at(ELSEWHERE)).status_code == 403
    env = cli_env(database_url=rt.settings.database_url, var_dir=str(rt.settings.var_dir), environment="test",
                  secret_key="cli-test-secret-" + "y" * 32)
    done = caredesk(env, "staff", "unfreeze", "agent", "--reason", "confirmed in person")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "unfrozen: agent; places now known: 203.0.113.0/24"
    again = caredesk(env, "staff", "unfreeze", "agent", "--reason", "twice")
    assert (again.returncode, again.stderr.strip()) == (2, "error: this staff member is not frozen")
    assert caredesk(env, "staff", "unfreeze", "nobody", "--reason", "x").returncode == 2
    assert try_sign_in(browser_at(ELSEWHERE)).status_code == 303
