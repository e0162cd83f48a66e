"""Browser fixtures for the end-to-end tests: one Chromium per module, a fresh context (own cookies) per test
that fails the test on any JavaScript error."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from caredesk.profiles.sources import install_sources, load_sources
from tests.e2e.browsing import CHROMIUM_ARGS


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # The live server's uvicorn config reconfigures these loggers: put them back after the module.
    loggers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "uvicorn.access")]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    for lg, level, handlers, propagate in saved:
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.propagate = propagate


def new_context(browser: Any, locale: str = "en-US", width: int = 1360) -> Any:
    """A browser context (its own cookies). A page load waits for the in-thread server; on a 2-core CI machine
    with two xdist workers and a model training or the chaos check next door it has taken over 10 s. A click that
    submits a form waits for the navigation it starts under the action timeout, so actions get the same room as
    navigation, and so do assertions (`expect`): an htmx form's answer is awaited by them, not by the click (a
    survey's rating, which reopens the order, took over 10 s in a fresh-clone run); the waits only cost time when
    a test fails."""
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)  # process-wide
    context = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
    context.set_default_timeout(30_000)
    context.set_default_navigation_timeout(30_000)
    return context


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """Closing the context ends its event streams before the server stops; confirm dialogs are accepted."""
    context = new_context(browser)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def crm_and_loyalty() -> Iterator[None]:
    """The shipped crm and loyalty sources enabled for the process (records added with an expiry ahead are
    not due: nothing is fetched)."""
    shipped = load_sources()
    install_sources(shipped.model_copy(update={"sources": [
        s.model_copy(update={"enabled": True}) for s in shipped.sources if s.name in ("crm", "loyalty")]}))
    yield
    install_sources(None)
