"""The `chaos` group (issue 14, "nothing lost"): the deployment of several processes under load while its
parts fail, then what was lost, duplicated or left unsent.

Topology, all on loopback: a temporary PostgreSQL schema (migrated, demo data, an API key), a private
redis-server on a free port (no persistence: a restart loses what it held), `caredesk serve --workers 2`,
two `caredesk worker` processes and an SMTP server in this process that logs every e-mail by its
`X-CareDesk-Notice` header. Client threads post ordinary, urgent (emergency response, meeting notices) and
complaint (alarm, e-mail to team leads) messages, each with an `Idempotency-Key`, retrying the same key after
an error or no answer. Faults, in order while the load runs: SIGKILL one API worker; SIGKILL one task worker
(a replacement starts, as a supervisor would start one); every PostgreSQL connection of the schema terminated;
Redis stopped for ten seconds and started empty. Then the load stops, `caredesk outbox relay` runs beside
the workers (what an operator runs after an outage) until every due notice is sent or the drain deadline
passes, and the database and the mailbox are compared with what the clients were told."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from caredesk.bench import processes
from caredesk.bench.chaos_load import Logical, Traffic, run_clients
from caredesk.bench.chaos_verify import Findings, SmtpLog, unsent_notices, verify
from caredesk.bench.pg_schema import drop_schema, prepare_schema
from caredesk.bench.processes import start, stop
from caredesk.bench.stats import Figures, Notes, bench_postgres_url, log, mixed_messages, shown_url
from caredesk.storage.outbox import OutboxStatus, outbox_status

__all__ = ["PLANS", "ChaosPlan", "ChaosResult", "run", "run_chaos"]

REDIS_SERVER = "/usr/bin/redis-server"


@dataclass(frozen=True)
class ChaosPlan:
    load_s: float  # how long the clients post new messages
    clients: int
    drain_s: float  # at most this long after the load for every due notice to be sent
    redis_down_s: float = 10.0
    retry_grace_s: float = 45.0  # a client retries its last message this long after the load at most


PLANS = {"full": ChaosPlan(load_s=60, clients=5, drain_s=90),
         "quick": ChaosPlan(load_s=40, clients=4, drain_s=90),
         "short": ChaosPlan(load_s=32, clients=3, drain_s=90)}


@dataclass
class ChaosResult:
    figures: Figures
    notes: Notes
    findings: Findings
    logicals: list[Logical] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        """What makes the check fail, in words (empty: passed)."""
        f = self.figures
        names = ("chaos_lost_messages", "chaos_duplicate_effects", "chaos_unsent_notices", "chaos_http_500",
                 "chaos_503_without_retry_after")
        return [f"{name} = {f[name]:g}" for name in names if f.get(name, 0)]


class _Redis:
    """A private redis-server (no persistence) that can be stopped and started again on its port."""

    def __init__(self, workdir: Path) -> None:
        self.port = processes.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 15) -> None:
        import redis

        log_path = self._workdir / "redis.log"
        with log_path.open("ab") as out:
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self._workdir), "--daemonize", "no"], stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.exceptions.ConnectionError:
                    if self.proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server did not start: {log_path.read_text()[-500:]}") from None
                    time.sleep(0.1)
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@dataclass
class _Deployment:
    env: dict[str, str]
    tmp: Path
    base: str = ""
    master: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    others: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self) -> subprocess.Popen[bytes]:
        pending = self.tmp / "worker-starting.log"
        proc = start(["worker", "--threads", "2"], self.env, pending)
        pending.rename(self.tmp / f"worker-{proc.pid}.log")  # the open file follows its new name
        self.workers.append(proc)
        return proc

    def wait_consumers(self, timeout: float = 180) -> None:
        """Until every task worker's consumer runs (a cold one takes 10-20 s to build its runtime on a busy
        machine): a load started earlier piles its tasks up in Redis, and the check would measure that."""
        deadline = time.monotonic() + timeout
        for proc in self.workers:
            log_path = self.tmp / f"worker-{proc.pid}.log"
            while "Huey consumer started" not in log_path.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"caredesk worker {proc.pid} did not start: "
                                       f"{processes.last_traceback(log_path)}")
                time.sleep(0.2)

    @property
    def all(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in [self.master, *self.workers, *self.others] if p is not None]


def _terminate_backends(admin: Any, application_name: str) -> int:
    from sqlalchemy import text

    with admin.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = :app AND pid <> pg_backend_pid()) AS t"), {"app": application_name}).scalar_one())


def _effect(traffic: Traffic, since: float, until: float) -> str:
    seen = traffic.outcomes(since, until)
    bad = {k: v for k, v in seen.items() if k not in ("200", "201")}
    return (f"{sum(seen.values())} answers in the next {until - since:.0f}s, "
            + (", ".join(f"{k} x{v}" for k, v in sorted(bad.items())) if bad else "all accepted"))


def _faults(plan: ChaosPlan, dep: _Deployment, redis_server: _Redis, admin: Any, app_name: str,
            t0: float) -> list[tuple[str, float, Callable[[], str]]]:
    """(name, seconds after the load's start, action returning what it did)."""
    def kill_api_worker() -> str:
        assert dep.master is not None
        workers = processes.children(dep.master.pid)
        if not workers:
            return "no gunicorn worker found"
        os.kill(workers[0], signal.SIGKILL)
        return f"SIGKILL to gunicorn worker {workers[0]} (of {workers})"

    def kill_task_worker() -> str:
        victim = dep.workers[0]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait()
        replacement = dep.start_worker()
        dep.workers.remove(victim)
        return f"SIGKILL to caredesk worker {victim.pid}; replacement {replacement.pid} started"

    def terminate_postgres() -> str:
        return f"pg_terminate_backend on {_terminate_backends(admin, app_name)} connections of the schema"

    def stop_redis() -> str:
        redis_server.stop()
        time.sleep(plan.redis_down_s)
        redis_server.start()
        return f"redis-server stopped (SIGTERM, nothing persisted), started again empty {plan.redis_down_s:.0f}s later"

    at = plan.load_s
    return [("kill_api_worker", 0.15 * at, kill_api_worker), ("kill_task_worker", 0.3 * at, kill_task_worker),
            ("terminate_postgres", 0.45 * at, terminate_postgres), ("stop_redis", 0.55 * at, stop_redis)]


def _drain(dep: _Deployment, session_factory: Any, deadline: float) -> tuple[float, int]:
    """Wait until no due notice is unsent (checked every 2 s) or the deadline: (seconds waited, unsent)."""
    t0 = time.monotonic()
    while True:
        with session_factory() as s:
            unsent, _ = unsent_notices(s, datetime.now(UTC))
        if not unsent or time.monotonic() >= deadline:
            return time.monotonic() - t0, len(unsent)
        time.sleep(2)


def run_chaos(plan: ChaosPlan, *, postgres_url: str, extra_env: dict[str, str] | None = None,
              label: str = "chaos", keep_logs: Path | None = None) -> ChaosResult:
    """Build the topology, run the load and the faults, drain, verify; everything started is stopped and the
    schema dropped whatever happens. `keep_logs`: where the processes' logs are copied before their temporary
    folder goes (the evidence of a failed run)."""
    from aiosmtpd.controller import Controller
    from sqlalchemy import create_engine

    from caredesk.compliance.crypto import install_keyring, keyring_from_settings
    from caredesk.storage.db import make_session_factory

    started = time.monotonic()
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    schema = f"caredesk_chaos_{secrets.token_hex(4)}"
    # the application name marks the deployment's connections: the fault terminates those, no others
    url = (f"{postgres_url}{'&' if '?' in postgres_url else '?'}options=-csearch_path%3D{schema}"
           f"&application_name={schema}")
    tmp = Path(tempfile.mkdtemp(prefix="caredesk-chaos-"))
    secret = secrets.token_hex(32)
    smtp = SmtpLog()
    smtp_port = processes.free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=smtp_port)
    redis_server = _Redis(tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREDESK_")}
    env.update({"CAREDESK_DATABASE_URL": url, "CAREDESK_REDIS_URL": redis_server.url,
                "CAREDESK_VAR_DIR": str(tmp / "var"), "CAREDESK_SECRET_KEY": secret,
                "CAREDESK_TASKS_MODE": "external", "CAREDESK_ENVIRONMENT": "development",
                "CAREDESK_SMTP_HOST": "127.0.0.1", "CAREDESK_SMTP_PORT": str(smtp_port),
                "CAREDESK_RATE_LIMIT_PER_MINUTE": "0", "CAREDESK_RECORD_READS_FREEZE_PER_HOUR": "0",
                # Short leases, so that a task lost with a killed worker or the emptied Redis comes back within
                # the drain (the defaults, 120 s and 300 s, suit a backlog of thousands of notices).
                "CAREDESK_NOTICE_CLAIM_SECONDS": "8", "CAREDESK_OUTBOX_TASK_LEASE_SECONDS": "20",
                **(extra_env or {})})
    dep = _Deployment(env, tmp)
    traffic = Traffic()
    fault_notes: Notes = {}
    verify_engine = None
    try:
        controller.start()
        redis_server.start()
        key = prepare_schema(admin, schema, env, "chaos")
        dep.base = f"http://127.0.0.1:{processes.free_port()}"
        serve_log = tmp / "serve.log"
        dep.master = start(["serve", "--host", "127.0.0.1", "--port", dep.base.rsplit(":", 1)[1], "--workers", "2"],
                           env, serve_log)
        log(f"{label}: schema {schema}, redis :{redis_server.port}, smtp :{smtp_port}; starting caredesk serve "
            f"--workers 2 (pid {dep.master.pid})")
        processes.wait_ready(dep.base, dep.master, serve_log, timeout=600)  # a first run trains the model
        deadline = time.monotonic() + 60
        while len(processes.children(dep.master.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(2):
            dep.start_worker()
        dep.wait_consumers()
        ordinary = [m for m in mixed_messages(400, seed=31) if len(m) < 400]
        t0, t0_wall = time.monotonic(), datetime.now(UTC)
        setup_s = t0 - started
        load_until, give_up_at = t0 + plan.load_s, t0 + plan.load_s + plan.retry_grace_s
        log(f"{label}: {plan.clients} clients for {plan.load_s:.0f}s with faults")
        threads = run_clients(dep.base, key, traffic, clients=plan.clients, load_until=load_until,
                              give_up_at=give_up_at, ordinary=ordinary, run_tag=schema[-8:])
        done: list[tuple[str, float, str]] = []
        for name, offset, action in _faults(plan, dep, redis_server, admin, schema, t0):
            time.sleep(max(0.0, t0 + offset - time.monotonic()))
            at = time.monotonic()
            done.append((name, at, action()))
            log(f"{label}: {name} at {at - t0:.1f}s: {done[-1][2]}")
        for t in threads:
            t.join(timeout=max(1.0, give_up_at - time.monotonic() + 15))
        load_s = time.monotonic() - t0
        for name, at, did in done:
            fault_notes[name] = f"at {at - t0:.1f}s: {did}; effect: {_effect(traffic, at, at + 10)}"
        dep.others.append(start(["outbox", "relay", "--every", "2"], env, tmp / "relay.log"))
        install_keyring(keyring_from_settings({}, None, secret))  # to read the stored texts back
        verify_engine = create_engine(url)
        sf = make_session_factory(verify_engine)
        drain_s, _ = _drain(dep, sf, time.monotonic() + plan.drain_s)
        log(f"{label}: drained in {drain_s:.0f}s")
        with sf() as s:
            findings = verify(s, traffic.messages, smtp, ref_prefix=f"chaos-{schema[-8:]}-", load_started=t0_wall)
            outbox = outbox_status(s, now=datetime.now(UTC))
        health = _health(dep, serve_log)
    finally:
        stop(dep.all)
        redis_server.stop()
        controller.stop()
        if verify_engine is not None:
            verify_engine.dispose()
        try:
            drop_schema(admin, schema)
        finally:
            if keep_logs is not None:
                keep_logs.mkdir(parents=True, exist_ok=True)
                for path in tmp.glob("*.log"):
                    shutil.copy(path, keep_logs / path.name)
            shutil.rmtree(tmp, ignore_errors=True)
    return _result(plan, traffic, findings, fault_notes, health, outbox, drain_s, load_s, setup_s,
                   time.monotonic() - started, label)


def _health(dep: _Deployment, serve_log: Path) -> str:
    text = serve_log.read_text(errors="replace")
    alive = [f"{p.args[1] if isinstance(p.args, list) and len(p.args) > 1 else p.pid}:{p.pid}"
             for p in dep.all if p.poll() is None]
    return (f"still running at the end: {', '.join(alive)}; server log: {text.count('Traceback')} tracebacks, "
            f"{text.count('unexpected error')} unexpected errors, {text.count('storage unavailable')} storage "
            f"outages answered 503")


def _result(plan: ChaosPlan, traffic: Traffic, found: Findings, fault_notes: Notes, health: str,
            outbox: OutboxStatus, drain_s: float, load_s: float, setup_s: float, total_s: float, label: str
            ) -> ChaosResult:
    logicals = traffic.messages
    seen = traffic.outcomes()
    kinds = Counter(m.kind for m in logicals)
    figures: Figures = {
        "chaos_messages": float(len(logicals)),
        "chaos_lost_messages": float(len(found.lost)),
        "chaos_duplicate_effects": float(sum(found.duplicates.values())),
        "chaos_unsent_notices": float(len(found.unsent)),
        "chaos_duplicate_emails": float(sum(n - 1 for n in found.duplicate_emails.values())),
        "chaos_http_500": float(seen.get("500", 0)),
        "chaos_http_503": float(seen.get("503", 0)),
        "chaos_503_without_retry_after": float(sum(m.missing_retry_after for m in logicals)),
        "chaos_transport_errors": float(sum(v for k, v in seen.items() if not k.isdigit())),
        "chaos_retries": float(sum(max(0, len(m.attempts) - 1) for m in logicals)),
        "chaos_notices": float(found.notices),
        "chaos_missing_alarms": float(len(found.missing_alarms)),
        "chaos_setup_s": round(setup_s, 1),  # schema, migrations, demo data, servers up (a first run trains)
        "chaos_load_s": round(load_s, 1),
        "chaos_drain_s": round(drain_s, 1),
        "chaos_duration_s": round(total_s, 1),
    }
    for what in ("messages", "work_orders", "meetings", "alarms"):
        figures[f"chaos_duplicate_{what}"] = float(found.duplicates.get(what, 0))
    notes: Notes = {f"chaos_fault_{k}": v for k, v in fault_notes.items()}
    notes["chaos"] = (
        f"{label}: {len(logicals)} logical messages ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}) "
        f"from {plan.clients} client threads over {load_s:.0f}s (new messages for {plan.load_s:.0f}s, retries up "
        f"to {plan.retry_grace_s:.0f}s more), {found.stored_messages} inbound messages stored; answers seen: "
        f"{', '.join(f'{k} x{v}' for k, v in sorted(seen.items()))}. Outbox at the end: {outbox.pending} rows due and "
        f"not dispatched ({outbox.failing} failing, {outbox.given_up} given up), {outbox.delayed} delayed, "
        f"{outbox.dispatched} dispatched. Notices due: {found.notices}, e-mails without the "
        f"notice header: {found.unmarked_emails}. {health}. chaos_duplicate_effects counts extra stored "
        "messages per logical message, extra work orders and meetings per logical message and extra alarms per "
        "customer; chaos_duplicate_emails extra copies of one notice (possible only when a worker died between "
        "the send and its record).")
    if found.lost:
        notes["chaos_lost"] = "; ".join(found.lost[:15])[:3000]
    if found.duplicate_examples:
        notes["chaos_duplicates"] = "; ".join(found.duplicate_examples)[:3000]
    if found.unsent:
        notes["chaos_unsent"] = " | ".join(found.unsent[:12])[:4000]
    if found.duplicate_emails:
        notes["chaos_duplicate_emails"] = "; ".join(f"{h} x{n}" for h, n in list(found.duplicate_emails.items())[:20])
    if found.sent_not_received:
        notes["chaos_sent_not_received"] = "; ".join(found.sent_not_received[:20])
    if found.missing_alarms:
        notes["chaos_missing_alarms"] = ("complaint conversations accepted whole that raised no alarm: "
                                         + ", ".join(found.missing_alarms[:20]))
    result = ChaosResult(figures, notes, found, logicals)
    if result.failures:
        notes["chaos_error"] = "the chaos check failed: " + ", ".join(result.failures)
    return result


def run(quick: bool) -> tuple[Figures, Notes]:
    """The bench group: the full plan (about three minutes), or the quick one."""
    from sqlalchemy import create_engine, text

    if not Path(REDIS_SERVER).exists():
        return {}, {"chaos": f"not run: {REDIS_SERVER} not found (apt-get install redis-server)"}
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        return {}, {"chaos": "not run: aiosmtpd is not installed (pip install -e '.[test]')"}
    try:
        probe = create_engine(bench_postgres_url())
        with probe.connect() as conn:
            conn.execute(text("select 1"))
        probe.dispose()
    except Exception as exc:  # any failure to connect means: not available here
        why = f"PostgreSQL at {shown_url(bench_postgres_url())} unreachable: {str(exc).splitlines()[0]}"
        log(f"chaos: not run: {why}")
        return {}, {"chaos": f"not run: {why}; the chaos_* figures are absent"}
    plan = PLANS["quick" if quick else "full"]
    result = run_chaos(plan, postgres_url=bench_postgres_url(), label="quick" if quick else "full")
    return result.figures, result.notes
