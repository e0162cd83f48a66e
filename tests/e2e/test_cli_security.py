"""`caredesk audit verify|export` on a real database (SQLite and PostgreSQL) with rows tampered with through
raw SQL, and `caredesk serve` over HTTPS with a self-signed certificate."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from caredesk.bootstrap.runtime import Runtime
from caredesk.compliance.audit import record_audit
from caredesk.triage.model import TriageModel, activate
from tests.conftest import free_port
from tests.support.cli import caredesk, cli_env


def runtime_env(rt: Runtime, **extra: str) -> dict[str, str]:
    """The command's environment on the runtime's database; `extra` as cli_env's settings."""
    return cli_env(database_url=rt.settings.database_url, var_dir=str(rt.settings.var_dir), environment="test",
                   secret_key="cli-test-secret-" + "y" * 32, **extra)


def write_entries(rt: Runtime, count: int, *, start: dt.datetime) -> list[int]:
    """The entries' ids in chain order (they are written when the unit of work commits)."""
    with rt.uow() as uow:
        for i in range(count):
            record_audit(uow.session, actor="staff:s1", action="customer.revealed", object_type="customer",
                         object_id=f"c{i}", data={"field": "phone", "n": i, "备注": "查看"},
                         now=start + dt.timedelta(days=i))
        uow.commit()
    with rt.engine.connect() as conn:
        return [int(i) for i in conn.execute(text("SELECT id FROM audit_entry ORDER BY id")).scalars()]


START = dt.datetime(2026, 1, 1, 8, 30, tzinfo=dt.UTC)


def test_audit_verify_ok_then_detects_a_changed_row(runtime: Runtime) -> None:
    ids = write_entries(runtime, 5, start=START)
    env = runtime_env(runtime)
    ok = caredesk(env, "audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "OK: 5 audit entries, hash chain intact"
    with runtime.engine.begin() as conn:  # someone edits a row behind the application's back
        conn.execute(text("UPDATE audit_entry SET actor = 'staff:someone-else' WHERE id = :id"), {"id": ids[2]})
    broken = caredesk(env, "audit", "verify")
    assert broken.returncode == 1
    assert f"BROKEN at audit entry {ids[2]}" in broken.stderr and "content does not match" in broken.stderr
    assert "2 entries before it are intact" in broken.stderr


def test_audit_verify_detects_a_removed_row_and_a_rehashed_row(runtime: Runtime) -> None:
    ids = write_entries(runtime, 4, start=START)
    env = runtime_env(runtime)
    with runtime.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": ids[1]})
    broken = caredesk(env, "audit", "verify")
    assert broken.returncode == 1 and f"BROKEN at audit entry {ids[2]}" in broken.stderr
    assert "link to the previous entry" in broken.stderr
    with runtime.engine.begin() as conn:  # a forger who recomputes a row's own hash still breaks the next link
        conn.execute(text("DELETE FROM audit_entry"))
    ids = write_entries(runtime, 3, start=START)
    with runtime.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entry SET hash = :h WHERE id = :id"), {"h": "f" * 64, "id": ids[0]})
    assert f"BROKEN at audit entry {ids[0]}" in caredesk(env, "audit", "verify").stderr


def test_audit_export_since_writes_json_lines(runtime: Runtime, tmp_path: Path) -> None:
    write_entries(runtime, 5, start=START)
    env = runtime_env(runtime)
    out = tmp_path / "audit.jsonl"
    result = caredesk(env, "audit", "export", "--since", "2026-01-03", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"3 audit entries written to {out}"
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["object_id"] for r in rows] == ["c2", "c3", "c4"]
    assert rows[0]["data"] == {"field": "phone", "n": 2, "备注": "查看"}
    assert rows[0]["at"].startswith("2026-01-03T08:30:00") and rows[1]["prev_hash"] == rows[0]["hash"]
    everything = caredesk(env, "audit", "export", "--output", str(out))
    assert everything.returncode == 0 and len(out.read_text().splitlines()) == 5
    bad = caredesk(env, "audit", "export", "--since", "yesterday", "--output", str(out))
    assert bad.returncode == 2 and "--since must be a date" in bad.stderr


# --- HTTPS --------------------------------------------------------------------------------------------------
def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_cli_serve_over_https_with_a_self_signed_certificate(runtime: Runtime, tmp_path: Path,
                                                             triage_model: TriageModel) -> None:
    activate(triage_model, tmp_path / "models")  # spares the server the first-run training
    cert, key = self_signed(tmp_path)
    port = free_port()
    env = runtime_env(runtime, model_dir=str(tmp_path / "models"), base_url=f"https://127.0.0.1:{port}")
    proc = subprocess.Popen([sys.executable, "-m", "caredesk.cli.main", "serve", "--port", str(port),
                             "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                r = httpx.get(f"https://127.0.0.1:{port}/login", verify=str(cert), timeout=10)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        assert r.status_code == 200 and r.url.scheme == "https"
        assert r.headers["strict-transport-security"].startswith("max-age=")
        assert "secure" in r.headers["set-cookie"].lower()
        with pytest.raises(httpx.ConnectError):  # not a certificate anyone vouches for
            httpx.get(f"https://127.0.0.1:{port}/login", timeout=10)
        with pytest.raises(httpx.TransportError):  # and no plain HTTP on the TLS port
            httpx.get(f"http://127.0.0.1:{port}/login", timeout=10).raise_for_status()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert f"https://127.0.0.1:{port}/" in out


def test_cli_serve_refuses_half_a_tls_configuration(tmp_path: Path) -> None:
    result = caredesk(cli_env(environment="test"), "serve", "--ssl-certfile", str(tmp_path / "c.pem"))
    assert result.returncode == 2 and "go together" in result.stderr

