"""The conversation watch through the API: three regulator threats in one conversation raise exactly one
alarm with its details, more threats raise no second one, two are not enough, and team leads and the
complaint manager are notified in-app."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.storage.orm import Alarm, Conversation, Notification, Staff

THREATS = ["再不解决我就打12378投诉你们", "我要向金融监管总局举报", "我已经联系了银保监会和媒体"]
FOURTH = "你们再拖下去我就去人民银行投诉，找监管部门"


def post(api: Any, text: str, ref: str, conversation_id: str | None = None) -> dict[str, Any]:
    r = api.post("/api/v1/messages", json={"text": text, "channel": "web", "customer_ref": ref,
                                           "conversation_id": conversation_id})
    assert r.status_code == 201, r.text
    return dict(r.json())


def alarms(api: Any, conversation_id: str) -> list[dict[str, Any]]:
    r = api.get("/api/v1/alarms", params={"conversation_id": conversation_id})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def alarm_recipient_usernames() -> set[str]:
    org = yaml.safe_load(resources.files("caredesk.demo").joinpath("bank.yaml").read_text("utf-8"))
    return {p["username"] for p in org["staff"] if p["role"] in ("team_lead", "complaint_manager")}


def alarm_notices(rt: Runtime) -> list[tuple[str, str]]:
    with rt.session_factory() as s:
        rows = s.execute(select(Staff.username, Notification.link)
                         .join(Staff, Staff.id == Notification.staff_id)
                         .where(Notification.kind == "alarm")).all()
    return sorted((r[0], r[1]) for r in rows)


def test_escalation_alarm_third_regulator_threat_raises_one_alarm(api: Any, demo_runtime: Runtime) -> None:
    first = post(api, THREATS[0], ref="cust-angry")
    conversation_id = first["conversation_id"]
    bodies = [first] + [post(api, text, "cust-angry", conversation_id) for text in THREATS[1:]]
    assert [b["alarm_id"] is not None for b in bodies] == [False, False, True]

    items = alarms(api, conversation_id)
    assert len(items) == 1
    alarm = items[0]
    assert alarm["id"] == bodies[2]["alarm_id"]
    assert (alarm["conversation_id"], alarm["status"]) == (conversation_id, "open")
    assert (alarm["count"], alarm["level"], alarm["threshold"]) == (3, 3, 3)
    assert alarm["message_ids"] == [b["message_id"] for b in bodies]
    assert "regulator" in alarm["details"]["types"]
    assert alarm["details"]["customer_ref"] == "cust-angry"
    assert alarm["details"]["levels"] == [3, 3, 3]

    notices = alarm_notices(demo_runtime)
    link = f"/workbench/conversations/{conversation_id}"
    assert notices == sorted((u, link) for u in alarm_recipient_usernames())
    assert {"zheng.hui", "lead"} <= {u for u, _ in notices}  # the complaint manager and a team lead

    fourth = post(api, FOURTH, "cust-angry", conversation_id)
    assert fourth["alarm_id"] is None
    items = alarms(api, conversation_id)
    assert [(a["id"], a["count"]) for a in items] == [(alarm["id"], 3)]
    assert alarm_notices(demo_runtime) == notices  # nobody notified twice
    with demo_runtime.session_factory() as s:
        conversation = s.get(Conversation, conversation_id)
        assert conversation is not None and conversation.counted_complaints == 4


def test_escalation_alarm_two_threats_and_other_conversations_raise_none(api: Any, demo_runtime: Runtime
                                                                         ) -> None:
    first = post(api, THREATS[0], ref="cust-two")
    conversation_id = first["conversation_id"]
    second = post(api, THREATS[1], "cust-two", conversation_id)
    assert second["alarm_id"] is None
    # The third threat from the same customer in a new conversation counts there, not here.
    other = post(api, THREATS[2], ref="cust-two")
    assert other["conversation_id"] != conversation_id and other["alarm_id"] is None
    # Ordinary questions in the conversation do not count towards the threshold.
    post(api, "How do I reset my online banking password?", "cust-two", conversation_id)
    assert alarms(api, conversation_id) == []
    assert alarms(api, other["conversation_id"]) == []
    with demo_runtime.session_factory() as s:
        assert s.scalars(select(Alarm)).all() == []
    assert alarm_notices(demo_runtime) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_escalation_alarm_harmless_english_words_raise_no_alarm(api: Any) -> None:
    first = post(api, "My new card was issued last week, when will it arrive?", ref="cust-polite")
    conversation_id = first["conversation_id"]
    post(api, "Please reply immediately, I am travelling tomorrow", "cust-polite", conversation_id)
    post(api, "Thanks for the courteous service at the branch", "cust-polite", conversation_id)
    assert alarms(api, conversation_id) == []
