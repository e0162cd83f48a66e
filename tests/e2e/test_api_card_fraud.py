"""The bank's complaint team's card-fraud message over the API: the emergency reply carries the knowledge
base's freeze advice, a case number and what happens next; a work order tracks the case and is linked to the
meeting both ways; the card centre and the fraud team are called, not customer-service leads."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.storage.orm import Department, KnowledgeEntry, Staff

CARD_FRAUD = "我的信用卡昨天被盗刷了三万块，现在就要冻结！"
OUTAGE = "Your online banking system is down, all payments are failing for our whole company"
CASE = re.compile(r"C\d{8}-\d{4,}")
CARD_AND_FRAUD = {"zhou.ting", "sun.hao", "he.jing", "yang.xue", "luo.jun", "qian.lei"}


def _post(api: Any, text: str, ref: str) -> dict[str, Any]:
    response = api.post("/api/v1/messages", json={"text": text, "channel": "chat", "customer_ref": ref})
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_card_fraud_reply_advice_case_number_and_card_fraud_team(api: Any, demo_runtime: Runtime) -> None:
    body = _post(api, CARD_FRAUD, "card-fraud-1")
    decision, reply = body["decision"], body["reply"]
    assert decision["kind"] == "emergency" and decision["meeting_id"]

    # the self-help steps of the knowledge base's lost/stolen credit card entry, word for word
    with demo_runtime.session_factory() as s:
        advice = s.scalar(select(KnowledgeEntry).where(KnowledgeEntry.key == "zh-credit-card-lost"))
        assert advice is not None
        steps = advice.answer.strip()
    assert "95000" in steps and "挂失" in steps
    assert f"请您先这样做：{steps}" in reply
    assert f"self-help steps from knowledge entry {advice.id}" in decision["reason"]
    assert body["triage"]["explanation"]["hard_rules"]  # an emergency by a hard rule (fraud, theft)

    # the case number: in the decision, in the reply, never the internal id
    number = decision["case_number"]
    assert re.fullmatch(r"^C\d{8}-\d{4,}$", number)
    assert number in reply and decision["work_order_id"] not in reply
    assert "15 分钟内" in reply  # the urgent SLA policy's first response, as what happens next

    # a work order tracks the case, linked to the meeting both ways; it can be looked up by its case number
    order = api.get(f"/api/v1/work-orders/{number}")
    assert order.status_code == 200, order.text
    order_json = order.json()
    assert order_json["id"] == decision["work_order_id"] and order_json["case_number"] == number
    assert order_json["urgency"] == "urgent" and order_json["priority"] == 1
    started = [e for e in order_json["events"] if e["kind"] == "emergency_started"]
    assert [e["data"]["meeting_id"] for e in started] == [decision["meeting_id"]]
    meeting = api.get(f"/api/v1/meetings/{decision['meeting_id']}").json()
    assert meeting["work_order_id"] == decision["work_order_id"] and meeting["case_number"] == number

    # the invited: the card centre and the fraud team, not customer-service leads
    invited = [p["staff_id"] for p in meeting["participants"]]
    with demo_runtime.session_factory() as s:
        people = {p.id: p for p in s.scalars(select(Staff).where(Staff.id.in_(invited)))}
        departments = {d.id: d.code for d in s.scalars(select(Department))}
    usernames = [people[i].username for i in invited]
    assert set(usernames) == CARD_AND_FRAUD
    assert usernames[:2] == ["zhou.ting", "sun.hao"]  # the two primaries first: they also write the incident form
    assert {departments[people[i].department_id] for i in invited} == {"credit_card_centre", "risk_and_fraud"}
    assert not {"chen.jing", "lead", "zhang.min"} & set(usernames)


def test_emergency_reply_without_an_unrelated_entry(api: Any) -> None:
    """An outage has no fitting self-help entry: the reply gives none, but still the number and the next step."""
    body = _post(api, OUTAGE, "outage-1")
    reply = body["reply"]
    assert body["decision"]["kind"] == "emergency"
    assert "What you can do right now" not in reply and "请您先这样做" not in reply
    found = CASE.search(reply)
    assert found is not None and found.group(0) == body["decision"]["case_number"]
    assert "within 15 minutes" in reply
    assert "self-help steps" not in body["decision"]["reason"]


def test_unknown_case_number_is_404(api: Any) -> None:
    response = api.get("/api/v1/work-orders/C20991231-0001")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
