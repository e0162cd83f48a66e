"""Staff single sign-on end to end over real HTTP: CareDesk (uvicorn) and a test OpenID Provider (uvicorn),
an httpx client following the redirects between them as a browser would. Nothing is mocked: discovery, the
PKCE code exchange, the RS256 ID token and its checks all happen for real."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from sqlalchemy import select, update

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.http.app import SESSION_COOKIE, create_app
from caredesk.storage.orm import AuditEntry, Staff
from tests.conftest import LiveServer
from tests.support.oidc_provider import OidcProvider, serve_caredesk_with_sso, serve_provider

# The SSO decision does not depend on the database: SQLite only.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
EN = {"Accept-Language": "en"}


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    with serve_provider(OidcProvider()) as p:
        yield p


@pytest.fixture
def sso_server(demo_runtime: Runtime, provider: OidcProvider) -> Iterator[LiveServer]:
    yield from serve_caredesk_with_sso(demo_runtime, provider, oidc_button_label="Sign in with Bank ID")


@pytest.fixture
def browser_like() -> Iterator[httpx.Client]:
    with httpx.Client(follow_redirects=True, timeout=15, headers=EN) as client:
        yield client


def sso_audit(rt: Runtime) -> list[tuple[str, str, dict[str, Any]]]:
    with rt.session_factory() as s:
        return [(e.action, e.actor, e.data) for e in
                s.scalars(select(AuditEntry).where(AuditEntry.action.like("auth.sso%")).order_by(AuditEntry.id))]


def staff_id(rt: Runtime, username: str) -> str:
    with rt.session_factory() as s:
        found = s.scalar(select(Staff.id).where(Staff.username == username))
    assert found is not None
    return found


def signed_out(client: httpx.Client, server: LiveServer) -> bool:
    r = client.get(f"{server.url}/workbench", follow_redirects=False)
    return r.status_code == 303 and r.headers["location"] == "/login"


# --- success ----------------------------------------------------------------------------------------------
def test_sso_maps_the_provider_user_to_staff_and_signs_in(sso_server: LiveServer, provider: OidcProvider,
                                                         browser_like: httpx.Client) -> None:
    rt = sso_server.runtime
    page = browser_like.get(f"{sso_server.url}/login")
    assert '<a href="/login/sso" class="button" id="sso-login">Sign in with Bank ID</a>' in page.text

    r = browser_like.get(f"{sso_server.url}/login/sso")
    hops = [(h.status_code, h.url.host, h.url.port, h.url.path) for h in r.history]
    provider_port = int(provider.issuer.rsplit(":", 1)[1])
    caredesk_port = int(sso_server.url.rsplit(":", 1)[1])
    assert hops == [(302, "127.0.0.1", caredesk_port, "/login/sso"),
                    (302, "127.0.0.1", provider_port, "/authorize"),
                    (303, "127.0.0.1", caredesk_port, "/login/sso/callback")], provider.refusals
    assert (r.status_code, r.url.path) == (200, "/workbench")
    assert "Agent workbench" in r.text
    assert browser_like.get(f"{sso_server.url}/workbench", follow_redirects=False).status_code == 200

    # The flow was the code flow with PKCE S256, a nonce and a state; the token request proved the verifier.
    (asked,) = provider.authorize_requests
    assert asked["response_type"] == "code" and asked["code_challenge_method"] == "S256"
    assert {"openid", "profile", "email"} <= set(asked["scope"].split())
    assert asked["nonce"] and asked["state"] and "code_verifier" not in asked
    assert asked["redirect_uri"] == f"{sso_server.url}/login/sso/callback"
    (exchange,) = provider.token_requests
    assert exchange["grant_type"] == "authorization_code" and len(exchange["code_verifier"]) >= 43
    assert "client_secret" not in exchange  # sent as HTTP Basic (client_secret_basic), not in the body

    ((action, actor, data),) = sso_audit(rt)
    agent = staff_id(rt, "agent")
    assert (action, actor) == ("auth.sso_succeeded", f"staff:{agent}")
    assert data == {"username": "agent", "address": "127.0.0.1", "method": "oidc", "issuer": provider.issuer,
                    "subject": "sub-agent"}
    audit_text = repr(sso_audit(rt))
    assert provider.issued and not any(token in audit_text for token in provider.issued)


def session_of(client: httpx.Client, server: LiveServer) -> dict[str, Any]:
    """What the signed session cookie holds (Starlette: base64 JSON, signed with the secret key)."""
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie, "no session cookie"
    payload = TimestampSigner(server.runtime.settings.secret_key).unsign(cookie)
    data: dict[str, Any] = json.loads(base64.b64decode(payload))
    return data


def test_sso_sign_in_starts_a_new_session_keeping_only_the_language(sso_server: LiveServer,
                                                                   browser_like: httpx.Client) -> None:
    browser_like.get(f"{sso_server.url}/login?lang=zh")
    before = session_of(browser_like, sso_server)
    assert before["lang"] == "zh" and before["csrf"]
    browser_like.get(f"{sso_server.url}/login/sso", follow_redirects=False)
    waiting = session_of(browser_like, sso_server)  # state, nonce and PKCE verifier wait for the callback
    (state_key,) = [k for k in waiting if k.startswith("_state_")]
    assert {"code_verifier", "nonce", "redirect_uri"} <= set(waiting[state_key]["data"])

    r = browser_like.get(f"{sso_server.url}/login/sso")
    assert r.url.path == "/workbench" and "坐席工作台" in r.text  # the language chosen before is kept
    after = session_of(browser_like, sso_server)
    assert after["staff_id"] == staff_id(sso_server.runtime, "agent") and after["lang"] == "zh"
    assert after["csrf"] != before["csrf"]  # a new session: nothing set before carries over
    assert not [k for k in after if k.startswith("_state_")]


def test_sso_signs_in_an_account_that_also_has_a_password(sso_server: LiveServer, provider: OidcProvider,
                                                          browser_like: httpx.Client) -> None:
    provider.username = "lead"  # roles stay CareDesk's: whatever the provider says, lead is lead
    r = browser_like.get(f"{sso_server.url}/login/sso")
    assert (r.status_code, r.url.path) == (200, "/workbench")
    assert sso_audit(sso_server.runtime)[-1][1] == f"staff:{staff_id(sso_server.runtime, 'lead')}"


# --- refusals: the provider vouches for someone CareDesk does not let in ------------------------------------
@pytest.mark.parametrize(("who", "claim", "reason"), [
    ("nobody", "preferred_username", "unknown_user"),  # not provisioned on the fly
    ("Agent", "preferred_username", "unknown_user"),  # compared exactly, as the password sign-in does
    ("agent", "upn", "no_username"),  # the provider sends another claim than the one configured
])
def test_sso_refuses_a_user_without_a_staff_account(sso_server: LiveServer, provider: OidcProvider,
                                                    browser_like: httpx.Client, who: str, claim: str,
                                                    reason: str) -> None:
    provider.username, provider.username_claim = who, claim
    r = browser_like.get(f"{sso_server.url}/login/sso")
    assert (r.status_code, r.url.path) == (403, "/login/sso/callback")
    assert 'data-code="sso_refused"' in r.text
    assert "not linked to an active CareDesk staff account" in r.text
    assert 'id="sso-login"' in r.text and 'name="password"' in r.text  # the sign-in page again
    assert signed_out(browser_like, sso_server)
    ((action, actor, data),) = sso_audit(sso_server.runtime)
    assert (action, actor, data["reason"]) == ("auth.sso_refused", "anonymous", reason)
    assert data["address"] == "127.0.0.1" and data["username"] == ("" if reason == "no_username" else who)
    with sso_server.runtime.session_factory() as s:
        assert s.scalar(select(Staff).where(Staff.username == "nobody")) is None


def test_sso_refuses_an_inactive_staff_member(sso_server: LiveServer, browser_like: httpx.Client) -> None:
    rt = sso_server.runtime
    with rt.uow() as uow:
        uow.session.execute(update(Staff).where(Staff.username == "agent").values(active=False))
        uow.commit()
    r = browser_like.get(f"{sso_server.url}/login/sso")
    assert r.status_code == 403 and 'id="login-frozen"' in r.text  # as the password form says it
    assert signed_out(browser_like, sso_server)
    ((action, _, data),) = sso_audit(rt)
    assert (action, data["reason"], data["username"]) == ("auth.sso_refused", "inactive_user", "agent")


def test_an_unusual_sso_sign_in_freezes_the_account_like_a_password_one(demo_runtime: Runtime,
                                                                        provider: OidcProvider) -> None:
    """With no trusted network and no learning period, the first sign-in's network is new: frozen. The clock
    stands in office hours (at 22:00 in Shanghai the hour was a second reason)."""
    rt = demo_runtime
    office_hours = datetime.now(ZoneInfo("Asia/Shanghai")).replace(hour=10, minute=0)
    rt.clock = FrozenClock(office_hours.astimezone(UTC))
    servers = serve_caredesk_with_sso(rt, provider, login_trusted_networks=[], login_learning_sign_ins=0)
    server = next(servers)
    try:
        with httpx.Client(follow_redirects=True, timeout=15, headers=EN) as client:
            r = client.get(f"{server.url}/login/sso")
            assert r.status_code == 403 and 'id="login-frozen"' in r.text
            assert signed_out(client, server)
    finally:
        next(servers, None)
    with rt.session_factory() as s:
        assert s.scalar(select(Staff.active).where(Staff.username == "agent")) is False
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert {"auth.login_anomaly", "account.frozen"} <= set(actions)
    ((action, _, data),) = sso_audit(rt)
    assert (action, data["reason"], data["detail"]) == ("auth.sso_refused", "frozen_now", "new_place")


# --- refusals: the provider's answer is not to be trusted --------------------------------------------------
@pytest.mark.parametrize(("misbehave", "detail"), [
    ("wrong_nonce", "nonce"),
    ("no_nonce", "nonce"),
    ("wrong_audience", "aud"),  # even with azp naming CareDesk
    ("wrong_issuer", "iss"),
    ("bad_signature", "bad_signature"),
    ("expired", "expired"),
])
def test_sso_rejects_an_id_token_that_fails_verification(sso_server: LiveServer, provider: OidcProvider,
                                                         browser_like: httpx.Client, misbehave: Any,
                                                         detail: str) -> None:
    provider.misbehave = misbehave
    r = browser_like.get(f"{sso_server.url}/login/sso")
    assert (r.status_code, r.url.path) == (401, "/login/sso/callback")
    assert 'data-code="sso_failed"' in r.text and "Single sign-on did not complete" in r.text
    assert len(provider.token_requests) == 1 and provider.issued  # the exchange happened; the token was bad
    assert signed_out(browser_like, sso_server)
    ((action, actor, data),) = sso_audit(sso_server.runtime)
    assert (action, actor, data["reason"]) == ("auth.sso_refused", "anonymous", "invalid_token")
    assert detail in data["detail"]
    assert not any(token in repr(data) for token in provider.issued)


def test_sso_reports_the_providers_denial(sso_server: LiveServer, provider: OidcProvider,
                                          browser_like: httpx.Client) -> None:
    provider.misbehave = "deny"
    r = browser_like.get(f"{sso_server.url}/login/sso")
    assert r.status_code == 401 and 'data-code="sso_failed"' in r.text
    assert provider.token_requests == []
    (entry,) = sso_audit(sso_server.runtime)
    assert (entry[2]["reason"], entry[2]["detail"]) == ("provider_error", "access_denied")


def test_sso_callback_only_completes_in_the_browser_that_started_it(sso_server: LiveServer,
                                                                     provider: OidcProvider) -> None:
    """A code delivered to another browser (login CSRF, a stolen redirect) fails the state check; a replay of
    a used callback fails too."""
    with httpx.Client(timeout=15, headers=EN) as victim:
        started = victim.get(f"{sso_server.url}/login/sso")
        approved = victim.get(started.headers["location"])
        callback = approved.headers["location"]
    with httpx.Client(timeout=15, headers=EN) as other:
        r = other.get(callback)
        assert r.status_code == 401 and 'data-code="sso_failed"' in r.text
        assert signed_out(other, sso_server)
    assert provider.token_requests == []  # refused before the code was even redeemed
    (entry,) = sso_audit(sso_server.runtime)
    assert entry[2]["detail"] == "mismatching_state"


def test_sso_callback_cannot_be_replayed(sso_server: LiveServer, browser_like: httpx.Client) -> None:
    r = browser_like.get(f"{sso_server.url}/login/sso")
    callback = str(r.history[-1].url)
    assert r.url.path == "/workbench"
    again = browser_like.get(callback)
    assert again.status_code == 401 and 'data-code="sso_failed"' in again.text
    assert [a for a, _, _ in sso_audit(sso_server.runtime)] == ["auth.sso_succeeded", "auth.sso_refused"]


def test_sso_unreachable_provider_shows_the_password_form(demo_runtime: Runtime) -> None:
    from tests.conftest import free_port

    nowhere = OidcProvider(issuer=f"http://127.0.0.1:{free_port()}")  # configured, but nothing listens
    servers = serve_caredesk_with_sso(demo_runtime, nowhere)
    server = next(servers)
    try:
        with httpx.Client(follow_redirects=True, timeout=15, headers=EN) as client:
            r = client.get(f"{server.url}/login/sso")
            assert (r.status_code, r.url.path) == (503, "/login/sso")
            assert 'data-code="sso_unavailable"' in r.text and 'name="password"' in r.text
    finally:
        next(servers, None)


# --- off ----------------------------------------------------------------------------------------------------
def test_sso_off_has_no_routes_and_no_button(demo_runtime: Runtime) -> None:
    assert demo_runtime.settings.oidc_issuer == ""
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as web:
        assert web.get("/login/sso").status_code == 404
        assert web.get("/login/sso/callback?code=x&state=y").status_code == 404
        page = web.get("/login", headers=EN).text
        assert 'name="password"' in page and "sso" not in page.lower()
    with demo_runtime.session_factory() as s:
        assert s.scalars(select(AuditEntry).where(AuditEntry.action.like("auth.sso%"))).all() == []
