"""The `caredesk` command as a user runs it: a real subprocess on a real SQLite file."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from caredesk.triage.model import TriageModel, activate
from tests.conftest import free_port
from tests.support.cli import caredesk
from tests.support.cli import cli_env as base_env


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory, triage_model: TriageModel) -> dict[str, str]:
    home = tmp_path_factory.mktemp("cli")
    activate(triage_model, home / "models")  # spares each subprocess the first-run training
    env = base_env(database_url=f"sqlite:///{home / 'cli.db'}", var_dir=str(home / "var"),
                   model_dir=str(home / "models"), environment="test", secret_key="cli-test-secret-" + "y" * 32)
    for args in (["db", "upgrade"], ["demo"]):
        done = caredesk(env, *args, timeout=300)
        assert done.returncode == 0, done.stderr
    return env


def test_cli_demo_is_idempotent(cli_env: dict[str, str]) -> None:
    result = caredesk(cli_env, "demo")
    assert result.returncode == 0
    assert "(0 new)" in result.stdout


def test_cli_apikey_create_prints_only_the_key(cli_env: dict[str, str]) -> None:
    result = caredesk(cli_env, "apikey", "create", "--name", "crm", "--role", "admin")
    assert result.returncode == 0
    assert result.stdout.strip().startswith("cd_") and len(result.stdout.strip().splitlines()) == 1
    bad = caredesk(cli_env, "apikey", "create", "--name", "crm", "--role", "emperor")
    assert bad.returncode == 2 and "role must be one of" in bad.stderr


@pytest.mark.parametrize(("text", "kind", "language"), [
    ("How do I reset my online banking password?", "answer", "en"),
    ("我的银行卡刚刚被盗刷了，不是我本人操作，请马上冻结", "emergency", "zh"),
])
def test_cli_triage_json(cli_env: dict[str, str], text: str, kind: str, language: str) -> None:
    result = caredesk(cli_env, "triage", text, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["language"] == language
    assert out["decision"]["kind"] == kind
    for head in ("content_type", "problem_type", "urgency"):
        assert 0 < out[head]["confidence"] <= 1 and out[head]["reasons"]


def test_cli_triage_masks_pii_in_output(cli_env: dict[str, str]) -> None:
    result = caredesk(cli_env, "triage", "我的手机号13812345678收不到验证码", "--json")
    assert "13812345678" not in result.stdout and "138****5678" in result.stdout


def test_cli_kb_import_reports_every_bad_row_and_imports_nothing(cli_env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("key,lang,category,content_type,problem_type,question,similar_questions,answer\n"
                   "k1,en,cards,business,consultation,What is X?,,X is Y.\n"
                   "k2,fr,cards,business,consultation,What is Z?,,Z.\n"
                   "k3,en,cards,nonsense,consultation,What is W?,,W.\n"
                   "k4,en,cards,business,consultation,,,empty question\n", encoding="utf-8")
    result = caredesk(cli_env, "kb", "import", str(bad))
    assert result.returncode == 2
    assert "line 3, column language" in result.stderr
    assert "line 4, column content_type" in result.stderr
    assert "line 5, column question" in result.stderr
    good = tmp_path / "good.csv"
    good.write_text("question,answer\nWhat is the SWIFT code?,DEMOCNSH\nSWIFT code please,DEMOCNSH\n", encoding="utf-8")
    first = caredesk(cli_env, "kb", "import", str(good))
    again = caredesk(cli_env, "kb", "import", str(good))
    assert "1 created" in first.stdout and "1 unchanged" in again.stdout
    missing = caredesk(cli_env, "kb", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "not found" in missing.stderr


def test_cli_flow_validate(cli_env: dict[str, str], tmp_path: Path) -> None:
    flow = tmp_path / "f.yaml"
    flow.write_text("name: x\nversion: 1\nsteps:\n  - {name: a}\n")
    result = caredesk(cli_env, "flow", "validate", str(flow))
    assert result.returncode == 2 and f"{flow}:4: steps[0].department: Field required" in result.stderr


def test_cli_serve_answers_http(cli_env: dict[str, str]) -> None:
    key = caredesk(cli_env, "apikey", "create", "--name", "serve-test", "--role", "admin").stdout.strip()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "caredesk.cli.main", "serve", "--host", "127.0.0.1", "--port",
                             str(port)], env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/api/v1/messages", timeout=10,
                               headers={"Authorization": f"Bearer {key}"},
                               json={"text": "What are your branch opening hours?", "channel": "api",
                                     "customer_ref": "c-serve", "conversation_id": None})
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        assert r.status_code == 201
        assert r.json()["decision"]["kind"] in {"answer", "work_order", "emergency"}
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in out


def test_cli_flow_validate_sla(cli_env: dict[str, str], tmp_path: Path) -> None:
    sla = tmp_path / "sla.yaml"
    sla.write_text("policies:\n  - {name: p, calendar: nowhere, targets: {resolution: 60}}\n", encoding="utf-8")
    bad = caredesk(cli_env, "flow", "validate-sla", str(sla))
    assert bad.returncode == 2 and "no calendar named 'nowhere'" in bad.stderr
    sla.write_text("calendars:\n  c: {timezone: Asia/Shanghai, hours: {mon-fri: ['09:00-18:00']}}\n"
                   "policies:\n  - {name: p, calendar: c, targets: {resolution: 60}}\n", encoding="utf-8")
    good = caredesk(cli_env, "flow", "validate-sla", str(sla))
    assert good.returncode == 0 and good.stdout.strip() == "p: resolution 60 min on c"
    assert caredesk(cli_env, "flow", "validate-sla", str(tmp_path / "missing.yaml")).returncode == 2


def test_cli_config_validate_checks_every_file_in_use(cli_env: dict[str, str], tmp_path: Path) -> None:
    good = caredesk(cli_env, "config", "validate")
    assert good.returncode == 0, good.stdout + good.stderr
    lines = good.stdout.splitlines()
    assert {"ok  sla.yaml", "ok  strategy.yaml", "ok  skills.yaml", "ok  outgoing_rules.yaml",
            "ok  flows/complaint.yaml", "ok  demo/bank.yaml", "ok  triage/lexicons/complaint.yaml",
            "ok  triage/lexicons/emotion.yaml", "ok  triage/lexicons/how_to.yaml",
            "ok  triage/lexicons/topics.yaml", "ok  triage/lexicons/urgency.yaml"} <= set(lines)
    sla = tmp_path / "sla.yaml"
    sla.write_text("policies:\n  - name: p\n    targets:\n      resolution: soon\n", encoding="utf-8")
    bad = caredesk({**cli_env, "CAREDESK_SLA_FILE": str(sla)}, "config", "validate")
    assert bad.returncode == 2
    assert f"{sla}:4: policies[0].targets.resolution: Input should be a valid number" in bad.stdout.splitlines()
    assert "ok  sla.yaml" in bad.stdout  # the shipped files are still reported


def test_cli_config_validate_a_directory(cli_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "f.yaml").write_text("name: f\nversion: 1\nsteps:\n  - {name: a, department: cs}\n",
                                               encoding="utf-8")
    (tmp_path / "skills.yaml").write_text("cards: [card]\nloans: loan\n", encoding="utf-8")
    result = caredesk(cli_env, "config", "validate", "--dir", str(tmp_path))
    assert result.returncode == 2
    assert result.stdout.splitlines() == [f"{tmp_path / 'skills.yaml'}:2: loans: Input should be a valid list",
                                          f"ok  {tmp_path / 'flows' / 'f.yaml'}"]
    assert caredesk(cli_env, "config", "validate", "--dir", str(tmp_path / "none")).returncode == 2


def test_cli_outbox_status_and_relay_once(cli_env: dict[str, str], tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from caredesk.storage.db import make_session_factory
    from caredesk.storage.orm import OutboxEvent
    from caredesk.storage.unit_of_work import UnitOfWork
    from caredesk.workorders.events import WorkOrderChanged

    # a database of its own: the module's other commands leave their own rows in the shared one
    env = cli_env | {"CAREDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'outbox.db'}"}
    assert caredesk(env, "db", "upgrade").returncode == 0
    engine = create_engine(env["CAREDESK_DATABASE_URL"])
    with UnitOfWork(make_session_factory(engine)) as uow:  # no subscribers here: the rows wait for a relay
        uow.record(WorkOrderChanged("wo-cli"))
        uow.session.add(OutboxEvent(event_type="retired.event", payload={"v": 1, "data": {}},
                                    created_at=datetime.now(UTC), available_at=datetime.now(UTC), attempts=0))
        uow.commit()
    before = caredesk(env, "outbox", "status")
    assert before.returncode == 0 and "pending (due now): 2" in before.stdout

    relayed_at = time.monotonic()
    relayed = caredesk(env, "outbox", "relay", "--once")
    assert relayed.returncode == 0, relayed.stderr
    assert "relayed 1 of 2" in relayed.stdout and "failed again" in relayed.stdout

    after = caredesk(env, "outbox", "status")
    assert "failing (retrying): 1" in after.stdout
    if time.monotonic() - relayed_at < 10:  # the failed row is due again after its first backoff, 10 s
        assert "pending (due now): 0" in after.stdout
    assert "dispatched: 1" in after.stdout
    with engine.connect() as conn:
        rows = conn.execute(OutboxEvent.__table__.select().order_by(OutboxEvent.id)).all()
    engine.dispose()
    assert [(r.event_type, r.dispatched_at is not None) for r in rows] == [("workorders.changed", True),
                                                                           ("retired.event", False)]
    assert "unknown event" in rows[1].last_error


def test_cli_default_secret_warning_is_said_once_by_serve(cli_env: dict[str, str]) -> None:
    """`make run` runs db upgrade, demo and serve: only serve, whose sessions the key signs, warns, once."""
    env = {k: v for k, v in cli_env.items() if k != "CAREDESK_SECRET_KEY"} | {"CAREDESK_ENVIRONMENT": "development"}
    for args in (["db", "upgrade"], ["demo"]):
        done = caredesk(env, *args)
        assert done.returncode == 0 and "CAREDESK_SECRET_KEY" not in done.stdout + done.stderr
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "caredesk.cli.main", "serve", "--host", "127.0.0.1", "--port",
                             str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert out.count("CAREDESK_SECRET_KEY is the development default") == 1
