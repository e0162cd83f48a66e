"""The interactive API docs work on a site with no Internet: Chromium is refused every request that leaves
the CareDesk server, and /docs (Swagger UI) and /redoc (ReDoc) still render the API's operations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def _offline(page: Any, server: str) -> list[str]:
    """Abort everything not addressed to `server`; returns the list of refused addresses."""
    refused: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(server):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return refused


def test_browser_swagger_ui_renders_offline(live_server: LiveServer, page: Any) -> None:
    refused = _offline(page, live_server.url)
    page.goto(f"{live_server.url}/docs")
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".opblock-summary-path", has_text="/api/v1/messages").count() >= 1
    assert refused == []


def test_browser_redoc_renders_offline(live_server: LiveServer, page: Any) -> None:
    refused = _offline(page, live_server.url)
    page.goto(f"{live_server.url}/redoc")
    page.get_by_text("/api/v1/messages").first.wait_for(state="attached", timeout=20_000)  # drawn by ReDoc's JS
    assert refused == []
