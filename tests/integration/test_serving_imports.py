"""An API process serves without scikit-learn or scipy (~100 MB each process, docs/performance.md): a fresh
interpreter builds the runtime and the app as `caredesk serve` does (tasks external), loads the saved triage
model, takes in messages that open an emergency, a work order and an answer, and reads orders, surges and
knowledge suggestions. Training, detection and clustering import them where they run (worker, CLI)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from caredesk.triage.model import TriageModel, activate
from tests.support.cli import cli_env

SERVE = """
import json, sys
from fastapi.testclient import TestClient
from caredesk.accounts.credentials import do_create_api_key
from caredesk.bootstrap import build_runtime
from caredesk.http.app import create_app
from caredesk.storage.migrate import upgrade

rt = build_runtime()
upgrade(rt.engine)
with rt.uow() as uow:
    _, key = do_create_api_key(uow.session, name="serving", role="admin", now=rt.clock.now())
    uow.commit()
decisions, reads = [], []
with TestClient(create_app(rt, start_consumer=False)) as client:
    client.headers["Authorization"] = f"Bearer {key}"
    for text in ["我的信用卡刚刚被盗刷了，请马上冻结", "你们柜员态度太差了，我要投诉", "How do I reset my password?"]:
        r = client.post("/api/v1/messages", json={"text": text, "channel": "web", "customer_ref": "c-1"})
        decisions.append(r.json()["decision"]["kind"] if r.status_code == 201 else r.status_code)
    orders = client.get("/api/v1/work-orders").json()["items"]
    reads.append(client.get(f"/api/v1/work-orders/{orders[0]['id']}").status_code)
    reads.append(client.get("/api/v1/analytics/surges").status_code)
    reads.append(client.get("/api/v1/knowledge/suggestions").status_code)
loaded = sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] in ("sklearn", "scipy")})
print(json.dumps({"decisions": decisions, "reads": reads, "loaded": loaded,
                  "model": rt.triage.model.version}))
"""


def test_an_api_process_serves_without_scikit_learn_or_scipy(tmp_path: Path, triage_model: TriageModel) -> None:
    activate(triage_model, tmp_path / "models")
    env = cli_env(database_url=f"sqlite:///{tmp_path / 'serving.db'}", tasks_mode="external",
                  var_dir=str(tmp_path / "var"), model_dir=str(tmp_path / "models"), environment="test",
                  secret_key="serving-test-secret-" + "z" * 32, mail_dir=str(tmp_path / "mail"))
    done = subprocess.run([sys.executable, "-c", SERVE], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["model"] == triage_model.version  # the saved model, not one trained on the spot
    # no knowledge base here: the question is searched for, found nowhere, and opens an order
    assert out["decisions"] == ["emergency", "work_order", "work_order"], out
    assert out["reads"] == [200, 200, 200], out
    assert out["loaded"] == [], f"a serving process imported {out['loaded']}"
