"""The connectors' pure parts: the file (the shipped one valid with nothing enabled; mistakes named by file, line
and field), recognising a status question in Chinese and English, the circuit breaker's states with the clock
passed in, and the CRM update's body."""

from __future__ import annotations

from pathlib import Path

import pytest

from caredesk.errors import InvalidConfig
from caredesk.integrations.connectors.breaker import MemoryBreakers, state_of
from caredesk.integrations.connectors.config import BreakerSpec, load_connectors
from caredesk.integrations.connectors.crm import update_body
from caredesk.integrations.connectors.questions import StatusQuestion, status_question
from tests.support.connector_server import connectors_yaml


def test_connectors_shipped_file_is_valid_with_nothing_enabled() -> None:
    config = load_connectors()
    assert {c.kind for c in config.connectors} == {"crm", "orders", "logistics"}
    assert all(config.enabled(kind) is None for kind in ("crm", "orders", "logistics"))
    assert config.missing_env({}) == []  # nothing enabled reads anything


def test_connectors_test_file_loads_each_kind(tmp_path: Path) -> None:
    path = tmp_path / "connectors.yaml"
    path.write_text(connectors_yaml(), encoding="utf-8")
    config = load_connectors(path)
    orders = config.enabled("orders")
    assert orders is not None and orders.operation("status") is not None and orders.operation("update") is None
    assert orders.label("SHIPPED", "zh") == "已发货" and orders.label("SHIPPED", "en") == "shipped"
    assert orders.label("LOST", "en") == "LOST"  # an unlabelled code is shown as the system gave it
    assert sorted(config.missing_env({"CONN_URL": "http://x"})) == [
        ("crm", "CONN_CRM_TOKEN"), ("parcels", "CONN_LOG_PASSWORD"), ("parcels", "CONN_LOG_USER"),
        ("shop", "CONN_ORDERS_KEY")]


@pytest.mark.parametrize(("old", "new", "at", "field", "words"), [
    ("url: /orders/{order_number}", "url: /orders/{order_no}", "/orders/{order_no}",
     "connectors[1].operations.status.url", "unknown placeholder(s) ['order_no']; only {order_number}"),
    ("url: /orders/{order_number}", "url: /orders/all", "/orders/all", "connectors[1].operations.status.url",
     "must contain {order_number}"),
    ("          status: {path: order.status}\n", "", "updated_at: {path: order.updated_at}",
     "connectors[1].operations.status.fields", "map the field 'status'"),
    ("timeout_seconds: 2.0\n    retries: 1\n    breaker: {failures: 3, window_seconds: 60, cooldown_seconds: 30}\n"
     "    operations:\n      status:\n        url: /orders", "timeout_seconds: 2.0\n    retries: 9\n    breaker: "
     "{failures: 3, window_seconds: 60, cooldown_seconds: 30}\n    operations:\n      status:\n        url: /orders",
     "retries: 9", "connectors[1].retries", "less than or equal to 3"),
    ("kind: orders", "kind: erp", "kind: erp", "connectors[1].kind", "'crm', 'orders' or 'logistics'"),
    ("      update:\n", "      statuss:\n", "statuss:", "connectors[0].operations.statuss", "Extra inputs"),
    ("      update:\n", "      status:\n", "status:", "connectors[0].operations.status",
     "a crm connector has no operation 'status'"),
    ("token_env: CONN_CRM_TOKEN", "token_env: crm-token-in-the-file", "crm-token-in-the-file",
     "connectors[0].auth.token_env", "should match pattern"),
    ("          complaint: flags.complaint", "          mood: flags.mood", "mood: flags.mood",
     "connectors[0].operations.update.body", "unknown value 'mood'"),
    ("          tier: {path: data.level}", "          tier: {path: data.level}\n          id_number: {path: data.id}",
     "name: {path: data.name}", "connectors[0].operations.lookup_by_ref.fields", "a CRM lookup maps only"),
    ("VIP: private", "VIP: diamond", "VIP: diamond", "connectors[0].tiers", "'diamond' is not a tier"),
])
def test_connectors_file_mistake_names_file_line_and_field(tmp_path: Path, old: str, new: str, at: str,
                                                           field: str, words: str) -> None:
    text = connectors_yaml()
    assert old in text
    text = text.replace(old, new, 1)
    path = tmp_path / "connectors.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidConfig) as err:
        load_connectors(path)
    assert (err.value.file, err.value.path) == (str(path), field), err.value.message
    assert words in err.value.reason
    line = next(n for n, content in enumerate(text.splitlines(), 1) if at in content)
    assert err.value.line is not None and abs(err.value.line - line) <= 1, (err.value.message, line)


def test_connectors_two_enabled_of_one_kind_are_refused(tmp_path: Path) -> None:
    text = connectors_yaml().replace("  - name: parcels\n    kind: logistics", "  - name: parcels\n    kind: orders")
    path = tmp_path / "connectors.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidConfig) as err:
        load_connectors(path)
    assert err.value.path == "connectors[2].enabled" and "another orders connector" in err.value.reason


@pytest.mark.parametrize(("text", "expected"), [
    ("我的订单 123456 到哪了", StatusQuestion("orders", "123456")),
    ("where is my order 123456", StatusQuestion("orders", "123456")),
    ("Order number: A2026-88 status?", StatusQuestion("orders", "A2026-88")),
    ("订单号：202612010000123456 什么时候发货", StatusQuestion("orders", "202612010000123456")),
    ("快递单号 SF1234567890 到哪了", StatusQuestion("logistics", "SF1234567890")),
    ("sf1234567890 还没到，物流怎么样", StatusQuestion("logistics", "SF1234567890")),
    ("tracking number JD0012345678901, where is it?", StatusQuestion("logistics", "JD0012345678901")),
    ("订单 123456 的快递 YT9876543210 到哪了", StatusQuestion("logistics", "YT9876543210")),
])
def test_status_question_finds_the_number_and_its_kind(text: str, expected: StatusQuestion) -> None:
    assert status_question(text) == expected


@pytest.mark.parametrize("text", [
    "订单 123456 我要退款",  # a number, but no status question: a person handles the refund
    "where is my order?",  # no number: nothing to look up
    "我的信用卡到哪了",
    "my order number is ABCDEF, where is it",  # no digit: not an order number
    "到哪了" + "很长的投诉" * 200 + "订单 123456",
])
def test_status_question_ignores_other_messages(text: str) -> None:
    assert status_question(text) is None


SPEC = BreakerSpec(failures=3, window_seconds=60, cooldown_seconds=30)


def test_breaker_opens_after_failures_in_the_window_and_probes_after_the_cooldown() -> None:
    b = MemoryBreakers()
    b.failure("shop", SPEC, 0)
    b.failure("shop", SPEC, 10)
    assert b.state("shop", SPEC, 10) == "closed" and b.allow("shop", SPEC, 10)
    b.failure("shop", SPEC, 20)
    assert b.state("shop", SPEC, 20) == "open" and not b.allow("shop", SPEC, 49.9)
    assert b.state("shop", SPEC, 50) == "half_open"
    assert b.allow("shop", SPEC, 50)  # the one probe
    assert not b.allow("shop", SPEC, 51)  # others wait for its answer
    b.success("shop", SPEC, 52)
    assert b.state("shop", SPEC, 52) == "closed" and b.allow("shop", SPEC, 52)
    assert b.state("parcels", SPEC, 52) == "closed"  # one breaker per connector


def test_breaker_forgets_failures_outside_the_window_and_reopens_on_a_failed_probe() -> None:
    b = MemoryBreakers()
    for t in (0, 30, 61, 91):  # never three within 60 s
        b.failure("shop", SPEC, t)
    assert b.state("shop", SPEC, 91) == "closed"
    b.failure("shop", SPEC, 100)
    assert b.state("shop", SPEC, 100) == "open"
    assert b.allow("shop", SPEC, 130)
    b.failure("shop", SPEC, 131)  # the probe failed: open for another cool-down from now
    assert b.state("shop", SPEC, 160) == "open" and b.state("shop", SPEC, 161) == "half_open"
    assert b.allow("shop", SPEC, 161)


def test_breaker_replaces_a_probe_that_never_answered() -> None:
    b = MemoryBreakers()
    for t in (0, 1, 2):
        b.failure("shop", SPEC, t)
    assert b.allow("shop", SPEC, 40) and not b.allow("shop", SPEC, 60)
    assert b.allow("shop", SPEC, 70)  # the first probe's process died: another goes after a further cool-down


def test_breaker_state_rule_is_pure() -> None:
    assert state_of(None, SPEC, 5) == "closed"
    assert state_of(100, SPEC, 129.9) == "open"
    assert state_of(100, SPEC, 130) == "half_open"


def test_update_body_puts_each_value_at_its_path() -> None:
    body = update_body({"complaint": "flags.complaint", "complaint_level": "flags.level", "case_number": "case"},
                       {"complaint": True, "complaint_level": 3, "case_number": "WO-1"})
    assert body == {"flags": {"complaint": True, "level": 3}, "case": "WO-1"}
