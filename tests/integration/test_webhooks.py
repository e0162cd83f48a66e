"""Outgoing event webhooks end to end, against a real HTTP receiver (a local server thread): subscriptions
through the API, customer messages and work-order changes through the API, deliveries signed with the
subscription's secret, masked unless allowed, retried with backoff, a dead endpoint disabled with a notice to
the administrators, replays, and two senders on PostgreSQL never sending a delivery twice."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.http.app import create_app
from caredesk.intake.events import MessageReceived
from caredesk.integrations.webhooks.fanout import ActiveSubscriptions, from_message, publisher
from caredesk.integrations.webhooks.pruning import prune_deliveries
from caredesk.integrations.webhooks.sending import deliver_due
from caredesk.storage.orm import (
    AuditEntry,
    Notification,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, create_key
from tests.integration.alarm_helpers import demo_runtime_with
from tests.support.webhook_receiver import WebhookReceiver, webhook_receiver

SECRET = "whsec-test-0123456789abcdef"
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
PHONE = "13812345678"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as box:
        yield box


@pytest.fixture
def make_rt(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline
            ) -> Iterator[Callable[..., Runtime]]:
    with ExitStack() as stack:
        def build(**overrides: Any) -> Runtime:
            rt = stack.enter_context(demo_runtime_with(db_url, tmp_path / "var", mailbox, pipeline, **overrides))
            rt.clock = FrozenClock(T0)
            return rt

        yield build


def client(rt: Runtime, role: str = "admin") -> TestClient:
    c = TestClient(create_app(rt, start_consumer=False))
    c.headers["Authorization"] = f"Bearer {create_key(rt, role)}"
    return c


def subscribe(api: TestClient, url: str, events: list[str], **extra: Any) -> dict[str, Any]:
    r = api.post("/api/v1/webhooks", json={"url": url, "events": events, "secret": SECRET, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def post_message(api: TestClient, text: str, ref: str = "cust-hook") -> dict[str, Any]:
    r = api.post("/api/v1/messages", json={"text": text, "channel": "web", "customer_ref": ref})
    assert r.status_code == 201, r.text
    return dict(r.json())


def deliveries(api: TestClient, sub_id: str) -> list[dict[str, Any]]:
    r = api.get(f"/api/v1/webhooks/{sub_id}/deliveries")
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def test_webhook_message_received_is_signed_masked_and_logged(make_rt: Callable[..., Runtime],
                                                                receiver: WebhookReceiver) -> None:
    rt = make_rt()
    api = client(rt)
    sub = subscribe(api, receiver.url, ["message.received", "decision.made"])
    assert "secret" not in sub and sub["active"] is True and sub["events"] == ["message.received", "decision.made"]
    sent = post_message(api, f"How do I reset my online banking password? My phone is {PHONE}")
    hits = receiver.wait_for(2)
    received = receiver.of_type("message.received")[0]
    assert received.signed_with(SECRET) and not received.signed_with(SECRET + "x")
    body = received.json()
    assert set(body) == {"id", "type", "created_at", "data"} and body["type"] == "message.received"
    data = body["data"]
    assert (data["conversation_id"], data["channel"]) == (sent["conversation_id"], "web")
    assert data["message_id"] and PHONE not in received.body.decode() and "customer" not in data
    assert received.headers["x-caredesk-event"] == "message.received"
    decided = receiver.of_type("decision.made")[0].json()
    assert decided["data"]["decision"] == sent["decision"]["kind"]
    assert decided["data"]["message_id"] == data["message_id"]
    log = deliveries(api, sub["id"])
    assert {d["id"] for d in log} == {h.headers["x-caredesk-delivery"] for h in hits}
    assert all(d["status"] == "delivered" and d["attempts"] == 1 and d["response_code"] == 200
               and d["latency_ms"] is not None for d in log)
    assert {d["event_id"] for d in log} == {h.json()["id"] for h in hits}
    for path in ("/api/v1/webhooks", f"/api/v1/webhooks/{sub['id']}"):
        assert SECRET not in api.get(path).text
    with rt.session_factory() as s:  # the secret is encrypted at rest
        stored = s.execute(text("SELECT secret FROM webhook_subscription")).scalar()
        assert stored and SECRET not in stored
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "webhook.created"))


def test_webhook_personal_data_only_when_an_admin_allows_it(make_rt: Callable[..., Runtime],
                                                              receiver: WebhookReceiver) -> None:
    rt = make_rt()
    api = client(rt)
    sub = subscribe(api, receiver.url, ["message.received"])
    post_message(api, f"请帮我查一下账户，手机号 {PHONE}", ref="cust-pii")
    masked = receiver.wait_for(1)[0]
    assert PHONE not in masked.body.decode()
    r = api.patch(f"/api/v1/webhooks/{sub['id']}", json={"include_personal_data": True})
    assert r.status_code == 200 and r.json()["include_personal_data"] is True
    post_message(api, f"还是没收到短信，手机号 {PHONE}", ref="cust-pii")
    unmasked = receiver.wait_for(2)[1]
    assert unmasked.signed_with(SECRET)
    assert PHONE in unmasked.json()["data"]["text"]
    with rt.session_factory() as s:
        change = s.scalar(select(AuditEntry).where(AuditEntry.action == "webhook.changed"))
        assert change is not None and change.data["include_personal_data"] == {"from": False, "to": True}
        # stored events keep customer text only encrypted: the JSON data is the masked form
        assert all(PHONE not in str(e.data) for e in s.scalars(select(WebhookEvent)))
    # an agent may neither read nor change subscriptions
    agent = client(rt, "agent")
    assert agent.get("/api/v1/webhooks").status_code == 403
    assert agent.patch(f"/api/v1/webhooks/{sub['id']}", json={"include_personal_data": False}).status_code == 403


def test_webhook_work_order_events_follow_the_timeline(make_rt: Callable[..., Runtime],
                                                         receiver: WebhookReceiver) -> None:
    rt = make_rt()
    api = client(rt)
    subscribe(api, receiver.url, ["work_order.opened", "work_order.assigned", "work_order.resolved",
                                  "work_order.closed"])
    sent = post_message(api, "你们柜员态度太差了，我在浦东支行排队两个小时没人理，要求给个说法")
    assert sent["decision"]["kind"] == "work_order"
    order_id = sent["decision"]["work_order_id"]
    receiver.wait_for(1)
    types = [h.headers["x-caredesk-event"] for h in receiver.hits]
    assert types[0] == "work_order.opened"
    opened = receiver.hits[0].json()["data"]
    assert opened["work_order_id"] == order_id and opened["case_number"] == sent["decision"]["case_number"]
    r = api.post(f"/api/v1/work-orders/{order_id}/transitions", json={"status": "resolved", "note": "refunded"})
    assert r.status_code == 200, r.text
    resolved = receiver.of_type("work_order.resolved")
    assert len(resolved) == 1 and resolved[0].json()["data"]["status"] == "resolved"
    assert resolved[0].json()["data"]["timeline"]["to"] == "resolved"
    assert "refunded" not in resolved[0].body.decode()  # notes stay in CareDesk
    assert api.post(f"/api/v1/work-orders/{order_id}/close").status_code == 200
    [closed] = receiver.of_type("work_order.closed")
    assert closed.json()["data"]["work_order_id"] == order_id and closed.signed_with(SECRET)
    assert len({h.json()["id"] for h in receiver.hits}) == len(receiver.hits)  # one event id each


def test_webhook_retries_after_server_errors_with_backoff(make_rt: Callable[..., Runtime],
                                                          receiver: WebhookReceiver) -> None:
    rt = make_rt()
    api = client(rt)
    sub = subscribe(api, receiver.url, ["message.received"])
    receiver.statuses = [500, 503]
    post_message(api, "How do I activate my new debit card?")
    assert [h.status for h in receiver.wait_for(1)] == [500]
    [log] = deliveries(api, sub["id"])
    assert (log["status"], log["attempts"], log["response_code"]) == ("pending", 1, 500)
    assert datetime.fromisoformat(log["next_attempt_at"]) == T0 + timedelta(seconds=30)
    assert deliver_due(rt).outcomes == []  # not due yet
    assert isinstance(rt.clock, FrozenClock)
    rt.clock.advance(timedelta(seconds=31))
    assert deliver_due(rt).outcomes == ["retry"]
    [log] = deliveries(api, sub["id"])
    assert datetime.fromisoformat(log["next_attempt_at"]) == T0 + timedelta(seconds=31 + 60)  # doubled
    rt.clock.advance(timedelta(seconds=61))
    assert deliver_due(rt).outcomes == ["delivered"]
    hits = receiver.hits
    assert [h.status for h in hits] == [500, 503, 200]
    assert len({h.json()["id"] for h in hits}) == 1 and len({h.headers["x-caredesk-delivery"] for h in hits}) == 1
    assert all(h.signed_with(SECRET) for h in hits)
    [log] = deliveries(api, sub["id"])
    assert (log["status"], log["attempts"], log["last_error"]) == ("delivered", 3, None)
    with rt.session_factory() as s:
        assert s.get(WebhookSubscription, sub["id"]).consecutive_failures == 0  # type: ignore[union-attr]


def test_webhook_client_errors_are_tried_a_few_times_only(make_rt: Callable[..., Runtime],
                                                          receiver: WebhookReceiver) -> None:
    rt = make_rt(webhooks_client_error_attempts=2)
    api = client(rt)
    sub = subscribe(api, receiver.url, ["message.received"])
    receiver.always = 400
    post_message(api, "How do I activate my new debit card?")
    assert isinstance(rt.clock, FrozenClock)
    rt.clock.advance(timedelta(minutes=5))
    assert deliver_due(rt).outcomes == ["give_up"]
    rt.clock.advance(timedelta(hours=2))
    assert deliver_due(rt).outcomes == []
    [log] = deliveries(api, sub["id"])
    assert (log["status"], log["attempts"], log["response_code"]) == ("failed", 2, 400)


def test_webhook_timeout_is_retried(make_rt: Callable[..., Runtime], receiver: WebhookReceiver) -> None:
    rt = make_rt(webhooks_timeout_seconds=0.3)
    api = client(rt)
    sub = subscribe(api, receiver.url, ["message.received"])
    receiver.delay = 1.0
    post_message(api, "How do I activate my new debit card?")
    [log] = deliveries(api, sub["id"])
    assert (log["status"], log["response_code"]) == ("pending", None)
    assert log["last_error"].startswith("timeout") and log["latency_ms"] >= 250


def test_webhook_dead_endpoint_is_disabled_with_a_notice(make_rt: Callable[..., Runtime],
                                                         receiver: WebhookReceiver, mailbox: Mailbox) -> None:
    rt = make_rt(webhooks_disable_after_failures=3, webhooks_disable_after_hours=1, webhooks_backoff_seconds=1200)
    api = client(rt)
    sub = subscribe(api, receiver.url, ["*"])
    receiver.always = 502
    post_message(api, "How do I activate my new debit card?", ref="cust-dead")
    first = len(receiver.hits)
    assert first >= 1
    clock = rt.clock
    assert isinstance(clock, FrozenClock)
    while True:  # the failures go on; once 3 in a row span an hour, the endpoint is disabled
        clock.advance(timedelta(minutes=30))
        deliver_due(rt)
        with rt.session_factory() as s:
            row = s.get(WebhookSubscription, sub["id"])
            assert row is not None
            if not row.active:
                break
        assert clock.now() - T0 < timedelta(hours=6), "never disabled"
    assert clock.now() - T0 >= timedelta(hours=1)
    got = api.get(f"/api/v1/webhooks/{sub['id']}").json()
    assert got["active"] is False and "in a row" in got["disabled_reason"]
    with rt.session_factory() as s:
        notices = list(s.scalars(select(Notification).where(Notification.kind == "webhook_disabled")))
        assert notices and all(sub["id"] in n.link for n in notices)
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "webhook.disabled"))
    mail = [m for m in mailbox.wait_for(1) if "Webhook endpoint disabled" in str(m["Subject"])]
    assert mail and "admin@demo-bank.example" in str(mail[0]["To"])
    # nothing more goes to a disabled endpoint; new events make no deliveries for it
    tried = len(receiver.hits)
    post_message(api, "And what is the daily ATM withdrawal limit?", ref="cust-dead")
    clock.advance(timedelta(hours=3))
    deliver_due(rt)
    assert len(receiver.hits) == tried
    # enabled again: the waiting deliveries go out
    receiver.always = 200
    r = api.patch(f"/api/v1/webhooks/{sub['id']}", json={"active": True})
    assert r.status_code == 200 and r.json()["consecutive_failures"] == 0
    assert any(h.status == 200 for h in receiver.hits[tried:])


def test_webhook_gone_disables_at_once(make_rt: Callable[..., Runtime], receiver: WebhookReceiver) -> None:
    rt = make_rt()
    api = client(rt)
    sub = subscribe(api, receiver.url, ["message.received"])
    receiver.statuses = [410]
    post_message(api, "How do I activate my new debit card?")
    got = api.get(f"/api/v1/webhooks/{sub['id']}").json()
    assert got["active"] is False and "410" in got["disabled_reason"]
    [log] = deliveries(api, sub["id"])
    assert (log["status"], log["response_code"]) == ("failed", 410)


def test_webhook_replay_sends_the_same_event_again(make_rt: Callable[..., Runtime],
                                                   receiver: WebhookReceiver) -> None:
    rt = make_rt()
    api = client(rt)
    sub = subscribe(api, receiver.url, ["message.received"])
    post_message(api, "How do I activate my new debit card?")
    [first] = receiver.wait_for(1)
    [log] = deliveries(api, sub["id"])
    r = api.post(f"/api/v1/webhooks/{sub['id']}/deliveries/{log['id']}/replay")
    assert r.status_code == 202, r.text
    second = receiver.wait_for(2)[1]
    assert second.json() == first.json() and second.signed_with(SECRET)
    assert second.headers["x-caredesk-delivery"] == log["id"]
    [log] = deliveries(api, sub["id"])
    assert (log["status"], log["replays"], log["attempts"]) == ("delivered", 1, 1)
    assert api.post(f"/api/v1/webhooks/{sub['id']}/deliveries/nope/replay").status_code == 404
    with rt.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "webhook.replayed"))


def test_webhook_fan_out_twice_makes_no_second_delivery(make_rt: Callable[..., Runtime],
                                                        receiver: WebhookReceiver) -> None:
    rt = make_rt()
    api = client(rt)
    subscribe(api, receiver.url, ["message.received"])
    sent = post_message(api, "How do I activate my new debit card?")
    receiver.wait_for(1)
    with rt.session_factory() as s:
        message_id = s.scalar(select(WebhookDelivery.event_id))
        assert message_id
    # the relay delivering the source event a second time
    again = publisher(rt, from_message, ActiveSubscriptions(timedelta(0)))
    event = MessageReceived(sent["conversation_id"], receiver.hits[0].json()["data"]["message_id"],
                            sent["decision"]["kind"], False, "general")
    again(event)
    again(event)
    deliver_due(rt)
    assert len(receiver.hits) == 1
    with rt.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(WebhookDelivery)) == 1


def test_a_site_without_subscriptions_looks_again_after_the_freshness_window(
        make_rt: Callable[..., Runtime], receiver: WebhookReceiver) -> None:
    """No subscription: a process remembers that for webhook_freshness_seconds, so a subscription added just
    after misses the events of that window (documented), and gets those after it."""
    rt = make_rt(webhook_freshness_seconds=2)
    api = client(rt)
    post_message(api, "How do I activate my new debit card?")  # none active: remembered as of T0
    sub = subscribe(api, receiver.url, ["message.received"])
    rt.clock = FrozenClock(T0 + timedelta(seconds=1))
    post_message(api, "Where can I see my card's PIN?", ref="cust-hook-2")  # within the window: not published
    rt.clock = FrozenClock(T0 + timedelta(seconds=3))
    third = post_message(api, "How do I order a new card?", ref="cust-hook-3")
    receiver.wait_for(1)
    assert [h.json()["data"]["conversation_id"] for h in receiver.hits] == [third["conversation_id"]]
    assert len(deliveries(api, sub["id"])) == 1


def test_webhook_log_pruned_after_retention_but_pending_deliveries_stay(make_rt: Callable[..., Runtime],
                                                                        receiver: WebhookReceiver) -> None:
    rt = make_rt()
    api = client(rt)
    sub = subscribe(api, receiver.url, ["message.received"])
    post_message(api, "How do I activate my new debit card?")
    receiver.always = 503
    post_message(api, "And what is the daily ATM withdrawal limit?")
    assert sorted(d["status"] for d in deliveries(api, sub["id"])) == ["delivered", "pending"]
    with rt.uow() as uow:
        assert prune_deliveries(uow.session, now=T0 + timedelta(days=29), keep=timedelta(days=30)) == (0, 0)
        assert prune_deliveries(uow.session, now=T0 + timedelta(days=31), keep=timedelta(days=30)) == (1, 1)
        uow.commit()
    [left] = deliveries(api, sub["id"])
    assert left["status"] == "pending"
    with rt.session_factory() as s:
        assert [e.id for e in s.scalars(select(WebhookEvent))] == [left["event_id"]]


def test_webhook_bad_input_is_refused_with_stable_codes(make_rt: Callable[..., Runtime]) -> None:
    rt = make_rt()
    api = client(rt)
    cases = [({"url": "https://crm.example/hook", "events": ["order.shipped"], "secret": SECRET},
              "unknown_event_type"),
             ({"url": "https://crm.example/hook", "events": [], "secret": SECRET}, "unknown_event_type"),
             ({"url": "ftp://crm.example/hook", "events": ["*"], "secret": SECRET}, "invalid_webhook_url"),
             ({"url": "https://user:pw@crm.example/hook", "events": ["*"], "secret": SECRET}, "invalid_webhook_url"),
             ({"url": "not a url", "events": ["*"], "secret": SECRET}, "invalid_webhook_url"),
             ({"url": "https://crm.example/hook", "events": ["*"], "secret": "short"}, "invalid_webhook_secret")]
    for body, code in cases:
        r = api.post("/api/v1/webhooks", json=body)
        assert (r.status_code, r.json()["code"]) == (400, code), (body, r.text)
    with rt.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(WebhookSubscription)) == 0
    ok = subscribe(api, "http://10.1.2.3:8080/hook", ["*"])  # internal receivers are normal on-premises
    r = api.patch(f"/api/v1/webhooks/{ok['id']}", json={"events": ["nope"], "url": "https://crm.example/h"})
    assert (r.status_code, r.json()["code"]) == (400, "unknown_event_type")
    assert api.get(f"/api/v1/webhooks/{ok['id']}").json()["url"] == "http://10.1.2.3:8080/hook"  # unchanged
    assert api.delete(f"/api/v1/webhooks/{ok['id']}").status_code == 204
    assert api.get(f"/api/v1/webhooks/{ok['id']}").status_code == 404


def test_webhook_private_addresses_refused_when_the_site_says_so(make_rt: Callable[..., Runtime]) -> None:
    rt = make_rt(webhooks_refuse_private_addresses=True)
    api = client(rt)
    for url in ("http://127.0.0.1:9/hook", "http://10.0.0.5/hook", "http://[::1]/hook", "http://localhost/h"):
        r = api.post("/api/v1/webhooks", json={"url": url, "events": ["*"], "secret": SECRET})
        assert (r.status_code, r.json()["code"]) == (400, "invalid_webhook_url"), url


# Row locking (FOR UPDATE SKIP LOCKED) is PostgreSQL's; SQLite has one writer at a time.
ON_POSTGRES = pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                                      indirect=True)


@ON_POSTGRES
def test_webhook_two_senders_on_postgres_never_send_a_delivery_twice(make_rt: Callable[..., Runtime],
                                                                     receiver: WebhookReceiver) -> None:
    rt = make_rt()
    assert rt.engine.dialect.name == "postgresql"
    api = client(rt)
    sub = subscribe(api, receiver.url, ["*"])
    receiver.always = 503  # the messages' own sends fail: everything waits for the senders below
    for n in range(6):
        post_message(api, f"How do I activate my new debit card number {n}?", ref=f"cust-{n}")
    with rt.session_factory() as s:
        pending = s.scalar(select(func.count()).select_from(WebhookDelivery)
                           .where(WebhookDelivery.status == "pending"))
    assert pending and pending >= 12
    receiver.hits.clear()
    receiver.always = 200
    receiver.delay = 0.05
    assert isinstance(rt.clock, FrozenClock)
    rt.clock.advance(timedelta(hours=1))
    start = threading.Barrier(2)
    reports = []

    def sender() -> None:
        start.wait()
        reports.append(deliver_due(rt))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    ids = [h.headers["x-caredesk-delivery"] for h in receiver.hits]
    assert len(ids) == len(set(ids)) == pending  # each once, none twice
    assert all(r.delivered for r in reports)  # both senders took a share
    assert {d["status"] for d in deliveries(api, sub["id"])} == {"delivered"}
