"""`caredesk profiles ...` and the demo's profiles as a user runs them: real subprocesses on a real SQLite
file. The demo's customers have generated history (not real data)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from caredesk.storage.orm import CustomerProfile, ProfileTrainingRun
from tests.support import cli


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("cli-profiles")
    env = cli.cli_env(database_url=f"sqlite:///{home / 'cli.db'}", var_dir=str(home / "var"),
                      model_dir=str(home / "models"), environment="test", secret_key="cli-test-secret-" + "y" * 32)
    done = caredesk(env, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    return env


def caredesk(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The demo and `profiles train` train the profile model: more time than the usual command."""
    return cli.caredesk(env, *args, timeout=300)


def _count(env: dict[str, str], model: type) -> int:
    engine = create_engine(env["CAREDESK_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def test_cli_demo_loads_profiles_once(env: dict[str, str]) -> None:
    first = caredesk(env, "demo")
    assert first.returncode == 0, first.stderr
    assert "demo profiles: 120 customers with generated history" in first.stdout
    assert "model promoted" in first.stdout and "held-out AUC 0." in first.stdout
    assert (Path(env["CAREDESK_MODEL_DIR"]) / "profiles" / "ACTIVE").is_file()
    assert _count(env, CustomerProfile) == 120 and _count(env, ProfileTrainingRun) == 1
    again = caredesk(env, "demo")
    assert again.returncode == 0 and "demo profiles" not in again.stdout
    assert _count(env, CustomerProfile) == 120


def test_cli_profiles_refresh_train_and_validate(env: dict[str, str], tmp_path: Path) -> None:
    if _count(env, CustomerProfile) == 0:
        assert caredesk(env, "demo").returncode == 0
    one = caredesk(env, "profiles", "refresh", "DEMO-P000001")
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("DEMO-P000001: value ") and "segment " in one.stdout
    unknown = caredesk(env, "profiles", "refresh", "nobody-here")
    assert unknown.returncode == 2 and "unknown customer ref(s): nobody-here" in unknown.stderr
    assert caredesk(env, "profiles", "refresh").returncode == 2
    every = caredesk(env, "profiles", "refresh", "--all")
    assert every.returncode == 0 and every.stdout.startswith("120 profiles refreshed")

    trained = caredesk(env, "profiles", "train")
    assert trained.returncode == 0, trained.stderr
    run = json.loads(trained.stdout)
    # the demo's history again, with cut-offs a little later: promoted only when its held-out AUC is higher
    cand, active = run["candidate"]["auc_recent"], run["active"]["auc_recent"]
    assert cand is not None and active is not None and run["active_version"]
    if run["promoted"]:
        assert cand > active and "beats active" in run["reason"] and run["refreshed"] == 120
    else:
        assert cand <= active and "not better" in run["reason"] and run["refreshed"] == 0
    assert caredesk(env, "profiles", "train", "--weeks", "3").returncode == 2

    ok = caredesk(env, "profiles", "validate")
    assert ok.returncode == 0 and "31 features" in ok.stdout
    bad = tmp_path / "rules.yaml"
    bad.write_text("version: 1\nemotion_scores: {}\nfeatures: []\n", encoding="utf-8")
    refused = caredesk(env, "profiles", "validate", str(bad))
    assert refused.returncode == 2 and "features" in refused.stderr
