"""`caredesk eval`: measure the intent model or the knowledge retrieval on labelled CSV files.

    caredesk eval --task intent --train TRAIN.csv --test TEST.csv [--oos-label oos] [--json]
    caredesk eval --task faq --kb KB.csv --test TEST.csv [--json]
    caredesk eval --task taxonomy [--train TRAIN.csv [--with-shipped]] --test TEST.csv [--json]

Intent files have the columns text,label; FAQ files question,answer; taxonomy files
text,content_type,problem_type,urgency (optional emotion, complaint_level, complaint_types, out_of_scope,
source; content type `external` is read as CareDesk's `external_partner`). Without --train, taxonomy scores
the active shipped model. The result goes to stdout (one JSON
object with --json, else a short table); progress goes to stderr. Bad input: a message and exit code 2."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from caredesk.errors import CareDeskError, InvalidFile

# The sentence embedding beside TF-IDF at this weight, unless --semantic-weight says otherwise (Banking77 dev:
# 90.7% lexical only, 93.3% with it; SMP2017 89.9% -> 93.8%; CLINC150 in-scope 92.4% -> 95.1%).
DEFAULT_SEMANTIC_WEIGHT = 1.0

__all__ = ["DEFAULT_SEMANTIC_WEIGHT", "eval_command", "read_labelled_csv"]

TASKS = ("intent", "faq", "taxonomy")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _required(value: Path | None, option: str, task: str) -> Path:
    if value is None:
        _fail(f"--task {task} needs {option}")
    return value


def eval_command(
    task: Annotated[str, typer.Option("--task", help="What to measure: intent or faq")],
    train: Annotated[Path | None, typer.Option("--train", help="intent: training CSV (text,label)")] = None,
    test: Annotated[Path | None, typer.Option(
        "--test", help="Test CSV (intent: text,label; faq: question,answer)")] = None,
    kb: Annotated[Path | None, typer.Option("--kb", help="faq: knowledge-base CSV (question,answer)")] = None,
    oos_label: Annotated[str | None, typer.Option("--oos-label", help="intent: the out-of-scope label, "
                                                  "e.g. oos; enables rejection and its metrics")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    semantic_weight: Annotated[float, typer.Option(
        "--semantic-weight", min=0.0, max=10.0,
        help="intent: weight of the sentence-embedding features beside TF-IDF (0: lexical only, faster)")
    ] = DEFAULT_SEMANTIC_WEIGHT,
    with_shipped: Annotated[bool, typer.Option(
        "--with-shipped", help="taxonomy: train on the shipped corpus as well as --train")] = False,
) -> None:
    """Train a fresh model and test it (intent, taxonomy), score the active triage model (taxonomy without
    --train), or index a knowledge base and ask it (faq): quality and latency."""
    if task not in TASKS:
        _fail(f"unknown --task {task!r}; expected one of: {', '.join(TASKS)}")
    if with_shipped and (task != "taxonomy" or train is None):
        _fail("--with-shipped goes with --task taxonomy --train TRAIN.csv")
    try:
        if task == "intent":
            result = _run_intent(train, test, oos_label, semantic_weight)
        elif task == "faq":
            result = _run_faq(kb, test)
        else:
            result = _run_taxonomy(train, test, with_shipped)
    except CareDeskError as exc:
        _fail(exc.message)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        _print_table(result)


def read_labelled_csv(path: Path, columns: tuple[str, str] = ("text", "label")
                      ) -> tuple[list[str], list[str]]:
    """The two named columns of a UTF-8 CSV with a header; rows with an empty first column are skipped.
    Raises InvalidFile for a missing file, a missing column or a file without rows."""
    if not path.is_file():
        raise InvalidFile(f"file not found: {path}")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames is None:
                raise InvalidFile(f"{path}: the file is empty (expected a header with {', '.join(columns)})")
            missing = [c for c in columns if c not in reader.fieldnames]
            if missing:
                raise InvalidFile(f"{path}: missing column(s) {', '.join(missing)} "
                                  f"(found: {', '.join(reader.fieldnames)})")
            first, second = [], []
            for line, row in enumerate(reader, start=2):
                a, b = (row.get(columns[0]) or "").strip(), (row.get(columns[1]) or "").strip()
                if not a:
                    continue
                if not b:
                    raise InvalidFile(f"{path}:{line}: empty {columns[1]!r}")
                first.append(a)
                second.append(b)
    except UnicodeDecodeError as exc:
        raise InvalidFile(f"{path}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise InvalidFile(f"{path}: not a readable CSV file ({exc})") from None
    if not first:
        raise InvalidFile(f"{path}: no data rows")
    return first, second


def _run_intent(train: Path | None, test: Path | None, oos_label: str | None,
                semantic_weight: float = DEFAULT_SEMANTIC_WEIGHT) -> dict[str, Any]:
    train_texts, train_labels = read_labelled_csv(_required(train, "--train", "intent"))
    test_texts, test_labels = read_labelled_csv(_required(test, "--test", "intent"))
    from caredesk.triage.evaluate import evaluate_intent  # scikit-learn: only once the input is good

    _say(f"intent: {len(train_texts)} training rows, {len(test_texts)} test rows")
    return evaluate_intent(train_texts, train_labels, test_texts, test_labels, oos_label=oos_label,
                           semantic_weight=semantic_weight, progress=_say)


def _run_taxonomy(train: Path | None, test: Path | None, with_shipped: bool) -> dict[str, Any]:
    from caredesk.triage.corpus import read_corpus, seed_corpus_path

    test_rows = read_corpus(_required(test, "--test", "taxonomy"))
    if not test_rows:
        raise InvalidFile(f"{test}: no data rows")
    train_rows = read_corpus(train) if train is not None else []
    if train is not None and not train_rows:
        raise InvalidFile(f"{train}: no data rows")
    from caredesk.intake.decision import DecisionPolicy
    from caredesk.settings import Settings
    from caredesk.triage.model import load_active_model
    from caredesk.triage.taxonomy_eval import evaluate_taxonomy
    from caredesk.triage.training import train_model

    settings = Settings()
    policy = DecisionPolicy.of(settings)
    if train is None:
        _say("scoring the active triage model (trained from the shipped corpus when none is)")
        model = load_active_model(settings.models_path)
    else:
        rows = train_rows + (read_corpus(seed_corpus_path()) if with_shipped else [])
        _say(f"taxonomy: training fresh heads on {len(rows)} rows")
        model = train_model(rows)
    result = {"task": "taxonomy", **evaluate_taxonomy(model, test_rows, policy, progress=_say),
              "n_train": len(train_rows) if train is not None else model.metrics.get("n_train"),
              "model_version": model.version}
    return result


def _run_faq(kb: Path | None, test: Path | None) -> dict[str, Any]:
    columns = ("question", "answer")
    kb_questions, kb_answers = read_labelled_csv(_required(kb, "--kb", "faq"), columns)
    test_questions, test_answers = read_labelled_csv(_required(test, "--test", "faq"), columns)
    from caredesk.knowledge.evaluate import evaluate_faq

    return evaluate_faq(kb_questions, kb_answers, test_questions, test_answers, progress=_say)


_ROWS = {
    "intent": [("accuracy", "accuracy"), ("macro-F1", "macro_f1"), ("in-scope accuracy", "inscope_accuracy"),
               ("oos recall", "oos_recall"), ("oos precision", "oos_precision"), ("training rows", "n_train"),
               ("test rows", "n_test"), ("labels", "n_labels"), ("training seconds", "train_seconds")],
    "taxonomy": [("test rows", "n_test"), ("urgent recall", "urgent_recall"),
                 ("urgent precision", "urgent_precision"),
                 ("emergency on non-urgent", "emergency_rate_on_non_urgent"), ("emotion macro-F1", "emotion_macro_f1")],
    "faq": [("top-1 accuracy", "top1_accuracy"), ("top-5 accuracy", "top5_accuracy"), ("MRR@5", "mrr_at_5"),
            ("entries", "n_kb"), ("questions indexed", "n_kb_questions"), ("test rows", "n_test")],
}
_LATENCY = [("p50 ms / message", "p50_ms"), ("p99 ms / message", "p99_ms"),
            ("p99 CPU ms / message", "cpu_p99_ms")]


def _print_table(result: dict[str, Any]) -> None:
    typer.echo(f"caredesk eval --task {result['task']}")
    for name, key in _ROWS[result["task"]] + _LATENCY:
        if key in result:
            value = result[key]
            ratio = isinstance(value, float) and not key.endswith(("_ms", "_seconds"))
            shown = f"{value:.4f}" if ratio else f"{value}"
            typer.echo(f"  {name:<22} {shown}")
    for head, value in (result.get("accuracy") or {}).items() if isinstance(result.get("accuracy"), dict) else ():
        typer.echo(f"  {head + ' accuracy':<22} {value:.4f}")
