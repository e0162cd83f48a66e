"""`caredesk train` learns from agents' corrections: a message's label is corrected in the database, the
command retrains, and the new active model predicts the corrected label for that (masked) text."""

from __future__ import annotations

import json
from pathlib import Path

from caredesk.bootstrap import build_runtime
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.learning.correction_actions import do_correct_label
from caredesk.settings import Settings
from caredesk.triage.model import TriageModel, activate, load_active_model
from caredesk.triage.pipeline import TriagePipeline
from tests.support.cli import caredesk, cli_env

TEXT = "The ATM at your Zhangjiang branch swallowed my card this morning, call me on 13912345678"


def test_cli_train_uses_corrections_and_changes_the_prediction(tmp_path: Path, triage_model: TriageModel) -> None:
    models = tmp_path / "models"
    activate(triage_model, models)
    env = cli_env(database_url=f"sqlite:///{tmp_path / 'train.db'}", var_dir=str(tmp_path / "var"),
                  model_dir=str(models), environment="test", tasks_mode="immediate",
                  secret_key="train-test-secret-" + "z" * 32)
    upgraded = caredesk(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    settings = Settings(environment="test", database_url=env["CAREDESK_DATABASE_URL"], var_dir=tmp_path / "var",
                        model_dir=models, tasks_mode="immediate", secret_key=env["CAREDESK_SECRET_KEY"])
    rt = build_runtime(settings, make_current=False)
    rt.set_pipeline(TriagePipeline(triage_model))
    out = do_receive_message(rt, IncomingMessage(TEXT, "web", "train-cust"))
    masked = out.doc.masked
    assert "13912345678" not in masked
    before = triage_model.predict(masked)["content_type"].label
    new = "system" if before != "system" else "business"
    do_correct_label(rt.uow(), out.message_id, "content_type", new, actor="staff:t", staff_id=None,
                     now=rt.clock.now())
    rt.engine.dispose()

    result = caredesk(env, "train", timeout=300)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n_corrections"] == 1 and report["heads"]["urgency"]["accuracy"] > 0.5
    assert "1 label corrections" in result.stderr
    retrained = load_active_model(models, train_if_missing=False)
    assert retrained.version == report["version"] != triage_model.version
    assert retrained.metrics["n_corrections"] == 1
    assert json.loads((models / "triage" / retrained.version / "metrics.json").read_text())["n_corrections"] == 1
    assert retrained.predict(masked)["content_type"].label == new
