"""The knowledge-base pages and the chat's clarifying question, through the real app: page tests with the
TestClient (sign-in, permissions, list filters and paging, every workflow move, diff, rollback, edit, refusals
shown in place) and browser tests in Debian's Chromium against a live uvicorn server (an editor edits an
entry, compares v1 with v2 and rolls back; a customer answers a clarifying question by clicking an option)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.knowledge.actions import do_archive, do_save_entries, load_published
from caredesk.knowledge.model import EntryDraft
from caredesk.knowledge.queries import list_versions
from caredesk.storage.orm import Conversation, KnowledgeEntry, Message, TriageResult
from tests.e2e.browsing import shot
from tests.support import web_session
from tests.support.web_session import DEMO_PASSWORD, HX, csrf_token, sign_in_page

if TYPE_CHECKING:
    from tests.conftest import LiveServer

EDITOR = "cao.yue"  # the demo's knowledge editor
ACTIVATION_KEY = "en-card-activation"  # a published demo entry
NEW_ANSWER = "Activate the card in the app under Credit Card > Activate card; it takes one minute."


# --- helpers ---------------------------------------------------------------------------------------------
@pytest.fixture
def web(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as client:
        yield client


def sign_in(client: TestClient, username: str) -> dict[str, str]:
    """Signs in; returns the headers an htmx POST from this session sends (the token read from the list)."""
    return web_session.sign_in(client, username, page="/workbench/knowledge")


def entry_id(rt: Runtime, key: str = ACTIVATION_KEY) -> str:
    with rt.session_factory() as s:
        return str(s.scalars(select(KnowledgeEntry.id).where(KnowledgeEntry.key == key)).one())


def history(rt: Runtime, eid: str) -> list[tuple[int, str, str]]:
    with rt.session_factory() as s:
        return [(v.version, v.status, v.answer) for v in list_versions(s, eid)]


def served(rt: Runtime, eid: str) -> list[tuple[int, str]]:
    with rt.session_factory() as s:
        return [(e.version, e.answer) for e in load_published(s) if e.entry_id == eid]


# --- page tests (TestClient; SQLite and PostgreSQL) ---------------------------------------------------------
def test_knowledge_pages_send_anonymous_visitors_to_login(web: TestClient, demo_runtime: Runtime) -> None:
    eid = entry_id(demo_runtime)
    for path in ("/workbench/knowledge", f"/workbench/knowledge/{eid}", f"/workbench/knowledge/{eid}/edit",
                 f"/workbench/knowledge/{eid}/diff?from=1&to=1"):
        r = web.get(path)
        assert (r.status_code, r.headers["location"]) == (303, "/login"), path
    r = web.get("/workbench/knowledge", headers=HX)
    assert (r.status_code, r.headers["hx-redirect"]) == (401, "/login")
    for path in (f"/workbench/knowledge/{eid}/rollback", f"/workbench/knowledge/{eid}/moves/archive"):
        r = web.post(path, data={"version": "1"}, headers=HX)
        assert r.status_code in (401, 403) and "knowledge" not in r.headers.get("hx-redirect", ""), path
    assert [v for v, _, _ in history(demo_runtime, eid)] == [1]


def test_knowledge_agent_reads_but_may_not_change(web: TestClient, demo_runtime: Runtime) -> None:
    eid = entry_id(demo_runtime)
    hx = sign_in(web, "agent")  # agents may read the knowledge base (knowledge.read), not change it
    page = web.get(f"/workbench/knowledge/{eid}?lang=en")
    assert page.status_code == 200 and "How do I activate my new credit card?" in page.text
    assert 'id="kb-actions"' not in page.text and "kb-rollback" not in page.text
    assert web.get(f"/workbench/knowledge/{eid}/edit?lang=en").status_code == 403
    for path, data in ((f"/workbench/knowledge/{eid}/rollback", {"version": "1"}),
                       (f"/workbench/knowledge/{eid}/moves/archive", {}),
                       (f"/workbench/knowledge/{eid}/edit", {"question": "x", "answer": "y"})):
        r = web.post(path + "?lang=en", data=data, headers=hx)
        assert r.status_code == 403 and "Not allowed" in r.text, path
    assert len(history(demo_runtime, eid)) == 1  # nothing written


def test_knowledge_pages_refuse_a_role_without_knowledge_read(web: TestClient, demo_runtime: Runtime) -> None:
    from caredesk.accounts.credentials import hash_password
    from caredesk.storage.orm import Staff

    with demo_runtime.uow() as uow:
        uow.session.add(Staff(username="outsider", display_name="Outsider", email="o@demo-bank.example",
                              role="contractor", password_hash=hash_password(DEMO_PASSWORD)))
        uow.commit()
    sign_in(web, "outsider")
    for path in ("/workbench/knowledge", f"/workbench/knowledge/{entry_id(demo_runtime)}"):
        r = web.get(path + "?lang=en")
        assert r.status_code == 403 and "Not allowed" in r.text, path


def test_knowledge_list_search_filters_and_paging(web: TestClient, demo_runtime: Runtime) -> None:
    sign_in(web, EDITOR)
    page = web.get("/workbench/knowledge?lang=en")
    assert page.status_code == 200 and "<html" in page.text and 'id="nav-knowledge"' in page.text
    first = re.findall(r'id="kb-row-(\w+)"', page.text)
    assert len(first) == 25 and 'id="kb-next"' in page.text
    found = re.search(r'id="kb-next" href="([^"]+)"', page.text)
    assert found
    next_url = html.unescape(found.group(1))
    second = web.get(next_url, headers=HX)
    assert "<html" not in second.text and "HX-Request" in second.headers["vary"]
    rows = re.findall(r'id="kb-row-(\w+)"', second.text)
    assert rows and not set(rows) & set(first) and 'id="kb-first"' in second.text

    found = web.get("/workbench/knowledge", params={"q": "activate my new credit"}, headers=HX).text
    assert re.findall(r'id="kb-row-(\w+)"', found) == [entry_id(demo_runtime)]
    cards = web.get("/workbench/knowledge", params={"category": "cards"}, headers=HX).text
    with demo_runtime.session_factory() as s:
        in_cards = s.scalar(select(func.count()).where(KnowledgeEntry.category.startswith("cards/")
                                                        | (KnowledgeEntry.category == "cards")))
    assert len(re.findall(r'id="kb-row-', cards)) == min(25, in_cards or 0) > 0
    assert "digital/" not in cards
    drafts = web.get("/workbench/knowledge?status=draft&lang=en", headers=HX).text
    assert 'id="kb-empty"' in drafts and "No knowledge entries match" in drafts  # the demo is all published
    assert web.get("/workbench/knowledge?cursor=bogus!").status_code == 200  # a bad cursor: the first page
    assert web.get("/workbench/knowledge?q=%25_").status_code == 200  # LIKE wildcards are plain text


def _statements(rt: Runtime, call: Any) -> int:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    event.listen(rt.engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(rt.engine, "before_cursor_execute", count)
    return len(seen)


def test_knowledge_pages_query_count_does_not_grow(web: TestClient, demo_runtime: Runtime) -> None:
    eid = entry_id(demo_runtime)
    sign_in(web, EDITOR)

    def entry_page() -> None:
        assert web.get(f"/workbench/knowledge/{eid}").status_code == 200

    def list_fragment() -> None:
        assert web.get("/workbench/knowledge", params={"q": "card"}, headers=HX).status_code == 200

    with demo_runtime.session_factory() as s:
        entry = s.get(KnowledgeEntry, eid)
        assert entry is not None
        s.expunge(entry)

    def save(n: int) -> None:  # one more version of the entry, one more entry in the list
        drafts = [EntryDraft(key=entry.key, language=entry.language, question=entry.question,
                             answer=f"Answer {n}.", content_type=entry.content_type,
                             problem_type=entry.problem_type, category=entry.category),
                  EntryDraft(key=f"qc-{n}", language="en", question=f"Card question {n}?", answer="Yes.",
                             content_type="business")]
        do_save_entries(demo_runtime.uow(), drafts, actor=f"staff:test-{n}", now=demo_runtime.clock.now())

    save(0)
    list_fragment()  # the entries changed: this request rebuilds the meaning index (a cache, counted apart)
    entry_once, list_once = _statements(demo_runtime, entry_page), _statements(demo_runtime, list_fragment)
    for n in range(1, 5):
        save(n)
    list_fragment()
    assert _statements(demo_runtime, entry_page) == entry_once <= 8
    assert _statements(demo_runtime, list_fragment) == list_once <= 5  # + the index's freshness check


def test_knowledge_workflow_diff_and_rollback_through_pages(web: TestClient, demo_runtime: Runtime) -> None:
    eid = entry_id(demo_runtime)
    base = f"/workbench/knowledge/{eid}"
    (_, _, old_answer), = history(demo_runtime, eid)
    hx = sign_in(web, EDITOR)
    form = web.get(f"{base}/edit?lang=en")
    assert form.status_code == 200 and f'hx-post="{base}/edit"' in form.text
    assert old_answer in html.unescape(form.text)
    r = web.post(f"{base}/edit", headers=hx, data={
        "question": "How do I activate my new credit card?", "answer": NEW_ANSWER, "category": "cards/credit",
        "similar_questions": "activate card\n\ncard activation in the app\n"})
    assert (r.status_code, r.headers["hx-redirect"]) == (200, base)
    assert [(v, s) for v, s, _ in history(demo_runtime, eid)] == [(1, "published"), (2, "draft")]
    assert served(demo_runtime, eid) == [(1, old_answer)]  # the draft does not answer yet
    page = web.get(f"{base}?lang=en").text
    assert "customers get the answer of v1" in page and 'id="kb-move-submit"' in page

    diff = web.get(f"{base}/diff", params={"from": 1, "to": 2, "lang": "en"}, headers=HX)
    assert diff.status_code == 200 and "<html" not in diff.text
    assert 'data-field="answer"' in diff.text and 'data-field="similar_questions"' in diff.text
    assert re.search(r'class="line del"><span class="sign">−</span>Open the app', diff.text)
    assert re.search(r'class="line add"><span class="sign">\+</span>' + re.escape(NEW_ANSWER[:30]), diff.text)
    full = web.get(f"{base}/diff?from=1&to=2")  # without htmx: the entry page with the diff open
    assert "<html" in full.text and 'id="kb-diff-result"' in full.text
    assert web.get(f"{base}/diff?from=1&to=9").status_code == 404

    submitted = web.post(f"{base}/moves/submit?lang=en", headers=hx)
    assert submitted.status_code == 200 and "Submitted for review (v3)" in submitted.text
    assert 'id="kb-blocked-approve"' in submitted.text  # four eyes: the author sees why approve is off
    refused = web.post(f"{base}/moves/approve?lang=en", headers=hx)
    assert (refused.status_code, refused.headers["x-caredesk-error"]) == (400, "forbidden")
    assert refused.headers["hx-retarget"] == "#kb-notice" and "four-eyes rule" in refused.text
    no_reason = web.post(f"{base}/moves/reject?lang=en", data={"reason": " "}, headers=hx)
    assert no_reason.status_code == 400 and "a rejection needs a reason" in no_reason.text
    wrong = web.post(f"{base}/moves/reopen?lang=en", headers=hx)
    assert (wrong.status_code, wrong.headers["x-caredesk-error"]) == (400, "conflict")
    assert "cannot reopen an entry that is review" in wrong.text
    assert web.post(f"{base}/moves/explode", headers=hx).status_code == 404

    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as admin:
        approved = admin.post(f"{base}/moves/approve?lang=en", headers=sign_in(admin, "admin"))
    assert approved.status_code == 200 and "Published (v4)" in approved.text
    assert served(demo_runtime, eid) == [(4, NEW_ANSWER)]
    shown = web.get(f"{base}?lang=zh").text  # v1 no longer answers: it is not shown as 已发布 any more
    assert re.search(r'id="kb-v1">.*?class="status kb-superseded">已被新版本取代<', shown, re.S)
    assert re.search(r'id="kb-v4">.*?class="status kb-published">已发布<', shown, re.S)

    bad = web.post(f"{base}/rollback?lang=en", data={"version": "x"}, headers=hx)
    assert bad.status_code == 400 and "choose the version" in bad.text
    missing = web.post(f"{base}/rollback?lang=en", data={"version": "99"}, headers=hx)
    assert missing.status_code == 400 and "version not found" in missing.text
    rolled = web.post(f"{base}/rollback?lang=en", data={"version": "1"}, headers=hx)
    assert rolled.status_code == 200 and "Restored the content of v1 as new version v5 (Draft)" in rolled.text
    assert f'<blockquote class="answer" id="kb-answer">{old_answer}' in html.unescape(rolled.text)
    versions = history(demo_runtime, eid)
    assert [(v, s) for v, s, _ in versions][-1] == (5, "draft") and versions[-1][2] == old_answer
    assert served(demo_runtime, eid) == [(4, NEW_ANSWER)]  # an editor's rollback is a draft to review
    again = web.post(f"{base}/rollback?lang=en", data={"version": "1"}, headers=hx)
    assert "no new version was written" in again.text and len(history(demo_runtime, eid)) == 5
    assert "rolled back" in web.get(f"{base}?lang=en").text and "from v1" in web.get(f"{base}?lang=en").text


def test_knowledge_edit_refusal_is_shown_in_place(web: TestClient, demo_runtime: Runtime) -> None:
    eid = entry_id(demo_runtime)
    hx = sign_in(web, EDITOR)
    r = web.post(f"/workbench/knowledge/{eid}/edit?lang=en", headers=hx,
                 data={"question": "  ", "answer": "Something.", "category": "cards/credit"})
    assert (r.status_code, r.headers["hx-retarget"]) == (400, "#kb-notice")
    assert "<html" not in r.text and "Not done: question is empty" in r.text
    r = web.post(f"/workbench/knowledge/{eid}/edit?lang=zh", headers=hx,
                 data={"question": "Q?", "answer": "A.", "category": "cards//credit/"})
    assert r.status_code == 200  # the category path is normalised, not refused
    assert len(history(demo_runtime, eid)) == 2
    plain = {k: v for k, v in hx.items() if k != "HX-Request"}  # without htmx: an ordinary redirect
    r = web.post(f"/workbench/knowledge/{eid}/edit", headers=plain,
                 data={"question": "Q?", "answer": "A, again.", "category": "cards/credit"})
    assert (r.status_code, r.headers["location"]) == (303, f"/workbench/knowledge/{eid}")
    with demo_runtime.session_factory() as s:
        entry = s.get(KnowledgeEntry, eid)
        assert entry is not None
        assert (entry.category, entry.answer, entry.version) == ("cards/credit", "A, again.", 3)


def test_knowledge_pages_in_chinese(web: TestClient, demo_runtime: Runtime) -> None:
    sign_in(web, EDITOR)
    page = web.get(f"/workbench/knowledge/{entry_id(demo_runtime)}?lang=zh").text
    for text in ("知识条目", "版本历史", "版本对比", "已发布", "编辑"):
        assert text in page, text


# --- the chat's clarifying question (TestClient) ---------------------------------------------------------
AMBIGUOUS = "I forgot my card PIN"
DEBIT = ("How do I reset my debit card PIN?", ("I forgot my debit card PIN",),
         "Reset your debit card PIN at any ATM of ours or in the app under Cards > PIN.")
CREDIT = ("How do I reset my credit card PIN?", ("I forgot my credit card PIN",),
          "Reset your credit card PIN in the app under Credit card > Security > PIN.")


def seed_close_entries(rt: Runtime) -> dict[str, tuple[str, str]]:
    """Two published entries too close to tell apart for AMBIGUOUS (as tests/integration/test_clarification.py
    seeds them); returns question -> (entry id, answer)."""
    doc = rt.triage(AMBIGUOUS)
    drafts = [EntryDraft(key=f"clarify-{n}", language="en", question=q, similar_questions=sims, answer=a,
                         content_type=doc.label("content_type").label,
                         problem_type=doc.label("problem_type").label,
                         status="published") for n, (q, sims, a) in enumerate((DEBIT, CREDIT), 1)]
    do_save_entries(rt.uow(), drafts, actor="test", now=rt.clock.now())
    with rt.session_factory() as s:
        return {e.question: (e.id, e.answer) for e in s.scalars(select(KnowledgeEntry))}


def test_chat_offers_clarifying_options_as_buttons(runtime: Runtime) -> None:
    entries = seed_close_entries(runtime)
    with TestClient(create_app(runtime, start_consumer=False), follow_redirects=False) as client:
        hx = HX | {"X-CSRF-Token": csrf_token(client, "/chat?lang=en")}
        first = client.post("/chat/messages", data={"text": AMBIGUOUS}, headers=hx)
        assert first.status_code == 200 and "Which of these do you mean?" in first.text
        button = r'aria-label="(\d)\. ([^"]+)"\s+hx-post="/chat/messages" hx-vals=\'\{"text": "(\d)"\}\''
        buttons = re.findall(button, first.text)
        assert [(n, v) for n, _, v in buttons] == [("1", "1"), ("2", "2")]
        assert {q for _, q, _ in buttons} == set(entries)
        reloaded = client.get("/chat").text  # still waiting for the answer: the buttons come back
        assert reloaded.count('class="button chat-option"') == 2
        second = client.post("/chat/messages", data={"text": "2"}, headers=hx)
        assert entries[buttons[1][1]][1] in html.unescape(second.text) and "chat-option" not in second.text
        assert "chat-option" not in client.get("/chat").text  # answered: no stale buttons


# --- browser tests ------------------------------------------------------------------------------------------


@pytest.fixture
def chat_server(runtime: Runtime) -> Iterator[LiveServer]:
    """A live server on an empty knowledge base (no demo entries to compete with the two seeded ones)."""
    from tests.conftest import serve_in_thread

    yield from serve_in_thread(runtime)


@pytest.mark.browser
def test_browser_editor_edits_compares_and_rolls_back(live_server: LiveServer, page: Any) -> None:
    from playwright.sync_api import expect

    rt = live_server.runtime
    eid = entry_id(rt)
    (_, _, old_answer), = history(rt, eid)
    sign_in_page(page, live_server.url, EDITOR)
    page.click("#nav-knowledge")
    expect(page.locator("h1")).to_have_text("Knowledge base")
    page.fill("#kb-q", "activate my new credit")
    expect(page.locator("#kb-results tbody tr")).to_have_count(1)  # filtered as one types (htmx)
    expect(page).to_have_url(re.compile(r"q=activate"))
    shot(page, "knowledge-list")
    page.click(f"#kb-row-{eid} a")

    expect(page.locator("#kb-status")).to_have_text("Published")
    expect(page.locator("#kb-history tbody tr")).to_have_count(1)
    page.click("#kb-edit")
    page.fill("#kb-edit-answer", NEW_ANSWER)
    page.click("#kb-save")
    expect(page).to_have_url(f"{live_server.url}/workbench/knowledge/{eid}")
    expect(page.locator("#kb-answer")).to_have_text(NEW_ANSWER)
    expect(page.locator("#kb-status")).to_have_text("Draft")
    expect(page.locator("#kb-answering")).to_contain_text("customers get the answer of v1")
    expect(page.locator("#kb-history tbody tr")).to_have_count(2)
    expect(page.locator("#kb-v1")).to_contain_text("answering")

    expect(page.locator("#kb-from")).to_have_value("1")  # defaults: the previous version against the current
    expect(page.locator("#kb-to")).to_have_value("2")
    page.click("#kb-compare-button")
    answer_diff = page.locator("#kb-diff-result .change[data-field=answer]")
    expect(answer_diff.locator(".line.del")).to_contain_text(old_answer[:40])
    expect(answer_diff.locator(".line.add")).to_contain_text(NEW_ANSWER)
    changed = page.locator("#kb-diff-result .change")
    expect(changed).to_have_count(2)  # the answer, and the status (published -> draft)
    expect(changed.nth(1)).to_have_attribute("data-field", "status")
    expect(changed.nth(1)).to_contain_text("Published → Draft")
    shot(page, "knowledge-diff")

    page.click("#kb-rollback-1")  # hx-confirm: accepted by the dialog handler
    expect(page.locator("#kb-done")).to_contain_text("Restored the content of v1 as new version v3")
    expect(page.locator("#kb-answer")).to_have_text(old_answer)
    expect(page.locator("#kb-history tbody tr")).to_have_count(3)
    expect(page.locator("#kb-v3")).to_contain_text("rolled back")
    assert [v for v, _, _ in history(rt, eid)] == [1, 2, 3] and history(rt, eid)[-1][2] == old_answer
    assert served(rt, eid) == [(1, old_answer)]  # what customers get is v1's answer

    page.click("#kb-move-submit")
    expect(page.locator("#kb-status")).to_have_text("In review")
    expect(page.locator("#kb-move-approve")).to_be_disabled()  # four eyes: the author may not approve
    expect(page.locator("#kb-blocked-approve")).to_contain_text("four-eyes")

    do_archive(rt.uow(), eid, actor="staff:admin", role="admin", now=rt.clock.now())  # meanwhile, elsewhere
    page.fill("#kb-reject-reason", "stale page")
    page.click("#kb-move-reject")
    expect(page.locator("#kb-error")).to_contain_text("cannot reject an entry that is archived")
    expect(page.locator("#kb-status")).to_have_text("In review")  # the page kept its content; nothing broke
    shot(page, "knowledge-refused")


@pytest.mark.browser
def test_browser_chat_clarifying_question_over_two_turns(runtime: Runtime, chat_server: LiveServer,
                                                         page: Any) -> None:
    from playwright.sync_api import expect

    entries = seed_close_entries(runtime)
    page.goto(f"{chat_server.url}/chat?lang=en")
    page.fill("#chat-text", AMBIGUOUS)
    page.press("#chat-text", "Enter")
    question = page.locator("#chat-log .reply-answer").last
    # the first message builds the knowledge index: allow it time
    expect(question).to_contain_text("Which of these do you mean?", timeout=30_000)
    expect(question).to_contain_text("1. How do I reset my")
    expect(question).to_contain_text("2. How do I reset my")
    options = page.locator("#chat-log .chat-option")
    expect(options).to_have_count(2)
    shot(page, "chat-clarify")
    chosen = (options.nth(1).get_attribute("aria-label") or "").removeprefix("2. ")
    chosen_id, chosen_answer = entries[chosen]

    options.nth(1).click()  # sends "2", as typing it would
    expect(page.locator("#chat-log .from-customer .bubble").last).to_have_text("2")
    expect(page.locator("#chat-log .reply-answer .bubble").last).to_have_text(chosen_answer)
    expect(options.first).to_be_disabled()  # answered: the old options are retired
    shot(page, "chat-clarify-answered")

    with runtime.session_factory() as s:
        inbound = list(s.scalars(select(Message).where(Message.direction == "in")
                                 .order_by(Message.created_at, Message.id)))
        assert [m.text for m in inbound] == [AMBIGUOUS, "2"]
        assert len({m.conversation_id for m in inbound}) == 1
        assert s.scalar(select(func.count()).select_from(Conversation)) == 1
        triage = s.scalars(select(TriageResult).where(TriageResult.message_id == inbound[1].id)).one()
        picked = (triage.decision_kind, triage.answer_entry_id, triage.answer_version)
        assert picked == ("answer", chosen_id, 1)
        assert "chose option 2" in triage.decision_reason
        conversation = s.get(Conversation, inbound[0].conversation_id)
        assert conversation is not None and conversation.pending_clarification is None


def test_knowledge_search_finds_entries_by_meaning(web: TestClient, demo_runtime: Runtime) -> None:
    """"reset password" and "盗刷" found nothing (the words are not side by side, or only in the similar
    questions); the entries closest in meaning are now listed above the literal matches."""
    sign_in(web, EDITOR)
    with demo_runtime.session_factory() as s:
        by_id = {e.key: e.id for e in s.scalars(select(KnowledgeEntry))}
    page = web.get("/workbench/knowledge", params={"q": "reset password", "lang": "en"}, headers=HX).text
    assert 'id="kb-meaning"' in page and f'id="kb-meaning-{by_id["en-login-password-reset"]}"' in page
    page = web.get("/workbench/knowledge", params={"q": "盗刷"}, headers=HX).text
    assert f'id="kb-meaning-{by_id["zh-unauthorized-transaction"]}"' in page
    assert 'id="kb-meaning"' not in web.get("/workbench/knowledge", headers=HX).text  # no query, no list
