"""The shipped triage on the hand-labelled dev split (corpus/, never trained on), measured as
`caredesk eval --task taxonomy` does: a model trained from the shipped corpus, as a fresh install trains it,
then every dev message through the whole pipeline one at a time. The dev texts come back from ../shared
(`corpus/build.py`); without it the figures are left out with a note."""

from __future__ import annotations

import runpy
from pathlib import Path

from caredesk.bench.stats import Figures, Notes, log
from caredesk.bench.triage_data import shared_data_dir

__all__ = ["run"]

REPO = Path(__file__).resolve().parents[3]


def _dev_file() -> Path | None:
    dev = REPO / "var/corpus/dev.csv"
    if not dev.is_file() and (REPO / "corpus/build.py").is_file() and shared_data_dir() is not None:
        runpy.run_path(str(REPO / "corpus/build.py"), run_name="__main__")
    return dev if dev.is_file() else None


def run(quick: bool) -> tuple[Figures, Notes]:
    dev = _dev_file()
    if dev is None:
        return {}, {"taxonomy": "skipped: the dev split needs ../shared and corpus/ (a source checkout)"}
    from caredesk.intake.decision import DecisionPolicy
    from caredesk.settings import Settings
    from caredesk.triage.corpus import read_corpus, seed_corpus_path
    from caredesk.triage.taxonomy_eval import evaluate_taxonomy
    from caredesk.triage.training import train_model

    settings = Settings()
    policy = DecisionPolicy.of(settings)
    log("taxonomy: training the shipped model from the shipped corpus")
    model = train_model(read_corpus(seed_corpus_path()))
    rows = read_corpus(dev)
    r = evaluate_taxonomy(model, rows, policy, progress=log)
    found: dict[str, float | None] = {f"taxonomy_dev_accuracy_{h}": v for h, v in r["accuracy"].items()}
    found |= {"taxonomy_dev_urgent_recall": r["urgent_recall"],
              "taxonomy_dev_urgent_precision": r["urgent_precision"],
              "taxonomy_dev_false_emergency_rate": r["emergency_rate_on_non_urgent"],
              "emotion_dev_macro_f1": r.get("emotion_macro_f1"), "taxonomy_dev_n": r["n_test"],
              "taxonomy_dev_p99_ms": r["p99_ms"]}
    for group in ("by_source", "by_language"):
        for key, sub in (r.get(group) or {}).items():
            for head, value in sub["accuracy"].items():
                found[f"taxonomy_dev_{key}_accuracy_{head}"] = value
            found[f"taxonomy_dev_{key}_urgent_recall"] = sub["urgent_recall"]
            found[f"taxonomy_dev_{key}_false_emergency_rate"] = sub["emergency_rate_on_non_urgent"]
            found[f"emotion_dev_{key}_macro_f1"] = sub.get("emotion_macro_f1")
    figures: Figures = {k: v for k, v in found.items() if v is not None}
    return figures, {"taxonomy": f"dev split of corpus/ ({r['n_test']} hand-labelled real texts); ECE "
                                 + ", ".join(f"{h} {x['ece']}" for h, x in r["reliability"].items())}
