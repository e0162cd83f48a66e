"""Knowledge management through the HTTP API: workflow with four-eyes, diff and rollback, import/export with
a dry run, the category tree and suggestions."""

from __future__ import annotations

import io
from typing import Any

import openpyxl

from caredesk.bootstrap.runtime import Runtime
from tests.conftest import create_key

ENTRY = {
    "key": "api-safe-box",
    "language": "en",
    "question": "How do I rent a safe deposit box?",
    "answer": "Visit a city branch with your ID.",
    "content_type": "business",
    "category": "branch/vault",
    "similar_questions": ["safe deposit box rental"],
    "answer_variants": {"sms": "Visit a branch with ID."},
    "valid_from": "2024-01-01T00:00:00+08:00",
}


def _as(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_kb_api_workflow_four_eyes(api: Any, demo_runtime: Runtime) -> None:
    alice, bob = create_key(demo_runtime, "knowledge_editor"), create_key(demo_runtime, "knowledge_editor")
    agent = create_key(demo_runtime, "agent")
    created = api.post("/api/v1/knowledge", json=ENTRY, headers=_as(alice))
    assert created.status_code == 201, created.text
    entry = created.json()
    assert (entry["status"], entry["answer_variants"], entry["category"]) == (
        "draft",
        ENTRY["answer_variants"],
        "branch/vault",
    )
    url = f"/api/v1/knowledge/{entry['id']}"
    r = api.post(
        "/api/v1/knowledge", json={**ENTRY, "key": "api-2", "status": "published"}, headers=_as(alice)
    )
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")  # editors cannot publish on their own
    r = api.post(f"{url}/approve", headers=_as(bob))
    assert (r.status_code, r.json()["code"]) == (409, "conflict")  # a draft is not in review
    assert api.post(f"{url}/submit", headers=_as(alice)).json()["status"] == "review"
    r = api.post(f"{url}/approve", headers=_as(alice))
    assert (r.status_code, r.json()["details"]["rule"]) == (403, "four_eyes")
    assert api.post(f"{url}/approve", headers=_as(agent)).status_code == 403
    assert api.post(f"{url}/reject", json={"reason": ""}, headers=_as(bob)).status_code == 422
    assert (
        api.post(f"{url}/reject", json={"reason": "Name the branches."}, headers=_as(bob)).json()["status"]
        == "draft"
    )
    assert api.put(url, json={"status": "review"}, headers=_as(alice)).json()["status"] == "review"
    published = api.post(f"{url}/approve", headers=_as(bob)).json()
    assert (published["status"], published["version"]) == ("published", 5)

    reply = api.post(
        "/api/v1/messages",
        json={"text": "How do I rent a safe deposit box?", "channel": "api", "customer_ref": "kb-api-1"},
    ).json()
    assert reply["decision"].get("knowledge_entry_id") == entry["id"], reply["decision"]
    assert reply["decision"]["knowledge_version"] == 5

    edited = api.put(
        url, json={"answer": "Visit any city branch with your ID card."}, headers=_as(alice)
    ).json()
    assert (edited["status"], edited["version"]) == ("draft", 6)  # the published v5 keeps answering
    versions = api.get(f"{url}/versions").json()
    assert [v["status"] for v in versions] == ["draft", "review", "draft", "review", "published", "draft"]
    assert versions[2]["note"]["reason"] == "Name the branches."
    assert (
        api.put(
            url, json={"valid_from": "2025-02-01T00:00:00+00:00", "valid_until": "2025-01-01T00:00:00+00:00"}
        ).status_code
        == 422
    )


def test_kb_api_diff_and_rollback(api: Any) -> None:
    entry = api.post("/api/v1/knowledge", json={**ENTRY, "key": "api-diff"}).json()
    url = f"/api/v1/knowledge/{entry['id']}"
    api.put(
        url,
        json={
            "answer": "Visit a city branch with your ID.\nBring a debit card too.",
            "similar_questions": ["rent a locker", "safe deposit box rental"],
        },
    )
    api.put(url, json={"answer": "Wrong!", "category": "misc"})
    diff = api.get(f"{url}/diff", params={"from": 1, "to": 3}).json()
    changes = {c["field"]: c for c in diff["changes"]}
    assert set(changes) == {"answer", "similar_questions", "category"}
    assert "+Wrong!" in changes["answer"]["diff"] and changes["similar_questions"]["added"] == [
        "rent a locker"
    ]
    assert changes["category"] == {
        "field": "category",
        "kind": "value",
        "before": "branch/vault",
        "after": "misc",
    }
    assert api.get(f"{url}/diff", params={"from": 1, "to": 9}).status_code == 404

    rolled = api.post(f"{url}/rollback", json={"version": 2}).json()
    assert (rolled["version"], rolled["status"], rolled["category"]) == (4, "published", "branch/vault")
    assert rolled["answer"].endswith("Bring a debit card too.")
    assert api.get(f"{url}/diff", params={"from": 2, "to": 4}).json()["changes"] == []
    versions = api.get(f"{url}/versions").json()
    assert [v["version"] for v in versions] == [1, 2, 3, 4] and versions[3]["note"]["from_version"] == 2


def test_kb_api_import_dry_run_export(api: Any) -> None:
    bad = (
        "key,lang,category,content_type,problem_type,question,similar_questions,answer\n"
        "imp-1,en,imported/loans,business,consultation,Can I repay my loan early?,,Yes.\n"
        "imp-2,en,imported/loans,business,consultation,,,No question.\n"
        "imp-3,en,imported/loans,business,nonsense,Fees?,,None.\n"
    )
    r = api.post(
        "/api/v1/knowledge/import", params={"dry_run": "true"}, files={"file": ("kb.csv", bad, "text/csv")}
    )
    assert (r.status_code, r.json()["code"]) == (400, "invalid_file")
    assert [(e["line"], e["column"]) for e in r.json()["details"]["errors"]] == [
        (3, "question"),
        (4, "problem_type"),
    ]
    good = bad.replace(",,,No question.", ",Early repayment fee?,,No fee.").replace(
        "nonsense", "consultation"
    )
    r = api.post("/api/v1/knowledge/import", params={"dry_run": "true"}, files={"file": ("kb.csv", good)})
    assert r.json() == {"dry_run": True, "rows": 3, "entries": 3, "created": 3, "updated": 0, "unchanged": 0}
    assert api.get("/api/v1/knowledge", params={"category": "imported"}).json()["items"] == []
    r = api.post("/api/v1/knowledge/import", files={"file": ("kb.csv", good)})
    assert r.json()["created"] == 3
    assert (
        len(
            api.get("/api/v1/knowledge", params={"category": "imported/", "status": "published"}).json()[
                "items"
            ]
        )
        == 3
    )

    exported = api.get("/api/v1/knowledge/export", params={"format": "xlsx"})
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(
        openpyxl.load_workbook(io.BytesIO(exported.content), read_only=True)
        .worksheets[0]
        .iter_rows(values_only=True)
    )
    r = api.post("/api/v1/knowledge/import", files={"file": ("kb.xlsx", exported.content)})
    assert (r.json()["created"], r.json()["updated"], r.json()["unchanged"]) == (0, 0, len(rows) - 1)
    csv_export = api.get("/api/v1/knowledge/export").text
    assert csv_export.lstrip("\ufeff").startswith("key,lang,category,content_type,problem_type,question")
    assert api.get("/api/v1/knowledge/export", params={"format": "pdf"}).status_code == 422
    r = api.post("/api/v1/knowledge/import", files={"file": ("kb.xlsx", b"PK\x03\x04broken")})
    assert (r.status_code, r.json()["code"]) == (400, "invalid_file")


def test_kb_api_categories_and_suggestions(api: Any, demo_runtime: Runtime) -> None:
    tree = api.get("/api/v1/knowledge/categories").json()
    top = {c["name"]: c for c in tree["children"]}
    assert top["cards"]["total"] == top["cards"]["published"] > 0
    assert {c["path"] for c in top["cards"]["children"]} >= {"cards/credit", "cards/debit"}

    for i, text in enumerate(
        [
            "Can I rent a safe deposit box at your branch?",
            "How do I rent a safe deposit box?",
            "Do you offer safe deposit boxes for rent?",
        ]
    ):
        body = api.post(
            "/api/v1/messages", json={"text": text, "channel": "web", "customer_ref": f"kb-sg-{i}"}
        ).json()
        assert body["decision"]["kind"] == "work_order"
    assert api.post("/api/v1/knowledge/suggestions/generate").json()["created"] == 1
    [suggestion] = api.get("/api/v1/knowledge/suggestions").json()["items"]
    assert suggestion["kind"] == "new_entry" and suggestion["size"] == 3
    url = f"/api/v1/knowledge/suggestions/{suggestion['id']}"
    r = api.post(f"{url}/accept", json={})
    assert (r.status_code, r.json()["details"]["field"]) == (400, "answer")
    accepted = api.post(
        f"{url}/accept", json={"answer": "Yes, at our city branches.", "key": "safe-box"}
    ).json()
    assert accepted["suggestion"]["status"] == "accepted"
    assert (accepted["entry"]["key"], accepted["entry"]["status"]) == ("safe-box", "draft")
    assert api.post(f"{url}/dismiss").status_code == 409
    assert api.get("/api/v1/knowledge/suggestions").json()["items"] == []
    agent = create_key(demo_runtime, "agent")
    assert api.post("/api/v1/knowledge/suggestions/generate", headers=_as(agent)).status_code == 403
