"""POST/GET /api/v1/messages/{id}/corrections through the real app."""

from __future__ import annotations

from typing import Any

from caredesk.bootstrap.runtime import Runtime
from tests.conftest import create_key

TEXT = "我的网银一直登录不上，提示系统错误"


def _message(api: Any) -> dict[str, Any]:
    r = api.post("/api/v1/messages", json={"text": TEXT, "channel": "api", "customer_ref": "corr-api-1"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_api_correction_created_and_listed(api: Any) -> None:
    created = _message(api)
    said = created["triage"]["urgency"]["label"]
    new = "urgent" if said != "urgent" else "general"
    mid = created["message_id"]
    r = api.post(f"/api/v1/messages/{mid}/corrections", json={"head": "urgency", "label": new})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["head"], body["old_label"], body["new_label"], body["message_id"]) == ("urgency", said, new, mid)
    listed = api.get(f"/api/v1/messages/{mid}/corrections")
    assert listed.status_code == 200 and [c["id"] for c in listed.json()["items"]] == [body["id"]]
    again = api.post(f"/api/v1/messages/{mid}/corrections", json={"head": "urgency", "label": new})
    assert (again.status_code, again.json()["code"]) == (409, "conflict")


def test_api_correction_bad_input_has_codes(api: Any) -> None:
    mid = _message(api)["message_id"]
    url = f"/api/v1/messages/{mid}/corrections"
    r = api.post(url, json={"head": "colour", "label": "red"})
    assert (r.status_code, r.json()["code"]) == (400, "invalid_input")
    assert "urgency" in r.json()["details"]["allowed"]
    r = api.post(url, json={"head": "urgency", "label": "panic"})
    assert (r.status_code, r.json()["code"]) == (400, "invalid_input")
    assert r.json()["details"] == {"field": "label", "allowed": ["general", "attention", "urgent"]}
    r = api.post(url, json={"head": "urgency"})
    assert (r.status_code, r.json()["code"]) == (422, "validation_error")
    r = api.post(url, json={"head": "urgency", "label": "urgent", "extra": 1})
    assert r.status_code == 422
    r = api.post("/api/v1/messages/nope/corrections", json={"head": "urgency", "label": "urgent"})
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert api.get("/api/v1/messages/nope/corrections").status_code == 404


def test_api_correction_needs_a_role_that_may_correct(api: Any, demo_runtime: Runtime) -> None:
    mid = _message(api)["message_id"]
    auditor = create_key(demo_runtime, role="auditor")
    r = api.post(f"/api/v1/messages/{mid}/corrections", json={"head": "urgency", "label": "urgent"},
                 headers={"Authorization": f"Bearer {auditor}"})
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = api.get(f"/api/v1/messages/{mid}/corrections", headers={"Authorization": f"Bearer {auditor}"})
    assert r.status_code == 200  # an auditor may read them
