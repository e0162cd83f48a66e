"""`caredesk eval --task taxonomy` as the independent checks run it (issue 11's interface): a subprocess, CSV
files in, one JSON object out. Fresh heads trained on a small TRAIN, and the active model scored without one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from caredesk.triage.model import TriageModel, activate
from tests.support.cli import caredesk, cli_env

HEADS = {"content_type", "problem_type", "urgency"}

TRAIN = """\ufefftext,content_type,problem_type,urgency
how do I reset my app password,system,consultation,general
the app crashes every time I log in,system,complaint,attention
my online banking login keeps failing,system,complaint,attention
what is the ATM daily limit,system,consultation,general
手机银行登录不了,system,complaint,attention
网银密码怎么改,system,consultation,general
ATM取款限额是多少,system,consultation,general
app一直闪退,system,complaint,general
what is the annual fee of the gold card,business,consultation,general
you charged me a fee twice,business,complaint,attention
someone used my card without permission,business,complaint,urgent
how do I open a savings account,business,consultation,general
信用卡年费多少,business,consultation,general
你们乱扣我手续费,business,complaint,attention
我的卡被盗刷了,business,complaint,urgent
定期存款利率多少,business,consultation,general
where is your nearest branch,branch,consultation,general
the branch staff were rude to me,branch,complaint,attention
what time does the branch open on saturday,Branch,consultation,general
the queue at the branch was two hours,branch,complaint,general
最近的网点在哪,branch,consultation,general
网点柜员态度太差,branch,complaint,attention
支行几点开门,branch,consultation,general
网点排队太久了,branch,complaint,general
the merchant refused my refund,External,complaint,attention
the courier lost my parcel,external_partner,complaint,attention
another bank's ATM kept my card,external,complaint,attention
can I use apple pay with your card,external,consultation,general
商家不给退款,external,complaint,attention
快递员把包裹弄丢了,external,complaint,attention
他行ATM吞了我的卡,external,complaint,attention
能绑定支付宝吗,external,consultation,general
"""

# The last two rows are labelled not urgent on purpose: the emergency rate on non-urgent rows is about the
# decision. A theft in progress fires a hard rule whatever the label says; a question about preventing fraud does not.
TEST = """text,content_type,problem_type,urgency,emotion
how can I change my app login password,system,consultation,general,neutral
my card was stolen and used for purchases,business,complaint,urgent,anxious
我的信用卡被盗刷了，快帮我冻结,business,complaint,urgent,anxious
where is the branch near the station,branch,consultation,general,neutral
网点今天开门吗,branch,consultation,general,neutral
信用卡年费怎么收,business,consultation,general,neutral
someone stole my wallet and is spending on my card right now,business,complaint,general,anxious
how do I prevent fraud on my card,business,consultation,general,neutral
"""


def _eval(tmp_path: Path, *args: str, model_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = cli_env(var_dir=str(tmp_path / "var"), database_url=f"sqlite:///{tmp_path / 'eval.db'}")
    if model_dir is not None:
        env["CAREDESK_MODEL_DIR"] = str(model_dir)
    return caredesk(env, "eval", "--task", "taxonomy", *args)


def _files(tmp_path: Path, test: str = TEST) -> tuple[Path, Path]:
    train, test_file = tmp_path / "train.csv", tmp_path / "test.csv"
    train.write_text(TRAIN, encoding="utf-8")
    test_file.write_text(test, encoding="utf-8")
    return train, test_file


def _assert_interface(result: dict[str, Any], n_test: int) -> None:
    assert result["n_test"] == n_test
    for figure in ("accuracy", "macro_f1"):
        assert set(result[figure]) == HEADS
        assert all(0.0 <= v <= 1.0 for v in result[figure].values())
    for key in ("urgent_recall", "urgent_precision", "emergency_rate_on_non_urgent"):
        assert 0.0 <= result[key] <= 1.0, key
    assert 0 < result["p50_ms"] <= result["p99_ms"] < 5000


def test_fresh_heads_on_train_predict_test_and_the_emergency_rate_follows_the_decision(tmp_path: Path) -> None:
    train, test = _files(tmp_path)

    done = _eval(tmp_path, "--train", str(train), "--test", str(test), "--json")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    _assert_interface(result, n_test=8)
    assert result["n_train"] == 32  # "External", "Branch" and "external_partner" were read as labels
    assert 0.0 <= result["emotion_macro_f1"] <= 1.0  # TEST has emotions
    # six non-urgent rows; only the theft in progress goes to the emergency response
    assert result["emergency_rate_on_non_urgent"] == round(1 / 6, 4)
    assert result["urgent_recall"] == 1.0  # both thefts are urgent by the hard rule


def test_without_train_the_active_model_is_scored(tmp_path: Path, triage_model: TriageModel) -> None:
    models = tmp_path / "models"
    activate(triage_model, models)
    no_emotion = "\n".join(line.rsplit(",", 1)[0] for line in TEST.splitlines()) + "\n"
    _, test = _files(tmp_path, no_emotion)

    done = _eval(tmp_path, "--test", str(test), "--json", model_dir=models)

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    _assert_interface(result, n_test=8)
    assert result["model_version"] == triage_model.version  # loaded, not trained again
    assert "emotion_macro_f1" not in result  # TEST has no emotions
    assert result["accuracy"]["content_type"] >= 0.75


def test_a_label_outside_the_taxonomy_exits_2_naming_the_line_and_the_labels(tmp_path: Path) -> None:
    train, test = _files(tmp_path, TEST.replace("网点今天开门吗,branch", "网点今天开门吗,counter"))

    done = _eval(tmp_path, "--train", str(train), "--test", str(test), "--json")

    assert done.returncode == 2
    assert "test.csv:6: content_type 'counter' is not one of" in done.stderr
    assert "'external'" in done.stderr
    assert done.stdout == ""
