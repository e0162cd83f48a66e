"""Single sign-on in a real browser (Chromium through Playwright): the SSO button on the sign-in page takes
the staff member through the test OpenID Provider and back, signed in, to the live workbench."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.storage.orm import AuditEntry
from tests.conftest import LiveServer
from tests.e2e.browsing import shot
from tests.support.oidc_provider import OidcProvider, serve_caredesk_with_sso, serve_provider

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture
def provider() -> Iterator[OidcProvider]:
    with serve_provider(OidcProvider(username="lead")) as p:
        yield p


@pytest.fixture
def sso_server(demo_runtime: Runtime, provider: OidcProvider) -> Iterator[LiveServer]:
    yield from serve_caredesk_with_sso(demo_runtime, provider)


def test_browser_sso_button_signs_in_to_the_workbench(sso_server: LiveServer, provider: OidcProvider,
                                                     page: Any) -> None:
    from playwright.sync_api import expect

    page.goto(f"{sso_server.url}/workbench?lang=en")
    expect(page).to_have_url(f"{sso_server.url}/login")
    button = page.locator("#sso-login")
    expect(button).to_have_text("Sign in with SSO")
    shot(page, "login-sso")
    with page.expect_request(lambda r: r.url.startswith(f"{provider.issuer}/authorize")):
        button.click()
    expect(page).to_have_url(f"{sso_server.url}/workbench")
    expect(page.locator("h1")).to_have_text("Agent workbench")
    expect(page.locator("body")).to_have_attribute("data-live", "open")  # the signed-in event stream works
    shot(page, "workbench-after-sso")
    with sso_server.runtime.session_factory() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.action.like("auth.%"))).all()
    assert actions == ["auth.sso_succeeded"]


def test_browser_sso_refusal_shows_the_reason_on_the_sign_in_page(sso_server: LiveServer,
                                                                  provider: OidcProvider, page: Any) -> None:
    from playwright.sync_api import expect

    provider.username = "someone-from-the-directory"
    page.goto(f"{sso_server.url}/login?lang=en")
    page.click("#sso-login")
    expect(page.locator("#sso-error")).to_contain_text("not linked to an active CareDesk staff account")
    expect(page.locator("input[name=password]")).to_be_visible()  # the password form is still there
    page.goto(f"{sso_server.url}/workbench")
    expect(page).to_have_url(f"{sso_server.url}/login")
