"""Shared fixtures. Real services: SQLite always; PostgreSQL, Redis and Chromium when reachable.

CAREDESK_TEST_REQUIRE=postgres,redis,browser (set by .ci/run) turns "not reachable" into a failure; on a
machine without them those tests are skipped and the session ends with a loud notice."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message as EmailMsg
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from threadpoolctl import threadpool_limits

from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.settings import Settings
from caredesk.storage.migrate import upgrade
from caredesk.storage.orm import Base
from caredesk.triage.examples import merge_examples
from caredesk.triage.model import TriageModel, read_corpus, seed_corpus_path
from caredesk.triage.pipeline import TriagePipeline
from caredesk.triage.training import FittedTriage, fit_examples

# One BLAS/OpenMP thread per test process: xdist runs one worker per core, and OpenBLAS threads that outnumber
# the cores wait on each other (a 30 ms eigendecomposition took 0.9 s with two workers). The variables reach
# the subprocesses (`caredesk serve` in the CLI tests); the call covers the libraries already loaded here.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
threadpool_limits(limits=1)

REQUIRED = {s.strip() for s in os.environ.get("CAREDESK_TEST_REQUIRE", "").split(",") if s.strip()}
POSTGRES_URL = os.environ.get("CAREDESK_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")
# One Redis database per xdist worker (gw0 -> 15, gw1 -> 14, ...): the live fan-out channel has a fixed name.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
REDIS_URL = os.environ.get("CAREDESK_TEST_REDIS_URL", f"redis://127.0.0.1:6379/{15 - _WORKER % 12}")
CHROMIUM = os.environ.get("CAREDESK_TEST_CHROMIUM", "/usr/bin/chromium")
_skipped_services: set[str] = set()
_SKIP_MARK = " not available: "


def unavailable(service: str, why: str) -> None:
    """Fail when the service is required here (CI), otherwise skip and remember it for the summary."""
    if service in REQUIRED:
        pytest.fail(f"{service} is required (CAREDESK_TEST_REQUIRE) but not available: {why}", pytrace=False)
    pytest.skip(f"{service}{_SKIP_MARK}{why}")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember which services were missing, from the reports: with xdist they reach the controller."""
    if report.skipped and isinstance(report.longrepr, tuple) and _SKIP_MARK in str(report.longrepr[2]):
        _skipped_services.add(str(report.longrepr[2]).removeprefix("Skipped: ").split(_SKIP_MARK)[0])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _skipped_services:
        terminalreporter.write_sep("!", "SKIPPED: tests needing " + ", ".join(sorted(_skipped_services)) +
                                   " did not run (service not reachable here)", red=True, bold=True)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the trained model: once per test session, from the shipped seed corpus -------------------------
@pytest.fixture(scope="session")
def fitted_triage() -> FittedTriage:
    """The fitted scikit-learn objects, for the tests that compare the served model with them."""
    return fit_examples(merge_examples(read_corpus(seed_corpus_path()), ()), holdout=0)


@pytest.fixture(scope="session")
def triage_model(fitted_triage: FittedTriage) -> TriageModel:
    return fitted_triage.model()


@pytest.fixture(scope="session")
def pipeline(triage_model: TriageModel) -> TriagePipeline:
    return TriagePipeline(triage_model)


# --- databases ------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'caredesk.db'}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@contextmanager
def postgres_schema(prefix: str, *, migrated: bool = True) -> Iterator[str]:
    """The URL of a fresh schema in the test database (migrated unless told otherwise), dropped afterwards;
    skipped, or failed where required, when PostgreSQL does not answer."""
    try:
        import psycopg  # noqa: F401

        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # any failure to connect means: not available here
        unavailable("postgres", str(exc).splitlines()[0])
    schema = f"{prefix}_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{POSTGRES_URL}{'&' if '?' in POSTGRES_URL else '?'}options=-csearch_path%3D{schema}"
    try:
        if migrated:
            engine = create_engine(url)
            upgrade(engine)
            engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh schema in the `test` database, migrated, dropped at the end."""
    with postgres_schema("caredesk_test") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


def _clean(rt: Runtime) -> None:
    with rt.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


# --- SMTP: a real server (aiosmtpd) that keeps what it receives ------------------------------------------
@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[EmailMsg] = field(default_factory=list)
    fail_next: int = 0
    # run after a message is kept, before the client hears "250" (a test's fault or delay at that instant)
    on_receive: Callable[[], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return "451 temporary failure (test)"
            self.messages.append(message_from_bytes(envelope.content))
        if self.on_receive is not None:
            self.on_receive()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMsg]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} e-mails, got {len(self.messages)}")


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox("127.0.0.1", free_port())
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: Mailbox) -> Mailbox:
    smtp_server.messages.clear()
    smtp_server.fail_next = 0
    smtp_server.on_receive = None
    return smtp_server


# --- runtime ----------------------------------------------------------------------------------------------
def make_settings(db_url: str, var_dir: Path, smtp: Mailbox, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(environment="test", secret_key="test-secret-" + "x" * 32, database_url=db_url,
                                  var_dir=var_dir, tasks_mode="immediate", smtp_host=smtp.host, smtp_port=smtp.port,
                                  mail_from="CareDesk <caredesk@demo-bank.example>",
                                  kb_freshness_seconds=0,  # a publish answers at once (test_kb_freshness.py: >0)
                                  webhook_freshness_seconds=0)  # a new subscription gets the next event
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def runtime(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> Iterator[Runtime]:
    rt = build_runtime(make_settings(db_url, tmp_path / "var", mailbox))
    rt.set_pipeline(pipeline)
    yield rt
    _clean(rt)
    rt.engine.dispose()


@pytest.fixture
def demo_runtime(runtime: Runtime) -> Runtime:
    from caredesk.demo.loader import do_load_demo

    do_load_demo(runtime.uow(), runtime.clock)
    return runtime


@pytest.fixture
def redis_url() -> str:
    host, port = "127.0.0.1", 6379
    if not _port_open(host, port):
        unavailable("redis", f"nothing listens on {host}:{port}")
    return REDIS_URL


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        unavailable("browser", f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError as exc:
        unavailable("browser", str(exc))
    return CHROMIUM


# --- servers and clients ------------------------------------------------------------------------------------
@dataclass
class LiveServer:
    url: str
    runtime: Runtime


def serve_in_thread(rt: Runtime, *, start_consumer: bool = False) -> Iterator[LiveServer]:
    from caredesk.http.app import create_app
    from tests.support.serving import uvicorn_in_thread

    port = free_port()
    rt.settings.base_url = f"http://127.0.0.1:{port}"
    rt.knowledge_index()  # as `caredesk serve` does before it listens: no first request waits for the index
    with uvicorn_in_thread(create_app(rt, start_consumer=start_consumer), port, "test server",
                           log_level="warning"):
        yield LiveServer(rt.settings.base_url, rt)


@pytest.fixture
def live_server(demo_runtime: Runtime) -> Iterator[LiveServer]:
    yield from serve_in_thread(demo_runtime)


def create_key(rt: Runtime, role: str = "admin") -> str:
    from caredesk.accounts.credentials import do_create_api_key

    with rt.uow() as uow:
        _, secret = do_create_api_key(uow.session, name=f"test-{role}", role=role, now=rt.clock.now())
        uow.commit()
    return secret


@pytest.fixture
def api(demo_runtime: Runtime) -> Iterator[Any]:
    """A TestClient on the real app (no server thread), authenticated as an admin API key."""
    from fastapi.testclient import TestClient

    from caredesk.http.app import create_app

    with TestClient(create_app(demo_runtime, start_consumer=False)) as client:
        client.headers["Authorization"] = f"Bearer {create_key(demo_runtime)}"
        yield client
