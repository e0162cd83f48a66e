"""`caredesk analytics try-surges` as an operator runs it (a subprocess on a real SQLite file): the surges a
thresholds file's detection settings would have opened over a past period, in the centre's time zone, as text or
JSON; nothing stored; a bad period or file exits 2 with the reason."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

from caredesk.bootstrap import build_runtime
from caredesk.settings import Settings
from tests.support.cli import caredesk, cli_env
from tests.support.surges import seed_rising_topic

RULES = """rules:
  - {name: backlog_high, metric: backlog, comparison: above, value: 50, window: now, channels: [in_app],
     recipients: [team_lead]}
surges:
  detection:
"""
PERIOD = ("--from", "2026-03-01T10:00", "--to", "2026-03-02T18:00")  # Shanghai; the rise is 03-02 10:00-12:00


@pytest.fixture
def seeded(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite file holding three weeks of two topics and a topic's rise (tests/support/surges.py)."""
    env = cli_env(database_url=f"sqlite:///{tmp_path / 'surges.db'}", var_dir=str(tmp_path / "var"),
                  environment="test", secret_key="cli-test-secret-" + "s" * 32)
    upgraded = caredesk(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    rt = build_runtime(Settings(environment="test", database_url=env["CAREDESK_DATABASE_URL"],
                                var_dir=tmp_path / "var", secret_key=env["CAREDESK_SECRET_KEY"]))
    try:
        seed_rising_topic(rt, per_hour=20)
    finally:
        rt.engine.dispose()
    return env


def _try(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return caredesk(env, "analytics", "try-surges", *args, timeout=300)


def _stored(env: dict[str, str]) -> int:
    with sqlite3.connect(env["CAREDESK_DATABASE_URL"].removeprefix("sqlite:///")) as db:
        return int(db.execute("select count(*) from analytics_surge").fetchone()[0])


def test_try_surges_lists_what_would_have_opened_and_stores_nothing(seeded: dict[str, str], tmp_path: Path
                                                                    ) -> None:
    result = _try(seeded, *PERIOD)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == ("built-in thresholds.yaml: alpha 1.5e-06, windows up to 4 h, at least 5 messages, the busiest "
                        "1 customer counted once, 14 days of history; topic, product, content_type, problem_type, "
                        "channel, branch")
    assert lines[1] == ("2026-03-01T10:00+08:00 to 2026-03-02T18:00+08:00 (1.33 days): 1 surge would have opened "
                        "(22.5 per 30 days); 0 stored for the period")  # the web channel: on the topic's report
    fee = next(line for line in lines if "topic card_fee:" in line)
    assert fee.startswith("  2026-03-02T1") and "+08:00" in fee and "(resolved at the end)" in fee
    assert lines[-1] == "nothing was stored and nobody was told"
    assert _stored(seeded) == 0

    as_json = _try(seeded, *PERIOD, "--json")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["stored_in_period"] == 0 and report["opened"] == len(report["surges"]) == 1
    surge = next(s for s in report["surges"] if (s["dimension"], s["value"]) == ("topic", "card_fee"))
    assert "2026-03-02T10:00+08:00" < surge["detected_at"] <= "2026-03-02T12:00+08:00"
    assert surge["observed"] >= 20 and surge["expected"] < 5 and surge["status"] == "resolved"
    assert report["by_dimension"]["topic"] == 1 and report["settings"]["alpha"] == 1.5e-6

    strict = tmp_path / "strict.yaml"
    strict.write_text(RULES + "    min_count: 100\n", encoding="utf-8")
    result = _try(seeded, *PERIOD, str(strict), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["opened"] == 0


def test_try_surges_refuses_a_bad_period_or_file(seeded: dict[str, str], tmp_path: Path) -> None:
    result = _try(seeded, "--from", "yesterday", "--to", "2026-03-02T18:00")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: from: not an ISO 8601 date or time: 'yesterday'")
    result = _try(seeded, "--from", "2026-03-02T18:00", "--to", "2026-03-02T10:00")
    assert result.returncode == 2 and result.stderr.strip() == "error: --to must be after --from"
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES + "    alpha: 0.5\n", encoding="utf-8")
    result = _try(seeded, *PERIOD, str(bad))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines()[0] == (f"error: {bad}:6: surges.detection.alpha: Input should be less than "
                                             "or equal to 0.01")
    assert _stored(seeded) == 0
