"""In a real browser (Chromium via Playwright, real uvicorn server): an agent opens a conversation, reads why
triage labelled the message as it did, corrects a label with the htmx control, and sees the label updated
and marked as corrected without a page reload."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.storage.orm import LabelCorrection
from tests.support.web_session import sign_in_page

if TYPE_CHECKING:
    from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

COMPLAINT_ZH = "你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法"


def test_browser_agent_corrects_a_label_and_sees_it_updated(live_server: LiveServer, page: Any) -> None:
    from playwright.sync_api import expect

    rt = live_server.runtime
    out = do_receive_message(rt, IncomingMessage(COMPLAINT_ZH, "web", "browser-corr-1"))
    said = out.doc.label("urgency").label
    new = "urgent" if said != "urgent" else "general"
    new_text = {"urgent": "Urgent", "general": "General"}[new]

    sign_in_page(page, live_server.url, "agent")
    page.goto(f"{live_server.url}/workbench/conversations/{out.conversation_id}")
    page.evaluate("window.__sameDocument = 'yes'")

    panel = page.locator(f"#triage-{out.message_id}")
    row = panel.locator(".head-urgency")
    expect(row.locator(".label-value")).not_to_have_attribute("data-label", new)
    expect(panel.locator(".head-content_type .reason[data-kind=feature]").first).to_be_visible()  # why
    expect(row).not_to_have_class("is-corrected")

    row.locator("select[name=label]").select_option(new)
    row.locator("button[type=submit]").click()

    row = page.locator(f"#triage-{out.message_id} .head-urgency")
    expect(row).to_have_class("head-urgency is-corrected")
    expect(row.locator(".label-value")).to_have_text(f"Urgency: {new_text}")
    expect(row.locator(".badge.corrected")).to_have_text("Corrected by agent")
    expect(row.locator(".model-label")).to_be_visible()
    assert page.evaluate("window.__sameDocument") == "yes"  # swapped in place by htmx, no navigation
    with rt.session_factory() as s:
        saved = s.scalars(select(LabelCorrection)).one()
        assert (saved.head, saved.new_label) == ("urgency", new)

    page.reload()  # and it stays corrected
    expect(page.locator(f"#triage-{out.message_id} .head-urgency .badge.corrected")).to_be_visible()
