"""The webhook rules that need no database: event types, timeline mapping, the signature, retry and disabling."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from caredesk.integrations.webhooks.catalog import (
    EVENT_TYPES,
    UnknownEventType,
    event_id,
    milestone_type,
    normalize_events,
    wants,
)
from caredesk.integrations.webhooks.policy import Outcome, RetryPolicy, backoff, judge, should_disable
from caredesk.integrations.webhooks.signing import signature_header, verify
from caredesk.integrations.webhooks.urls import InvalidWebhookUrl, check_url

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
POLICY = RetryPolicy(max_attempts=5, client_error_attempts=2, backoff_seconds=30, backoff_cap_seconds=300,
                     disable_after_failures=4, disable_after=timedelta(hours=2))


def test_catalog_keeps_the_public_names() -> None:
    assert EVENT_TYPES == ("message.received", "decision.made", "work_order.opened", "work_order.assigned",
                           "work_order.transferred", "work_order.resolved", "work_order.closed", "sla.warning",
                           "sla.breached", "alarm.raised", "alarm.acknowledged", "emergency.started",
                           "survey.answered")


def test_normalize_events_orders_dedupes_and_refuses_unknown() -> None:
    assert normalize_events(["sla.warning", "message.received", "sla.warning"]) == ["message.received",
                                                                                    "sla.warning"]
    assert normalize_events(["*", "sla.warning"]) == ["*"]
    with pytest.raises(UnknownEventType) as err:
        normalize_events(["message.received", "order.shipped"])
    assert err.value.code == "unknown_event_type" and err.value.details["unknown"] == ["order.shipped"]
    with pytest.raises(UnknownEventType):
        normalize_events([])
    assert wants(["*"], "sla.breached") and wants(["sla.breached"], "sla.breached")
    assert not wants(["sla.warning"], "sla.breached")


@pytest.mark.parametrize(("kind", "data", "expected"), [
    ("created", {}, "work_order.opened"), ("assigned", {}, "work_order.assigned"),
    ("transferred", {}, "work_order.transferred"), ("status_changed", {"to": "resolved"}, "work_order.resolved"),
    ("status_changed", {"to": "closed"}, "work_order.closed"), ("status_changed", {"to": "in_progress"}, None),
    ("sla_warning", {}, "sla.warning"), ("sla_breached", {}, "sla.breached"),
    ("emergency_started", {}, "emergency.started"), ("survey_answered", {}, "survey.answered"),
    ("note", {}, None)])
def test_milestone_type_maps_timeline_kinds(kind: str, data: dict[str, str], expected: str | None) -> None:
    assert milestone_type(kind, data) == expected


def test_milestone_kinds_recorded_by_workorders_cover_every_mapping() -> None:
    from caredesk.workorders.events import MILESTONE_KINDS

    mapped = {k for k in MILESTONE_KINDS if milestone_type(k, {"to": "resolved"}) is not None}
    assert mapped == MILESTONE_KINDS


def test_event_id_is_stable_per_source() -> None:
    assert event_id("message.received", "m1") == event_id("message.received", "m1")
    assert event_id("message.received", "m1") != event_id("decision.made", "m1")
    assert len(event_id("x", "y")) == 32


def test_signature_matches_an_independent_hmac_and_verifies() -> None:
    body = b'{"id":"evt1","type":"sla.warning"}'
    header = signature_header("s3cret-s3cret-s3cret", 1765072800, body)
    expected = hmac.new(b"s3cret-s3cret-s3cret", b"1765072800." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1765072800,v1={expected}"
    assert verify("s3cret-s3cret-s3cret", header, body, now=1765072800 + 10)
    assert not verify("s3cret-s3cret-s3cret", header, body + b" ", now=1765072800)
    assert not verify("other-secret-other", header, body, now=1765072800)
    assert not verify("s3cret-s3cret-s3cret", header, body, now=1765072800 + 301)  # stale: a replayed request
    assert not verify("s3cret-s3cret-s3cret", "v1=abc", body, now=1765072800)


def test_backoff_is_exponential_and_capped() -> None:
    assert [backoff(POLICY, n).total_seconds() for n in range(1, 6)] == [30, 60, 120, 240, 300]
    assert backoff(POLICY, 500).total_seconds() == 300


@pytest.mark.parametrize(("status", "attempts", "outcome"), [
    (200, 1, Outcome.DELIVERED), (204, 9, Outcome.DELIVERED), (410, 1, Outcome.GONE),
    (500, 1, Outcome.RETRY), (503, 4, Outcome.RETRY), (503, 5, Outcome.GIVE_UP), (None, 1, Outcome.RETRY),
    (408, 3, Outcome.RETRY), (429, 3, Outcome.RETRY), (400, 1, Outcome.RETRY), (400, 2, Outcome.GIVE_UP),
    (404, 2, Outcome.GIVE_UP), (301, 2, Outcome.GIVE_UP)])
def test_judge_retries_what_may_pass_later(status: int | None, attempts: int, outcome: Outcome) -> None:
    verdict = judge(POLICY, status, attempts, now=NOW)
    assert verdict.outcome is outcome
    assert (verdict.next_attempt_at is not None) == (outcome is Outcome.RETRY)
    if outcome is Outcome.RETRY:
        assert verdict.next_attempt_at == NOW + backoff(POLICY, attempts)


def test_should_disable_needs_both_count_and_time() -> None:
    assert not should_disable(POLICY, 3, NOW - timedelta(hours=5), now=NOW)
    assert not should_disable(POLICY, 50, NOW - timedelta(minutes=30), now=NOW)  # a burst: a restart
    assert should_disable(POLICY, 4, NOW - timedelta(hours=2), now=NOW)
    assert not should_disable(POLICY, 4, None, now=NOW)


@pytest.mark.parametrize("url", ["ftp://x.example/h", "https:///nohost", "https://u:p@x.example/h", "x.example/h",
                                 "https://x.example/a b", "https://x.example:99999/h"])
def test_check_url_refuses(url: str) -> None:
    with pytest.raises(InvalidWebhookUrl):
        check_url(url, refuse_private=False)


def test_check_url_private_addresses_only_when_asked() -> None:
    assert check_url(" http://192.168.1.20:8080/hook ", refuse_private=False) == "http://192.168.1.20:8080/hook"
    for url in ("http://192.168.1.20/h", "http://127.0.0.1/h", "http://[fe80::1]/h", "http://169.254.169.254/"):
        with pytest.raises(InvalidWebhookUrl):
            check_url(url, refuse_private=True)
    assert check_url("https://203.0.113.9/h", refuse_private=False)
