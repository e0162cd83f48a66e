"""The sources file (profiles/sources.py): the shipped one is valid with its examples disabled, mistakes are
reported with file, line and field, JSON paths and value types read as documented, and a request is built with
the credentials from the environment and the customer's reference URL-encoded."""

from __future__ import annotations

from typing import Any

import pytest

from caredesk.config_files import validate_config
from caredesk.errors import InvalidConfig
from caredesk.profiles.source_fetch import FetchError, build_request, map_response
from caredesk.profiles.sources import SourcesFile, convert_value, extract_path, load_sources, parse_path


def source(**change: Any) -> dict[str, Any]:
    return {"name": "crm", "url": "https://crm.example/api/customers/{customer_ref}",
            "fields": {"segment": {"path": "customer.segment"}}, **change}


def test_shipped_sources_file_is_valid_and_disabled() -> None:
    config = load_sources()
    assert [s.name for s in config.sources] == ["crm", "billing", "loyalty"] and config.enabled == []
    assert set(config.crm_import.columns) == {"segment", "customer_since", "products", "annual_spend"}


@pytest.mark.parametrize(("data", "message"), [
    ({"sources": [source(url="https://crm.example/{phone}")]}, "sources[0]: unknown placeholder(s) ['phone']"),
    ({"sources": [source(url="ftp://crm.example/{customer_ref}")]}, "sources[0]: url must be an http://"),
    ({"sources": [source(url="https://u:p@crm.example/{customer_ref}")]}, "sources[0]: no credentials in the url"),
    ({"sources": [source(base_url_env="CRM_URL")]}, "sources[0]: with base_url_env the url is a path"),
    ({"sources": [source(auth={"kind": "bearer", "token": "abc"})]}, "sources[0].auth.token_env: Field required"),
    ({"sources": [source(auth={"kind": "bearer", "token_env": "lower"})]}, "sources[0].auth.token_env"),
    ({"sources": [source(fields={"x": {"path": "a..b"}})]}, "sources[0].fields.x.path: bad JSON path segment ''"),
    ({"sources": [source(fields={"x": {"path": "items[*].code"}})]}, "sources[0].fields.x: a path with [*] gives"),
    ({"sources": [source(fields={"x": {"path": "a", "type": "money"}})]}, "sources[0].fields.x.type"),
    ({"sources": [source(fields={})]}, "sources[0].fields: Dictionary should have at least 1"),
    ({"sources": [source(timeout_seconds=60)]}, "sources[0].timeout_seconds: Input should be less than or equal"),
    ({"sources": [source(), source()]}, "sources[1].name: source 'crm' is defined twice"),
    ({"sources": [source(name="crm_import")]}, "sources[0].name: crm_import is the CSV import's own source name"),
    ({"crm_import": {"columns": {"phone": {"field": "phone2"}}}}, "crm_import.columns.phone: phone is a customer"),
    ({"crm_import": {"columns": {"a": {"field": "x"}, "b": {"field": "x"}}}}, "crm_import.columns.b.field: field"),
    ({"sources": [source(secret="x")]}, "sources[0].secret: Extra inputs are not permitted"),
])
def test_sources_file_mistakes_are_named(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        validate_config(SourcesFile, data, "sources.yaml")
    assert caught.value.message.startswith(f"sources.yaml: {message}"), caught.value.message


def test_json_paths_read_keys_indexes_and_every_item() -> None:
    data = {"a": {"b": [{"c": 1}, {"c": 2}, {"d": 3}]}, "x": None}
    assert parse_path("$.a.b[1].c") == ("a", "b", 1, "c")
    assert extract_path(data, parse_path("a.b[1].c")) == 2
    assert extract_path(data, parse_path("a.b[*].c")) == [1, 2]
    assert extract_path(data, parse_path("a.b[9].c")) is None and extract_path(data, parse_path("a.z")) is None
    assert extract_path(data, parse_path("x.y")) is None


@pytest.mark.parametrize(("value", "kind", "stored"), [
    ("1,234.50", "float", 1234.5), (12, "float", 12.0), ("7", "int", 7), (3.0, "int", 3), ("是", "bool", True),
    ("no", "bool", False), (True, "bool", True), ("2026-11-02T09:00:00+08:00", "date", "2026-11-02"),
    ("2026/11/02", "date", "2026-11-02"), ("a|b| ", "list", ["a", "b"]), ([1, "x"], "list", [1, "x"]),
    (42, "str", "42"), ("", "int", None), (None, "str", None),
])
def test_values_are_converted_to_their_type(value: Any, kind: Any, stored: Any) -> None:
    assert convert_value(value, kind) == stored


@pytest.mark.parametrize(("value", "kind"), [("12 apples", "float"), (True, "int"), ("2.5", "int"), ("maybe", "bool"),
                                             ("2026-13-01", "date"), ({"a": 1}, "str"), (3, "list"),
                                             (float("nan"), "float")])
def test_values_of_the_wrong_type_are_refused_without_echoing(value: Any, kind: Any) -> None:
    with pytest.raises(ValueError) as caught:
        convert_value(value, kind)
    assert str(value) not in str(caught.value)


def test_request_has_the_credentials_from_the_environment_and_an_encoded_ref() -> None:
    config = validate_config(SourcesFile, {"sources": [
        source(name="a", base_url_env="CRM_URL", url="/c/{customer_ref}?id={customer_id}",
               auth={"kind": "basic", "username_env": "U", "password_env": "P"}),
        source(name="b", auth={"kind": "header", "header": "X-Api-Key", "value_env": "K"})]}, "sources.yaml")
    env = {"CRM_URL": "https://crm.example/", "U": "user", "P": "pw", "K": "key"}
    url, headers, basic = build_request(config.sources[0], customer_ref="a/b c", customer_id="42", environ=env)
    assert url == "https://crm.example/c/a%2Fb%20c?id=42" and basic == ("user", "pw")
    assert "Authorization" not in headers
    _, headers, basic = build_request(config.sources[1], customer_ref="r", customer_id="i", environ=env)
    assert headers["X-Api-Key"] == "key" and basic is None
    with pytest.raises(FetchError, match="environment variable CRM_URL is not set"):
        build_request(config.sources[0], customer_ref="r", customer_id="i", environ={})


def test_only_mapped_fields_come_out_of_a_response() -> None:
    config = validate_config(SourcesFile, {"sources": [source(fields={
        "segment": {"path": "customer.segment"}, "loans": {"path": "loans", "type": "int"}})]}, "sources.yaml")
    response = {"customer": {"segment": "retail", "id_number": "110101199003071234"}, "other": [1, 2]}
    assert map_response(config.sources[0], response) == {"segment": "retail", "loans": None}


def test_a_request_that_cannot_be_built_is_a_failed_fetch_not_an_exception() -> None:
    from caredesk.profiles.source_fetch import fetch_source

    config = validate_config(SourcesFile, {"sources": [
        source(auth={"kind": "bearer", "token_env": "T"})]}, "sources.yaml")
    result = fetch_source(config.sources[0], customer_ref="r", customer_id="i", environ={"T": "tök\n"})
    assert (result.fields, result.error) == (None, "cannot build the request (UnicodeEncodeError)")
