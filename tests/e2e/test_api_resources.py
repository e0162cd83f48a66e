"""Knowledge CRUD with versions, work-order transitions and cursor pages, through the HTTP API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from caredesk.bootstrap.runtime import Runtime
from tests.conftest import create_key

ENTRY = {"key": "en-swift-code", "language": "en", "question": "What is the bank's SWIFT code?",
         "answer": "Our SWIFT code is DEMOCNSHXXX.", "content_type": "business",
         "similar_questions": ["swift code please", "BIC code for international transfer"]}


def test_knowledge_crud_keeps_versions_and_answers_without_restart(api: Any) -> None:
    created = api.post("/api/v1/knowledge", json=ENTRY)
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["version"] == 1
    assert api.post("/api/v1/knowledge", json=ENTRY).json()["code"] == "conflict"

    updated = api.put(f"/api/v1/knowledge/{entry['id']}", json={"answer": "SWIFT/BIC: DEMOCNSHXXX (head office)."})
    assert updated.json()["version"] == 2
    versions = api.get(f"/api/v1/knowledge/{entry['id']}/versions").json()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["answer"] == ENTRY["answer"]

    reply = api.post("/api/v1/messages", json={"text": "What is your SWIFT code?", "channel": "api",
                                               "customer_ref": "c1"}).json()
    assert reply["decision"]["kind"] == "answer"
    assert reply["decision"]["knowledge_entry_id"] == entry["id"]
    assert reply["decision"]["knowledge_version"] == 2

    archived = api.delete(f"/api/v1/knowledge/{entry['id']}").json()
    assert (archived["status"], archived["version"]) == ("archived", 3)
    again = api.post("/api/v1/messages", json={"text": "What is your SWIFT code?", "channel": "api",
                                               "customer_ref": "c2"}).json()
    assert again["decision"].get("knowledge_entry_id") != entry["id"]


def test_knowledge_write_needs_an_editor_role(api: Any, demo_runtime: Runtime) -> None:
    agent_key = create_key(demo_runtime, role="agent")
    r = api.post("/api/v1/knowledge", json=ENTRY, headers={"Authorization": f"Bearer {agent_key}"})
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = api.post("/api/v1/knowledge", json={**ENTRY, "content_type": "weather"})
    assert (r.status_code, r.json()["code"]) == (422, "validation_error")


def _open_order(api: Any, ref: str) -> str:
    body = api.post("/api/v1/messages", json={"text": "你们网点的保安态度很差，我要投诉这件事", "channel": "web",
                                              "customer_ref": ref}).json()
    assert body["decision"]["kind"] == "work_order", body["decision"]
    return str(body["decision"]["work_order_id"])


def test_work_order_transitions_append_events(api: Any) -> None:
    order_id = _open_order(api, "c-wo")
    r = api.post(f"/api/v1/work-orders/{order_id}/transitions", json={"status": "in_progress", "note": "calling"})
    assert r.json()["status_category"] == "open"
    r = api.post(f"/api/v1/work-orders/{order_id}/transitions", json={"status": "reopened"})
    assert (r.status_code, r.json()["code"]) == (409, "conflict")
    api.post(f"/api/v1/work-orders/{order_id}/transitions", json={"status": "resolved"})
    detail = api.get(f"/api/v1/work-orders/{order_id}").json()
    # created, then routing (assigned, or queued and assigned, as the triage sends it), then the two transitions
    events = [(e["seq"], e["kind"]) for e in detail["events"]]
    assert [seq for seq, _ in events] == list(range(1, len(events) + 1))
    assert events[0][1] == "created" and [k for _, k in events[-2:]] == ["status_changed", "status_changed"]
    assert detail["events"][1]["kind"] in ("assigned", "queued")  # routed when opened
    assert detail["events"][2]["actor"].startswith("api_key:")


def test_work_order_list_pages_with_cursor_in_bounded_queries(api: Any, demo_runtime: Runtime) -> None:
    ids = [_open_order(api, f"c-page-{i}") for i in range(5)]
    statements: list[str] = []
    event.listen(demo_runtime.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    first = api.get("/api/v1/work-orders?limit=2").json()
    queries = len(statements)
    second = api.get(f"/api/v1/work-orders?limit=2&cursor={first['next_cursor']}").json()
    third = api.get(f"/api/v1/work-orders?limit=2&cursor={second['next_cursor']}").json()
    seen = [o["id"] for page in (first, second, third) for o in page["items"]]
    assert seen == list(reversed(ids))
    assert third["next_cursor"] is None
    assert queries <= 3  # auth key lookup + page (+ SQLite pragma): no query per row
    bad = api.get("/api/v1/work-orders?cursor=!!!")
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_input")
