"""Outside customer sources against a real HTTP server (tests/support/source_server.py) on SQLite and PostgreSQL:
only the mapped fields are stored, the credentials are sent, the cache lifetime holds (clock passed in), a failing
or slow source leaves the record stale or failed with a reason free of customer data, and neither a profile read
nor intake waits for a source: both only queue the fetch."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.clock import FrozenClock
from caredesk.profiles.source_fetch import refresh_customer_sources
from caredesk.profiles.source_status import request_refresh, source_statuses
from caredesk.profiles.sources import SourcesFile, load_sources
from caredesk.storage.orm import Customer, CustomerSourceRecord
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, _clean, create_key, free_port, make_settings
from tests.support.source_server import SourceServer, source_server

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ENV = {"SRC_TOKEN": "t0ken-for-tests", "LOY_KEY": "loyalty-key"}
MAPPED = {"crm_segment", "customer_since", "products", "open_loans", "balance"}


def sources_file(tmp_path: Path, url: str, *, crm_path: str = "records", timeout: float = 0.5,
                 auth: str = "{kind: bearer, token_env: SRC_TOKEN}") -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(f"""
sources:
  - name: crm
    url: {url}/{crm_path}/{{customer_ref}}
    auth: {auth}
    fields:
      crm_segment: {{path: customer.segment, type: str}}
      customer_since: {{path: customer.opened_on, type: date}}
      products: {{path: "products[*].code", type: list}}
      open_loans: {{path: summary.open_loans, type: int}}
      balance: {{path: $.summary.balance, type: float}}
    timeout_seconds: {timeout}
    ttl_seconds: 600
    retry_seconds: 60
  - name: loyalty
    enabled: false
    url: {url}/records/{{customer_id}}
    fields: {{points: {{path: points, type: int}}}}
crm_import:
  columns: {{segment: {{field: crm_segment}}}}
""", encoding="utf-8")
    return path


@dataclass
class Deps:
    """The fetch's dependencies as the runtime gives them, with a clock the test moves."""

    rt: Runtime
    clock: FrozenClock
    customer_sources: SourcesFile

    @property
    def session_factory(self) -> Any:
        return self.rt.session_factory

    def uow(self) -> UnitOfWork:
        return self.rt.uow()


@pytest.fixture
def runtime(db_url: str, tmp_path: Path, mailbox: Mailbox) -> Iterator[Runtime]:
    """The runtime without a triage model: a fetch triages nothing (only the intake test needs the model)."""
    rt = build_runtime(make_settings(db_url, tmp_path / "var", mailbox))
    yield rt
    _clean(rt)
    rt.engine.dispose()


@pytest.fixture(scope="module")
def server() -> Iterator[SourceServer]:
    with source_server(free_port()) as state:
        yield state


@pytest.fixture
def src(server: SourceServer) -> SourceServer:
    server.reset()
    return server


def add_customer(rt: Runtime, ref: str = "C-100") -> str:
    with rt.uow() as uow:
        customer = Customer(ref=ref, tier="gold")
        uow.session.add(customer)
        uow.session.flush()
        customer_id = customer.id
        uow.commit()
    return customer_id


def record(rt: Runtime, customer_id: str, source: str = "crm") -> CustomerSourceRecord | None:
    with rt.session_factory() as s:
        return s.scalar(select(CustomerSourceRecord).where(CustomerSourceRecord.customer_id == customer_id,
                                                           CustomerSourceRecord.source == source))


def deps_for(runtime: Runtime, path: Path) -> Deps:
    return Deps(runtime, FrozenClock(T0), load_sources(path))


def test_source_fetch_keeps_only_mapped_fields_and_sends_the_token(runtime: Runtime, src: SourceServer,
                                                                   tmp_path: Path) -> None:
    deps = deps_for(runtime, sources_file(tmp_path, src.url))
    customer_id = add_customer(runtime)
    with runtime.uow() as uow:  # what a source since taken out of the file had said
        uow.session.add(CustomerSourceRecord(customer_id=customer_id, source="old_crm", fields={"x": 1},
                                             status="ok", fetched_at=T0, updated_at=T0))
        uow.commit()
    assert refresh_customer_sources(deps, customer_id, environ=ENV) == {"crm": "ok"}  # loyalty is disabled
    (path, headers), = src.seen()
    assert path == "/records/C-100" and headers["authorization"] == "Bearer t0ken-for-tests"
    row = record(runtime, customer_id)
    assert row is not None and row.status == "ok" and row.error is None
    assert row.fields == {"crm_segment": "wealth", "customer_since": "2015-03-01",
                          "products": ["mortgage", "credit_card"], "open_loans": 2, "balance": 1523.5}
    assert "110101199003071234" not in str(row.fields) and "mornings" not in str(row.fields)
    assert record(runtime, customer_id, "loyalty") is None and record(runtime, customer_id, "old_crm") is None


def test_source_cache_lifetime_is_respected(runtime: Runtime, src: SourceServer, tmp_path: Path) -> None:
    deps = deps_for(runtime, sources_file(tmp_path, src.url))
    customer_id = add_customer(runtime)
    refresh_customer_sources(deps, customer_id, environ=ENV)
    deps.clock.advance(timedelta(seconds=599))
    assert refresh_customer_sources(deps, customer_id, environ=ENV) == {}  # still fresh: not asked again
    assert len(src.seen()) == 1
    deps.clock.advance(timedelta(seconds=2))
    assert refresh_customer_sources(deps, customer_id, environ=ENV) == {"crm": "ok"}
    assert len(src.seen()) == 2
    row = record(runtime, customer_id)
    assert row is not None and row.fetched_at is not None
    assert row.fetched_at.replace(tzinfo=UTC) == T0 + timedelta(seconds=601)


def test_source_failure_is_failed_without_data_then_stale_keeping_it(runtime: Runtime, src: SourceServer,
                                                                      tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    deps = deps_for(runtime, sources_file(tmp_path, src.url))
    customer_id = add_customer(runtime)
    src.failing = True
    with caplog.at_level(logging.WARNING):
        assert refresh_customer_sources(deps, customer_id, environ=ENV) == {"crm": "failed"}
    row = record(runtime, customer_id)
    assert row is not None and (row.status, row.error, row.fields, row.fetched_at) == ("failed", "HTTP 500", {},
                                                                                        None)
    # not asked again before the retry delay; then it answers
    src.failing = False
    deps.clock.advance(timedelta(seconds=30))
    assert refresh_customer_sources(deps, customer_id, environ=ENV) == {}
    deps.clock.advance(timedelta(seconds=31))
    assert refresh_customer_sources(deps, customer_id, environ=ENV) == {"crm": "ok"}
    good = record(runtime, customer_id)
    assert good is not None and good.fields["crm_segment"] == "wealth"
    # past the cache lifetime the source fails again: the fields fetched before stay, marked stale
    src.failing = True
    deps.clock.advance(timedelta(seconds=601))
    with caplog.at_level(logging.WARNING):
        assert refresh_customer_sources(deps, customer_id, environ=ENV) == {"crm": "stale"}
    stale = record(runtime, customer_id)
    assert stale is not None and stale.status == "stale" and stale.error == "HTTP 500"
    assert stale.fields == good.fields and stale.fetched_at == good.fetched_at
    assert "C-100" not in caplog.text and "customer source crm failed: HTTP 500" in caplog.text


def test_source_with_wrong_types_fails_naming_the_field_not_the_value(runtime: Runtime, src: SourceServer,
                                                                      tmp_path: Path) -> None:
    deps = deps_for(runtime, sources_file(tmp_path, src.url, crm_path="broken"))
    customer_id = add_customer(runtime)
    assert refresh_customer_sources(deps, customer_id, environ=ENV) == {"crm": "failed"}
    row = record(runtime, customer_id)
    assert row is not None and row.error == "field crm_segment (customer.segment): not a text or a number"


def test_source_without_its_credential_fails_before_any_request(runtime: Runtime, src: SourceServer,
                                                                tmp_path: Path) -> None:
    deps = deps_for(runtime, sources_file(tmp_path, src.url))
    customer_id = add_customer(runtime)
    assert refresh_customer_sources(deps, customer_id, environ={}) == {"crm": "failed"}
    row = record(runtime, customer_id)
    assert row is not None and row.error == "environment variable SRC_TOKEN is not set"
    assert src.seen() == []


def test_source_unknown_customer_is_an_empty_answer(runtime: Runtime, src: SourceServer, tmp_path: Path) -> None:
    deps = deps_for(runtime, sources_file(tmp_path, src.url, auth="{kind: header, header: X-Api-Key, "
                                                                 "value_env: LOY_KEY}"))
    customer_id = add_customer(runtime, "C-404")
    assert refresh_customer_sources(deps, customer_id, environ=ENV) == {"crm": "ok"}
    (_, headers), = src.seen()
    assert headers["x-api-key"] == "loyalty-key" and "authorization" not in headers
    row = record(runtime, customer_id)
    assert row is not None and row.fields == dict.fromkeys(MAPPED)


def test_slow_source_times_out_as_failed(runtime: Runtime, src: SourceServer, tmp_path: Path) -> None:
    deps = deps_for(runtime, sources_file(tmp_path, src.url, crm_path="slow", timeout=0.5))
    customer_id = add_customer(runtime)
    started = time.monotonic()
    assert refresh_customer_sources(deps, customer_id, environ=ENV) == {"crm": "failed"}
    assert time.monotonic() - started < src.slow_seconds
    row = record(runtime, customer_id)
    assert row is not None and row.error == "no answer within 0.5 s" and row.fields == {}


def test_source_statuses_list_pending_ok_stale_and_the_crm_import(runtime: Runtime, src: SourceServer,
                                                                  tmp_path: Path) -> None:
    deps = deps_for(runtime, sources_file(tmp_path, src.url))
    config = deps.customer_sources
    customer_id = add_customer(runtime)
    with runtime.session_factory() as s:
        (pending,) = source_statuses(s, customer_id, sources=config, now=T0)
    assert (pending.name, pending.status, pending.fetched_at) == ("crm", "pending", None)
    refresh_customer_sources(deps, customer_id, environ=ENV)
    with runtime.uow() as uow:
        uow.session.add(CustomerSourceRecord(customer_id=customer_id, source="crm_import", fields={}, status="ok",
                                             fetched_at=T0, updated_at=T0))
        uow.commit()
    with runtime.session_factory() as s:
        fresh = source_statuses(s, customer_id, sources=config, now=T0 + timedelta(seconds=10))
        expired = source_statuses(s, customer_id, sources=config, now=T0 + timedelta(seconds=601))
    assert [(x.name, x.status, x.fetched_at) for x in fresh] == [("crm", "ok", T0), ("crm_import", "ok", T0)]
    assert [x.status for x in expired] == ["stale", "ok"]  # the refresh has not answered yet


# --- nothing waits: a profile read and intake only queue the fetch ----------------------------------------------
@pytest.fixture
def queued_runtime(db_url: str, tmp_path: Path, mailbox: Mailbox, src: SourceServer) -> Iterator[Runtime]:
    """A runtime whose tasks go to a real queue (Huey on SQLite under var) instead of running inline, with a
    source that holds each request until the test releases it."""
    path = sources_file(tmp_path, src.url, crm_path="held", timeout=20, auth="{kind: none}")
    rt = build_runtime(make_settings(db_url, tmp_path / "var", mailbox, tasks_mode="embedded",
                                     customer_sources_file=path))
    yield rt
    src.release.set()
    _clean(rt)
    rt.engine.dispose()


def test_request_refresh_queues_the_due_sources_without_fetching(queued_runtime: Runtime, src: SourceServer
                                                                 ) -> None:
    rt = queued_runtime
    customer_id = add_customer(rt, "C-101")
    with rt.session_factory() as s:
        assert request_refresh(s, rt.queue, customer_id, now=rt.clock.now()) == ["crm"]
        assert request_refresh(s, rt.queue, customer_id, now=rt.clock.now()) == []  # asked already
    assert rt.queue.depth()[0] == 1 and src.seen() == []
    src.release.set()
    huey = rt.queue.huey
    huey.execute(huey.dequeue())  # what a worker does with it
    row = record(rt, customer_id)
    assert row is not None and row.status == "ok" and row.fields["crm_segment"] is None  # C-101: an empty record
    with rt.session_factory() as s:
        assert [x.status for x in source_statuses(s, customer_id)] == ["ok"]  # the process's sources


def test_intake_never_waits_on_a_slow_source(queued_runtime: Runtime, src: SourceServer, pipeline: TriagePipeline
                                             ) -> None:
    from fastapi.testclient import TestClient

    from caredesk.demo.loader import do_load_demo
    from caredesk.http.app import create_app

    rt = queued_runtime
    rt.set_pipeline(pipeline)
    do_load_demo(rt.uow(), rt.clock)
    with TestClient(create_app(rt, start_consumer=True)) as client:
        client.headers["Authorization"] = f"Bearer {create_key(rt)}"
        response = client.post("/api/v1/messages", json={"text": "我的信用卡账单有问题", "channel": "web",
                                                         "customer_ref": "C-100"})
        assert response.status_code == 201, response.text
        assert not src.release.is_set()  # the answer came while the source still holds its request...
        assert src.arrived.wait(20), "the background fetch never reached the source"  # ...which the worker sent
        with rt.session_factory() as s:
            customer_id = s.scalar(select(Customer.id).where(Customer.ref == "C-100"))
        assert customer_id is not None and record(rt, customer_id) is None
        src.release.set()
        deadline = time.monotonic() + 20
        while (row := record(rt, customer_id)) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    assert row is not None and row.status == "ok" and row.fields["crm_segment"] == "wealth"
    assert [path for path, _ in src.seen()] == ["/held/C-100"]
