"""`caredesk eval` through the real command line, on the small samples in tests/data (see SOURCE.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"


def run_eval(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "caredesk.cli.main", "eval", *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def eval_json(*args: str | Path) -> dict[str, Any]:
    done = run_eval(*args, "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert isinstance(result, dict)
    return result


def assert_latency(result: dict[str, Any]) -> None:
    assert 0 < result["p50_ms"] <= result["p99_ms"] < 5000


def test_eval_intent_reports_quality_latency_and_oos() -> None:
    result = eval_json("--task", "intent", "--train", DATA / "intent_train.csv", "--test",
                       DATA / "intent_test.csv", "--oos-label", "oos")
    assert result["n_train"] == 170 and result["n_test"] == 60
    for key in ("accuracy", "macro_f1", "inscope_accuracy", "oos_recall", "oos_precision"):
        assert 0.0 <= result[key] <= 1.0, key
    assert result["accuracy"] > 0.7
    assert result["inscope_accuracy"] > 0.7
    assert result["oos_recall"] > 0.3
    assert_latency(result)


def test_eval_intent_without_oos_label_prints_a_table() -> None:
    done = run_eval("--task", "intent", "--train", DATA / "intent_train.csv", "--test",
                    DATA / "intent_test.csv")
    assert done.returncode == 0, done.stderr
    assert "accuracy" in done.stdout and "p99 ms" in done.stdout
    assert "oos recall" not in done.stdout
    assert "training on 170 rows" in done.stderr  # progress goes to stderr


def test_eval_faq_reports_top1_and_top5() -> None:
    result = eval_json("--task", "faq", "--kb", DATA / "faq_kb.csv", "--test", DATA / "faq_test.csv")
    assert result["n_kb"] == 40 and result["n_test"] == 40
    assert 0.4 < result["top1_accuracy"] <= result["top5_accuracy"] <= 1.0
    assert result["top5_accuracy"] > 0.7
    assert_latency(result)


@pytest.mark.parametrize(("args", "message"), [
    (["--task", "intent", "--train", "missing.csv", "--test", DATA / "intent_test.csv"], "file not found"),
    (["--task", "intent", "--train", DATA / "faq_kb.csv", "--test", DATA / "intent_test.csv"],
     "missing column(s) text, label"),
    (["--task", "faq", "--kb", DATA / "intent_train.csv", "--test", DATA / "faq_test.csv"],
     "missing column(s) question, answer"),
    (["--task", "intent", "--train", "{empty}", "--test", DATA / "intent_test.csv"], "empty"),
    (["--task", "sentiment", "--test", DATA / "intent_test.csv"], "unknown --task"),
])
def test_eval_bad_input_exits_2_with_message(tmp_path: Path, args: list[Any], message: str) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    done = run_eval(*[str(empty) if a == "{empty}" else a for a in args])
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""
