"""`caredesk import messages` as a user runs it: a real subprocess on a real SQLite file; a bad file exits 2
listing each bad row (line, column, reason) with nothing written, a good one prints its counts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from caredesk.triage.model import TriageModel, activate
from tests.support.cli import caredesk, cli_env


@pytest.fixture
def import_env(tmp_path: Path, triage_model: TriageModel) -> dict[str, str]:
    """A migrated SQLite file and the session's model; no demo data (an empty knowledge base starts fast)."""
    activate(triage_model, tmp_path / "models")
    env = cli_env(database_url=f"sqlite:///{tmp_path / 'import.db'}", var_dir=str(tmp_path / "var"),
                  model_dir=str(tmp_path / "models"), environment="test", secret_key="cli-test-secret-" + "z" * 32)
    done = caredesk(env, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    return env


def _messages(env: dict[str, str]) -> int:
    path = env["CAREDESK_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        return int(db.execute("select count(*) from message").fetchone()[0])


def test_import_messages_cli_bad_rows_exit_2_then_good_file(import_env: dict[str, str], tmp_path: Path) -> None:
    before = _messages(import_env)
    bad = tmp_path / "bad.csv"
    bad.write_text("received_at,text,channel,customer_ref\n"
                   "2026-11-02T09:15:00+08:00,我的卡丢了,web,CLI-1\n"
                   "2026-13-02T09:15:00,hello,fax,CLI-1\n"
                   "2026-11-02T09:15:00+08:00,,web,\n", encoding="utf-8")
    result = caredesk(import_env, "import", "messages", str(bad))
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert "2 bad row(s); nothing imported" in lines[0]
    assert [line.split(":")[0].strip() for line in lines[1:]] == [
        "line 3, column received_at", "line 3, column channel", "line 4, column text", "line 4, column customer_ref"]
    assert _messages(import_env) == before

    good = tmp_path / "good.csv"
    good.write_text("\ufeffreceived_at,text,channel,customer_ref,conversation_ref\n"
                    "2026-11-02T09:15:00+08:00,我的信用卡丢了，怎么挂失？,web,CLI-1,\n"
                    "2026-11-02T01:30:00Z,Is there a fee for transfers?,email,CLI-2,T-1\n", encoding="utf-8")
    result = caredesk(import_env, "import", "messages", str(good))
    assert result.returncode == 0, result.stderr
    assert "2 imported, 0 skipped" in result.stdout and "with a topic: 2" in result.stdout
    assert _messages(import_env) == before + 2


def test_import_messages_reads_a_gbk_export_and_refuses_a_wrong_encoding(import_env: dict[str, str],
                                                                         tmp_path: Path) -> None:
    """Chinese Excel saves "CSV" as GBK: auto reads it; naming UTF-8 for it names the line, exit 2, nothing in."""
    before = _messages(import_env)
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("received_at,text,channel,customer_ref\n"
                    "2026-11-03T10:00:00+08:00,转账失败了，钱扣了没到账,app,GBK-1\n".encode("gbk"))

    wrong = caredesk(import_env, "import", "messages", str(gbk), "--encoding", "utf-8")
    assert wrong.returncode == 2 and "not utf-8 text (line 2)" in wrong.stderr
    assert _messages(import_env) == before

    result = caredesk(import_env, "import", "messages", str(gbk))
    assert result.returncode == 0, result.stderr
    assert "1 imported" in result.stdout and "with a topic: 1" in result.stdout  # read as Chinese, not mojibake
    path = import_env["CAREDESK_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        assert db.execute("select count(*) from message").fetchone()[0] == before + 1
