"""The conversation page's triage panel (TestClient): the explanation of each label and the htmx control
that corrects it; the answer is the panel fragment showing the correction."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.storage.orm import LabelCorrection
from tests.support.web_session import csrf_token, submit_sign_in

COMPLAINT_ZH = "你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法"


@pytest.fixture
def web(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as client:
        yield client


def test_conversation_page_explains_labels_and_offers_correction(web: TestClient, demo_runtime: Runtime) -> None:
    out = do_receive_message(demo_runtime, IncomingMessage(COMPLAINT_ZH, "chat", "corr-web-1"))
    submit_sign_in(web, "agent")
    page = web.get(f"/workbench/conversations/{out.conversation_id}?lang=en")
    assert page.status_code == 200
    html = page.text
    panel = html[html.index(f'id="triage-{out.message_id}"'):]
    for head in ("content_type", "problem_type", "urgency", "emotion"):
        assert f'class="head-{head}' in panel
        assert f'<input type="hidden" name="head" value="{head}">' in panel
    assert f'hx-post="/workbench/messages/{out.message_id}/corrections"' in panel
    assert 'data-kind="feature"' in panel and re.search(r"<small>[+-]\d\.\d\d</small>", panel)  # words + weights
    assert "Scores:" in panel  # the ranking of labels
    assert "Corrected by agent" not in panel


def test_correcting_a_label_returns_the_panel_showing_it(web: TestClient, demo_runtime: Runtime) -> None:
    out = do_receive_message(demo_runtime, IncomingMessage(COMPLAINT_ZH, "chat", "corr-web-2"))
    said = out.doc.label("content_type").label
    new = "system" if said != "system" else "business"
    submit_sign_in(web, "agent")
    token = csrf_token(web, f"/workbench/conversations/{out.conversation_id}?lang=en")
    headers = {"HX-Request": "true", "X-CSRF-Token": token}
    r = web.post(f"/workbench/messages/{out.message_id}/corrections", data={"head": "content_type", "label": new},
                 headers=headers)
    assert r.status_code == 200, r.text
    assert r.text.lstrip().startswith(f'<div class="triage-labels" id="triage-{out.message_id}">')  # a fragment
    row = r.text[r.text.index('class="head-content_type'):].split("</tr>")[0]
    assert "is-corrected" in row and "Corrected by agent" in row and f'data-label="{new}"' in row
    with demo_runtime.session_factory() as s:
        saved = s.scalars(select(LabelCorrection)).one()
        assert (saved.head, saved.old_label, saved.new_label) == ("content_type", said, new)
        assert saved.staff_id is not None
    bad = web.post(f"/workbench/messages/{out.message_id}/corrections", data={"head": "content_type",
                                                                               "label": "nonsense"}, headers=headers)
    assert bad.status_code == 200 and 'class="alert correction-error"' in bad.text
    page = web.get(f"/workbench/conversations/{out.conversation_id}?lang=en")
    assert "Corrected by agent" in page.text  # the page shows it after a reload too
    assert web.post("/workbench/messages/nope/corrections", data={"head": "urgency", "label": "urgent"},
                    headers=headers).status_code == 404


def test_an_auditor_reads_the_explanation_but_gets_no_correction_control(web: TestClient,
                                                                          demo_runtime: Runtime) -> None:
    from caredesk.accounts.credentials import hash_password
    from caredesk.storage.orm import Staff

    out = do_receive_message(demo_runtime, IncomingMessage(COMPLAINT_ZH, "chat", "corr-web-3"))
    with demo_runtime.uow() as uow:
        uow.session.add(Staff(username="auditor1", display_name="Auditor", email="a1@demo-bank.example",
                              role="auditor", password_hash=hash_password("pw-auditor")))
        uow.commit()
    submit_sign_in(web, "auditor1", "pw-auditor")
    page = web.get(f"/workbench/conversations/{out.conversation_id}?lang=en")
    assert page.status_code == 200
    assert 'data-kind="feature"' in page.text and 'class="correct-form"' not in page.text
    token = csrf_token(web, f"/workbench/conversations/{out.conversation_id}")
    r = web.post(f"/workbench/messages/{out.message_id}/corrections", data={"head": "urgency", "label": "urgent"},
                 headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert r.status_code == 403
