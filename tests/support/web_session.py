"""Signing in to the web UI the way a browser does, for the page tests (Starlette's TestClient) and the
browser tests (Playwright): through the real /login form, with the session's CSRF token read from the page
(base.html puts it on <body hx-headers='{"X-CSRF-Token": "..."}'> for htmx; plain forms carry it as the hidden
`csrf_token` field, login.html included).

Signing in starts a new session, and with it a new CSRF token: read the token again after `sign_in` (as
`sign_in` does for the headers it returns)."""

from __future__ import annotations

import html
import json
import re
from typing import TYPE_CHECKING, Any

from caredesk.demo.loader import DEMO_PASSWORD

if TYPE_CHECKING:
    import httpx
    from fastapi.testclient import TestClient

__all__ = ["DEMO_PASSWORD", "HX", "csrf_token", "post_login", "sign_in", "sign_in_page", "submit_sign_in",
           "submit_sign_in_form"]

HX = {"HX-Request": "true"}
"""The header htmx sends with each of its requests."""

_BODY_HX_HEADERS = re.compile(r"<body\b[^>]*\shx-headers='([^']*)'")


def csrf_token(client: TestClient, path: str = "/login") -> str:
    """This session's CSRF token, as the page at `path` carries it on <body hx-headers> (GETs the page)."""
    page = client.get(path).text
    found = _BODY_HX_HEADERS.search(page)
    assert found, f"no <body hx-headers> on {path}: {page[:500]}"
    token = json.loads(html.unescape(found.group(1))).get("X-CSRF-Token")
    assert isinstance(token, str) and token, f"no X-CSRF-Token in the hx-headers of {path}"
    return token


def post_login(client: TestClient, username: str = "agent", password: str = DEMO_PASSWORD, *,
               token: str | None = None, **kwargs: Any) -> httpx.Response:
    """Posts the sign-in form as given and returns the response unchecked (for the tests of sign-in itself).
    `token` is the form's `csrf_token` field; None leaves the field out (a forged form from another site).
    `kwargs` go to `client.post` (e.g. headers)."""
    data = {"username": username, "password": password}
    if token is not None:
        data["csrf_token"] = token
    return client.post("/login", data=data, **kwargs)


def submit_sign_in(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> None:
    """Signs in through the /login form with this session's token; asserts it is accepted (303 to
    /workbench). Requests nothing after the sign-in."""
    r = post_login(client, username, password, token=csrf_token(client))
    assert (r.status_code, r.headers.get("location")) == (303, "/workbench"), r.text


def sign_in(client: TestClient, username: str, password: str = DEMO_PASSWORD, *,
            page: str = "/workbench") -> dict[str, str]:
    """Signs in (`submit_sign_in`); returns the headers an htmx POST from the new session's pages sends:
    {"HX-Request": "true", "X-CSRF-Token": <the new session's token>}, read from `page`."""
    submit_sign_in(client, username, password)
    return HX | {"X-CSRF-Token": csrf_token(client, page)}


def submit_sign_in_form(page: Any, base_url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Playwright: fills in and submits the sign-in form already open on `page`; waits for the workbench."""
    from playwright.sync_api import expect

    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base_url}/workbench")


def sign_in_page(page: Any, base_url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    """Playwright: opens the sign-in page in English and signs in; the page ends on the workbench."""
    page.goto(f"{base_url}/login?lang=en")
    submit_sign_in_form(page, base_url, username, password)
