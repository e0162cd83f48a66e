"""The Chinese UI says the domain's words in Chinese: the demo paths (an answered question, a complaint work
order, an urgent message with its meeting and incident form, a threatening conversation with its alarm, the
knowledge base) rendered through the real app on the demo data, with no English status, label, reason, role,
complaint type or category left in the text a person reads."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.storage.orm import IncidentRecord, KnowledgeEntry, Staff
from caredesk.web.i18n_keys import FAMILIES
from tests.support.web_session import sign_in

FAQ_ZH = "网上银行登录密码忘了怎么重置？"
COMPLAINT_ZH = "你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法"
URGENT_ZH = "我的银行卡刚刚被盗刷了两万元，不是我本人操作，请立即冻结！"
THREATS_ZH = ["我要向12378投诉", "再不处理我就打12378", "我已经准备好材料去银保监会投诉"]
EN_PO = Path(__file__).resolve().parents[2] / "src/caredesk/web/locale/en/LC_MESSAGES/messages.po"
# The families whose English must never reach a Chinese page (the stored values the pages translate).
DOMAIN_FAMILIES = ("label.", "role.", "complaint_type.", "decision.code.", "priority.", "kb.category.", "wo.ev.",
                   "wo.step.", "wo.sla.", "wo.target.", "forecast.", "error.code.", "error.problem.", "wo.route.",
                   "wo.note.", "meeting.invite.")


def _english_domain_words() -> set[str]:
    with EN_PO.open("rb") as po:
        catalog = read_po(po, locale="en")
    words = set()
    for message in catalog:
        key = message.id if isinstance(message.id, str) else message.id[0]
        if not key or not key.startswith(DOMAIN_FAMILIES) or key.startswith(tuple(p for p in FAMILIES
                                                                                    if p not in DOMAIN_FAMILIES)):
            continue
        for text in message.string if isinstance(message.string, tuple) else (message.string,):
            fixed = re.split(r"\{[a-z_]+\}", text)[0].strip(" :(")  # the wording before the first value
            if len(re.sub(r"[^A-Za-z]", "", fixed)) >= 4:  # not "API", "SLA", "Met"
                words.add(fixed)
    return words


def _visible_text(page: str) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)  # tags and their attributes (codes in data-* stay out)
    return re.sub(r"\s+", " ", html.unescape(page))


@pytest.fixture
def client(demo_runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(demo_runtime, start_consumer=False), follow_redirects=False) as c:
        c.headers.update(sign_in(c, "lead") | {"Accept-Language": "zh-CN,zh;q=0.9"})
        yield c


def _say(rt: Runtime, text: str, ref: str, conversation_id: str | None = None) -> IntakeOutcome:
    return do_receive_message(rt, IncomingMessage(text, "web", ref, conversation_id))


def test_chinese_pages_of_the_demo_paths_have_no_english_domain_words(client: TestClient,
                                                                    demo_runtime: Runtime) -> None:
    faq = _say(demo_runtime, FAQ_ZH, "zh-faq")
    ticket = _say(demo_runtime, COMPLAINT_ZH, "zh-ticket")
    urgent = _say(demo_runtime, URGENT_ZH, "zh-urgent")
    first = _say(demo_runtime, THREATS_ZH[0], "zh-threat")
    for text in THREATS_ZH[1:]:
        _say(demo_runtime, text, "zh-threat", first.conversation_id)
    assert ticket.work_order_id and urgent.meeting_id
    assert client.post(f"/workbench/meetings/{urgent.meeting_id}/end").status_code == 204
    with demo_runtime.session_factory() as s:
        record = s.scalar(select(IncidentRecord).where(IncidentRecord.meeting_id == urgent.meeting_id))
        entry = s.scalar(select(KnowledgeEntry).where(KnowledgeEntry.language == "zh").limit(1))
        # what people wrote is theirs to phrase: staff names ("Administrator") and the English entries' questions
        content = [*s.scalars(select(Staff.display_name)), *s.scalars(select(KnowledgeEntry.question))]
    assert record is not None and entry is not None

    plain = {"HX-Request": ""}  # full pages, as a browser opens them
    pages = {
        "workbench": client.get("/workbench", headers=plain),
        "faq conversation": client.get(f"/workbench/conversations/{faq.conversation_id}", headers=plain),
        "ticket conversation": client.get(f"/workbench/conversations/{ticket.conversation_id}", headers=plain),
        "urgent conversation": client.get(f"/workbench/conversations/{urgent.conversation_id}", headers=plain),
        "threat conversation": client.get(f"/workbench/conversations/{first.conversation_id}", headers=plain),
        "work order": client.get(f"/workbench/work-orders/{ticket.work_order_id}", headers=plain),
        "team queue": client.get("/workbench/team-orders", headers=plain),
        "meeting": client.get(f"/workbench/meetings/{urgent.meeting_id}", headers=plain),
        "incident": client.get(f"/workbench/incidents/{record.id}", headers=plain),
        "alarms": client.get("/workbench/alarms", headers=plain),
        "conversation alarms": client.get(f"/workbench/conversations/{first.conversation_id}/alarms"),
        "knowledge": client.get("/workbench/knowledge", headers=plain),
        "knowledge entry": client.get(f"/workbench/knowledge/{entry.id}", headers=plain),
    }
    texts = {}
    for name, response in pages.items():
        assert response.status_code == 200, name
        texts[name] = _visible_text(response.text)
    without_content = dict(texts)
    for name, text in texts.items():
        for written in sorted(content, key=len, reverse=True):
            text = text.replace(written, " ")
        without_content[name] = text

    english = _english_domain_words()
    assert {"In progress", "Team lead", "Threatens the regulator", "Cards / credit cards",
            "the customer asked for a person"} <= english  # the check knows what it looks for
    left = {name: sorted(w for w in english if re.search(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", text))
            for name, text in without_content.items()}
    assert {name: words for name, words in left.items() if words} == {}

    # and the Chinese is there: decision reasons, priority reasons, statuses, roles, complaint types, categories
    assert "由知识库答复" in texts["faq conversation"]
    assert "紧急程度「" in texts["work order"]  # the queues leave the base urgency out: it moves nothing
    assert re.search(r"新建|处理中|等待客户", texts["work order"])
    assert re.search(r"坐席|组长|投诉经理|管理员", texts["meeting"])
    assert "威胁向监管投诉" in texts["alarms"] or "威胁向监管投诉" in texts["conversation alarms"]
    assert re.search(r"账户|银行卡|电子渠道|网点", texts["knowledge"])
    assert "进行中" in texts["incident"] or "等待中" in texts["incident"]
