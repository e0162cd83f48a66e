"""Profile use end to end on the demo bank: messages posted through the API open orders whose priority includes
the customer's profile (a high-tier angry customer's order above a standard customer's with the same text, the
lead told), the workbench queue page lists them in that order with the reasons translated, and the bot greets the
identified API customer by the business in progress while the public web chat says nothing of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.http.app import create_app
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, create_key
from tests.integration.alarm_helpers import demo_runtime_with
from tests.support.profiles import customer_with_profile
from tests.support.web_session import HX, sign_in

FRIDAY_10 = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: `lead` is on duty by the demo rota
ANGRY = "信用卡年费乱扣，我非常生气，太过分了，你们这是什么破服务！"


@pytest.fixture
def prio_rt(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> Iterator[Runtime]:
    with demo_runtime_with(db_url, tmp_path / "var", mailbox, pipeline, emergency_urgency=[],
                           kb_threshold=2.0) as rt:
        rt.clock = FrozenClock(FRIDAY_10)
        yield rt


@pytest.fixture
def client(prio_rt: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(prio_rt, start_consumer=False), follow_redirects=False) as c:
        yield c


def post(client: TestClient, key: str, text: str, ref: str) -> dict[str, Any]:
    r = client.post("/api/v1/messages", json={"text": text, "channel": "app", "customer_ref": ref},
                    headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_profile_priority_through_the_api_and_the_queue_page(client: TestClient, prio_rt: Runtime) -> None:
    key = create_key(prio_rt)
    auth = {"Authorization": f"Bearer {key}"}
    customer_with_profile(prio_rt, "e2e-vip", tier="gold", value=0.92, loyalty=0.3)
    customer_with_profile(prio_rt, "e2e-std", tier="standard", profile=False)
    std = post(client, key, ANGRY, "e2e-std")
    prio_rt.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    vip = post(client, key, ANGRY, "e2e-vip")
    orders = {name: client.get(f"/api/v1/work-orders/{body['decision']['work_order_id']}", headers=auth).json()
              for name, body in (("std", std), ("vip", vip))}
    assert orders["vip"]["priority"] < orders["std"]["priority"]
    created = next(e for e in orders["vip"]["events"] if e["kind"] == "created")
    assert {"tier gold +1", "vip_emotion strong +1", "value high +1"} <= set(created["data"]["priority_reasons"])
    told = [e for e in orders["vip"]["events"] if e["kind"] == "lead_told"]
    assert len(told) == 1 and told[0]["data"]["staff"] and told[0]["data"]["lead_by"] == "rota"
    assert not [e for e in orders["std"]["events"] if e["kind"] == "lead_told"]

    # the workbench queue (the page htmx refreshes), as the lead who was told sees it
    sign_in(client, "lead")
    page = client.get("/workbench", headers=HX)
    assert page.status_code == 200
    rows = re.findall(r'data-conversation="([^"]+)" data-priority="(\d)"', page.text)
    ids = [cid for cid, _ in rows]
    assert ids.index(vip["conversation_id"]) < ids.index(std["conversation_id"])
    vip_row = page.text.split(f'id="conv-{vip["conversation_id"]}"')[1].split("</tr>")[0]
    assert ("高价值客户（画像）" in vip_row or "High-value customer (profile)" in vip_row)
    assert ("高等级客户情绪激动" in vip_row or "Upset high-tier customer" in vip_row)

    # the identified customer's next conversation is greeted by the business in progress ...
    number = orders["vip"]["case_number"]
    again = post(client, key, "你好，我想再问一下", "e2e-vip")
    assert again["reply"].splitlines()[0].startswith("您好，关于您的「信用卡")
    assert f"（编号 {number}），目前正在处理中。" in again["reply"]

    # ... while the public web chat (no identity) says nothing of anyone's business
    client.cookies.clear()
    chat = client.post("/chat/messages", data={"text": "你好，我想再问一下"},
                       headers=HX | {"X-CSRF-Token": _chat_token(client)})
    assert chat.status_code == 200, chat.text
    assert number not in chat.text and "正在处理中" not in chat.text


def _chat_token(client: TestClient) -> str:
    from tests.support.web_session import csrf_token

    return csrf_token(client, "/chat")
