"""Intent accuracy on the dev splits of the public data sets in ../shared/data, measured exactly as
`caredesk eval --task intent` does (`evaluate_intent`: train a fresh model, predict one message at a time).
Skipped, with a note, when ../shared/data is not there: the product never needs it.

Dev splits (the test splits are kept for independent checks): Banking77 and Jining FAQ have none published,
so a fixed stratified 10% of train is held out (seed 13); CLINC150 trains on train + oos_train and is scored on
val + oos_val; SMP2017 trains on train and is scored on develop."""

from __future__ import annotations

import csv
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from caredesk.bench.stats import Figures, Notes, log

__all__ = ["dataset_figures", "shared_data_dir"]

Split = tuple[list[str], list[str], list[str], list[str]]  # train texts, train labels, test texts, test labels
QUICK_TEST_ROWS = 600
SEED = 13


def shared_data_dir() -> Path | None:
    """CAREDESK_SHARED_DATA, else ../shared/data from the working directory or from the repository."""
    candidates = [os.environ.get("CAREDESK_SHARED_DATA", ""), "../shared/data",
                  str(Path(__file__).resolve().parents[3] / ".." / "shared" / "data")]
    for c in candidates:
        if c and Path(c).is_dir():
            return Path(c).resolve()
    return None


def _carve(texts: list[str], labels: list[str], share: float = 0.1) -> Split:
    """A stratified dev split of a train-only set; labels with a single row stay in train."""
    from sklearn.model_selection import train_test_split

    counts = Counter(labels)
    keep = [i for i, y in enumerate(labels) if counts[y] >= 2]
    alone = [i for i, y in enumerate(labels) if counts[y] < 2]
    tr, te = train_test_split(keep, test_size=share, random_state=SEED, stratify=[labels[i] for i in keep])
    tr = sorted(tr + alone)
    return [texts[i] for i in tr], [labels[i] for i in tr], [texts[i] for i in te], [labels[i] for i in te]


def _banking77(root: Path) -> Split:
    with (root / "banking77" / "train.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return _carve([r["text"] for r in rows], [r["category"] for r in rows])


def _clinc150(root: Path) -> Split:
    data = json.loads((root / "clinc150" / "data_full_trainval.json").read_text(encoding="utf-8"))
    train = data["train"] + data["oos_train"]
    test = data["val"] + data["oos_val"]
    return [t for t, _ in train], [y for _, y in train], [t for t, _ in test], [y for _, y in test]


def _tsv(path: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    with path.open(encoding="utf-8") as fh:
        next(fh)  # header
        for line in fh:
            text, _, label = line.rstrip("\n").partition("\t")
            if text.strip() and label:
                texts.append(text)
                labels.append(label)
    return texts, labels


def _smp2017(root: Path) -> Split:
    folder = root / "smp2017_ecdt_task1"
    return (*_tsv(folder / "train.tsv"), *_tsv(folder / "develop.tsv"))


def _jining(root: Path) -> Split:
    texts, labels = [], []
    with (root / "jining_bank_faq_zh" / "train.txt").open(encoding="utf-8") as fh:
        for line in fh:
            question, _, answer = line.rstrip("\n").partition("\t")
            if question.strip() and answer and (question, answer) not in {("扩展问题", "答案"), ("问题", "答案")}:
                texts.append(question)
                labels.append(answer)
    return _carve(texts, labels)


# name -> (loader, oos label, figures to report from the eval result)
DATASETS: dict[str, tuple[Callable[[Path], Split], str | None, dict[str, str]]] = {
    "banking77": (_banking77, None, {"accuracy": "triage_banking77_accuracy"}),
    "clinc150": (_clinc150, "oos", {"accuracy": "triage_clinc150_accuracy",
                                    "inscope_accuracy": "triage_clinc150_inscope_accuracy",
                                    "oos_recall": "triage_clinc150_oos_recall",
                                    "oos_precision": "triage_clinc150_oos_precision"}),
    "smp2017": (_smp2017, None, {"accuracy": "triage_smp2017_accuracy"}),
    "jining": (_jining, None, {"accuracy": "triage_jining_accuracy"}),
}


def _quick_subset(split: Split) -> Split:
    """Quick mode scores every n-th dev row (the training data stays whole, so accuracy stays comparable)."""
    tr_x, tr_y, te_x, te_y = split
    step = max(1, len(te_x) // QUICK_TEST_ROWS)
    return tr_x, tr_y, te_x[::step], te_y[::step]


def dataset_figures(quick: bool) -> tuple[Figures, Notes]:
    from caredesk.cli.evaluate import DEFAULT_SEMANTIC_WEIGHT
    from caredesk.triage.evaluate import evaluate_intent

    root = shared_data_dir()
    if root is None:
        return {}, {"triage_datasets": "skipped: ../shared/data not found (set CAREDESK_SHARED_DATA)"}
    figures: Figures = {}
    done = []
    for name, (load, oos, wanted) in DATASETS.items():
        try:
            split = load(root)
        except (OSError, ValueError, KeyError) as exc:
            log(f"triage: {name} skipped ({exc})")
            done.append(f"{name}: skipped ({type(exc).__name__})")
            continue
        if quick:
            split = _quick_subset(split)
        tr_x, tr_y, te_x, te_y = split
        log(f"triage: {name} intent eval, {len(tr_x)} train / {len(te_x)} dev rows")
        t0 = time.perf_counter()
        result: dict[str, Any] = evaluate_intent(tr_x, tr_y, te_x, te_y, oos_label=oos,
                                                 semantic_weight=DEFAULT_SEMANTIC_WEIGHT)
        for key, figure in wanted.items():
            figures[figure] = float(result[key])
        figures[f"triage_{name}_p99_ms"] = float(result["p99_ms"])
        figures[f"triage_{name}_train_s"] = float(result["train_seconds"])
        done.append(f"{name}: {len(tr_x)} train / {len(te_x)} dev, {time.perf_counter() - t0:.0f}s")
    notes = {"triage_datasets": (
        f"intent accuracy on dev splits of {root} via evaluate_intent (the code behind `caredesk eval --task "
        "intent`, with its default TF-IDF + sentence-embedding features): Banking77 and Jining FAQ "
        "(question -> answer class) hold out a stratified 10% of train (seed 13); CLINC150 trains on train+oos_train, "
        "scores val+oos_val (--oos-label oos); SMP2017 trains "
        "on train, scores develop. triage_<set>_p99_ms: single-message intent prediction; quick mode scores "
        f"every n-th dev row (about {QUICK_TEST_ROWS}). " + "; ".join(done))}
    return figures, notes
