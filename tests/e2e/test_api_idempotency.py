"""POST /api/v1/messages with an Idempotency-Key, through the real app on SQLite and PostgreSQL: the repeat
answers with the first status and body and `Idempotency-Replayed: true`; a reused key with another body is 409,
an invalid key 400, each with its stable code; keys belong to the caller; the OpenAPI schema documents it."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from caredesk.bootstrap.runtime import Runtime
from caredesk.storage.orm import Alarm, IdempotencyRecord, Message, WorkOrder
from tests.conftest import create_key

BODY = {"text": "My credit card was just stolen and someone made unauthorized payments, freeze it now!",
        "channel": "web", "customer_ref": "idem-api"}


def counts(rt: Runtime) -> tuple[int, ...]:
    with rt.session_factory() as s:
        return tuple(int(s.scalar(select(func.count()).select_from(m)) or 0)
                     for m in (Message, WorkOrder, Alarm, IdempotencyRecord))


def test_a_repeat_returns_the_first_status_and_body(api: Any, demo_runtime: Runtime) -> None:
    first = api.post("/api/v1/messages", json=BODY, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and "Idempotency-Replayed" not in first.headers
    assert first.json()["decision"]["kind"] == "emergency"
    before = counts(demo_runtime)
    # the same body, spelt differently (key order, an explicit null): the same request
    again = api.post("/api/v1/messages", headers={"Idempotency-Key": "k-1", "Content-Type": "application/json"},
                     content='{"customer_ref": "idem-api", "channel": "web", "conversation_id": null, '
                             f'"text": "{BODY["text"]}"}}')
    assert again.status_code == 201 and again.headers["Idempotency-Replayed"] == "true"
    assert again.json() == first.json()
    assert counts(demo_runtime) == before  # no second message, work order or alarm
    without = api.post("/api/v1/messages", json=BODY)  # no key: a new message, as before
    assert without.status_code == 201 and without.json()["message_id"] != first.json()["message_id"]


def test_a_reused_key_with_another_body_is_409(api: Any, demo_runtime: Runtime) -> None:
    assert api.post("/api/v1/messages", json=BODY, headers={"Idempotency-Key": "k-2"}).status_code == 201
    before = counts(demo_runtime)
    r = api.post("/api/v1/messages", json=BODY | {"channel": "app"}, headers={"Idempotency-Key": "k-2"})
    assert r.status_code == 409 and r.json()["code"] == "idempotency_key_reused"
    assert counts(demo_runtime) == before


@pytest.mark.parametrize("key", [b"", b"x" * 256, "cl\u00e9".encode(), b" padded "])
def test_an_invalid_key_is_400(api: Any, demo_runtime: Runtime, key: bytes) -> None:
    r = api.post("/api/v1/messages", json=BODY, headers={"Idempotency-Key": key})
    assert r.status_code == 400 and r.json()["code"] == "invalid_idempotency_key", r.text
    assert counts(demo_runtime)[0] == 0


def test_keys_belong_to_the_api_key(api: Any, demo_runtime: Runtime) -> None:
    other = f"Bearer {create_key(demo_runtime, role='admin')}"
    a = api.post("/api/v1/messages", json=BODY, headers={"Idempotency-Key": "shared"})
    b = api.post("/api/v1/messages", json=BODY, headers={"Idempotency-Key": "shared", "Authorization": other})
    assert (a.status_code, b.status_code) == (201, 201) and "Idempotency-Replayed" not in b.headers
    assert a.json()["message_id"] != b.json()["message_id"]
    assert counts(demo_runtime)[3] == 2


def test_an_error_is_not_kept(api: Any, demo_runtime: Runtime) -> None:
    lost = BODY | {"conversation_id": "no-such-conversation"}
    for _ in range(2):  # each try is processed: a 404 is not replayed
        r = api.post("/api/v1/messages", json=lost, headers={"Idempotency-Key": "k-3"})
        assert r.status_code == 404 and "Idempotency-Replayed" not in r.headers
    assert counts(demo_runtime) == (0, 0, 0, 0)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_openapi_documents_the_header(api: Any) -> None:
    operation = api.get("/openapi.json").json()["paths"]["/api/v1/messages"]["post"]
    header = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert header["in"] == "header" and not header.get("required", False)
    assert "24 hours" in header["description"] and "idempotency_key_reused" in header["description"]
    schema = header["schema"]
    assert schema.get("maxLength") == 255 or any(s.get("maxLength") == 255 for s in schema.get("anyOf", []))
    assert "Idempotency-Replayed" in operation["responses"]["201"]["headers"]
