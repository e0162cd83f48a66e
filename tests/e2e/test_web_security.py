"""Web security through the real app: CSRF tokens on session-authenticated writes, sign-in throttling with
its audit trail, security headers and cookie flags."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.compliance.audit import verify_chain
from caredesk.http.app import create_app
from caredesk.storage.orm import AuditEntry
from tests.conftest import create_key
from tests.support.web_session import DEMO_PASSWORD, HX, csrf_token, post_login


@pytest.fixture
def web(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as client:
        yield client


def audit_actions(rt: Runtime) -> list[tuple[str, dict[str, Any]]]:
    with rt.session_factory() as s:
        return [(e.action, e.data) for e in s.scalars(select(AuditEntry).where(AuditEntry.action.like("auth.%"))
                                                      .order_by(AuditEntry.id))]


# --- CSRF -----------------------------------------------------------------------------------------------
def test_csrf_token_is_on_the_body_for_htmx_and_in_plain_forms(web: TestClient) -> None:
    page = web.get("/login").text
    token = csrf_token(web)
    assert re.search(r"<body[^>]* hx-headers='\{\"X-CSRF-Token\": \"" + re.escape(token) + "\"}'", page)
    assert f'<input type="hidden" name="csrf_token" value="{token}">' in page
    assert csrf_token(web, "/chat") == token  # one token per session
    assert post_login(web, token=token).status_code == 303
    workbench = web.get("/workbench").text
    new = csrf_token(web, "/workbench")
    assert new != token  # a new session on sign-in: a new token
    assert f'action="/logout" class="inline"><input type="hidden" name="csrf_token" value="{new}">' in workbench


def test_csrf_login_needs_the_token_even_without_a_cookie(web: TestClient) -> None:
    r = post_login(web, headers={"Accept-Language": "en"})  # a forged sign-in form from another site
    assert r.status_code == 403 and 'data-code="csrf_failed"' in r.text and "reload the page" in r.text
    assert r.headers["content-type"].startswith("text/html")
    csrf_token(web)
    assert post_login(web, token="not-the-token").status_code == 403
    assert post_login(web, token="").status_code == 403
    assert web.get("/workbench").status_code == 303  # still signed out
    assert post_login(web, token=csrf_token(web)).status_code == 303


def test_csrf_session_writes_need_the_token_header_or_field(web: TestClient) -> None:
    post_login(web, token=csrf_token(web))
    token = csrf_token(web, "/workbench")
    assert web.post("/logout").status_code == 403
    assert web.post("/logout", headers={"X-CSRF-Token": token + "x"}).status_code == 403
    assert web.get("/workbench").status_code == 200  # the forged sign-out did nothing
    r = web.post("/logout", headers={"X-CSRF-Token": token})  # htmx: the header from <body hx-headers>
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    post_login(web, token=csrf_token(web))
    r = web.post("/logout", data={"csrf_token": csrf_token(web, "/workbench")})  # plain form: the hidden field
    assert r.status_code == 303 and web.get("/workbench").status_code == 303


def test_csrf_chat_posts_with_a_session_need_the_token(web: TestClient) -> None:
    token = csrf_token(web, "/chat")
    r = web.post("/chat/messages", data={"text": "hello"}, headers=HX)
    assert r.status_code == 403 and 'data-code="csrf_failed"' in r.text
    r = web.post("/chat/messages", data={"text": "   "}, headers=HX | {"X-CSRF-Token": token})
    assert r.status_code == 400  # past the CSRF check: the handler's own answer


def test_csrf_api_with_session_cookie_is_json_403_and_api_keys_are_exempt(web: TestClient,
                                                                        demo_runtime: Runtime) -> None:
    post_login(web, username="admin", token=csrf_token(web))
    token = csrf_token(web, "/workbench")
    r = web.post("/api/v1/messages", json={})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    r = web.post("/api/v1/messages", json={}, headers={"X-CSRF-Token": token})
    assert r.status_code == 422 and r.json()["code"] == "validation_error"  # authenticated, CSRF passed
    key = create_key(demo_runtime)
    with TestClient(create_app(demo_runtime, start_consumer=False)) as api:
        r = api.post("/api/v1/messages", json={}, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 422  # no session, no token needed
    r = web.post("/api/v1/messages", json={}, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 422  # an API key with a stray session cookie: the key authenticates, exempt
    assert web.get("/api/v1/alarms").status_code == 200  # safe methods are never checked


# --- sign-in throttling ------------------------------------------------------------------------------------
def test_login_throttled_after_five_failures_then_free_after_the_lockout(web: TestClient,
                                                                        demo_runtime: Runtime) -> None:
    clock = FrozenClock(demo_runtime.clock.now())
    demo_runtime.clock = clock
    token = csrf_token(web)
    for _ in range(5):
        assert post_login(web, password="wrong-password", token=token).status_code == 401
    r = post_login(web, token=token, headers={"Accept-Language": "en"})  # the right password, but locked
    assert r.status_code == 429 and 'data-code="login_throttled"' in r.text
    assert "Too many failed sign-ins; try again in 15 minutes" in r.text
    assert int(r.headers["retry-after"]) == 15 * 60
    assert web.get("/workbench").status_code == 303
    assert post_login(web, username="lead", token=token).status_code == 303  # other accounts are not locked
    web.cookies.clear()
    token = csrf_token(web)
    clock.advance(timedelta(minutes=14))
    assert post_login(web, token=token).status_code == 429
    clock.advance(timedelta(minutes=1, seconds=1))
    assert post_login(web, token=token).status_code == 303

    actions = audit_actions(demo_runtime)
    assert [a for a, _ in actions] == (["auth.login_failed"] * 5 + ["auth.login_throttled", "auth.login_succeeded",
                                                                     "auth.login_throttled", "auth.login_succeeded"])
    failed = actions[0][1]
    assert failed == {"username": "agent", "address": "testclient"}  # who and from where; never the password
    assert all("wrong-password" not in str(d) and DEMO_PASSWORD not in str(d) for _, d in actions)
    assert actions[5][1]["retry_after"] == 15 * 60
    with demo_runtime.session_factory() as s:
        assert verify_chain(s).intact


def test_login_throttled_per_client_address_across_accounts(web: TestClient, demo_runtime: Runtime) -> None:
    demo_runtime.settings.login_max_failures_per_address = 3  # a password-spraying address
    token = csrf_token(web)
    for name in ("agent", "lead", "admin"):
        assert post_login(web, username=name, password="Spring2026!", token=token).status_code == 401
    assert post_login(web, username="agent", token=token).status_code == 429  # the address is locked
    assert audit_actions(demo_runtime)[-1][0] == "auth.login_throttled"


def test_login_success_clears_the_account_count(web: TestClient) -> None:
    token = csrf_token(web)
    for _ in range(4):
        post_login(web, password="typo", token=token)
    assert post_login(web, token=token).status_code == 303
    web.cookies.clear()
    token = csrf_token(web)
    for _ in range(4):
        assert post_login(web, password="typo", token=token).status_code == 401  # counting starts again
    assert post_login(web, token=token).status_code == 303


# --- headers and cookies ----------------------------------------------------------------------------------------
def test_security_headers_on_pages_api_and_errors(web: TestClient) -> None:
    for r in (web.get("/login"), web.get("/api/v1/alarms"), web.get("/nope"), web.get("/static/caredesk.css"),
              web.post("/api/v1/messages", content=b"x" * 2_000_000, headers={"Authorization": "Bearer x"})):
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in r.headers  # plain http: HSTS would be ignored anyway
    docs = web.get("/docs")
    assert "'unsafe-inline'" in docs.headers["content-security-policy"]  # Swagger UI's inline bootstrap
    assert "http" not in docs.headers["content-security-policy"]  # and nothing from another origin


def test_templates_need_no_inline_script_or_style() -> None:
    """The CSP forbids inline script and style: the templates must not rely on them."""
    from caredesk.web.rendering import package_dir

    for template in package_dir("templates").glob("*.html"):
        html = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), template.name
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), template.name


def test_session_cookie_flags(web: TestClient, demo_runtime: Runtime) -> None:
    web.get("/login")
    r = post_login(web, token=csrf_token(web))
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("caredesk_session=") and "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower() and f"Max-Age={12 * 3600}" in cookie
    assert "secure" not in cookie.lower()  # http://127.0.0.1 in tests: a Secure cookie would never come back


def test_https_base_url_gives_hsts_and_secure_cookie(demo_runtime: Runtime) -> None:
    demo_runtime.settings.base_url = "https://care.demo-bank.example"
    with TestClient(create_app(demo_runtime, start_consumer=False), base_url="https://testserver",
                    follow_redirects=False) as client:
        r = client.get("/login")
        assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"
        cookie = r.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
