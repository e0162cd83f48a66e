"""From a retrieval score to a confidence: the probability that the entry answers the customer's question.

confidence = 1 / (1 + exp(-(SCORE * score + MARGIN * max(margin, 0) + BIAS)))

`score` is the hybrid score of knowledge/retrieval.py; `margin` is how far the entry is ahead of the best other
candidate (only the top entry has a positive one). Monotone in both: a better score or a clearer lead never
lowers the confidence, and two close candidates get the same, lower confidence, which is what lets the decision
ask a clarifying question instead of guessing.

The coefficients were fitted once by `fit_from_demo_kb()` (run `python -m caredesk.knowledge.calibration`) on
paraphrase queries generated from the shipped demo knowledge base: five folds of its similar questions, each
fold asked against an index built without them (a hit when the top entry is the question's own entry), plus
the same questions against an index without their entry at all (nothing right to find: every candidate is a
miss). Logistic regression over every returned candidate (top 5), no class weights."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["BIAS", "CROSS_BIAS", "CROSS_MARGIN", "CROSS_SCORE", "MARGIN", "SCORE", "confidence",
           "fit_from_demo_kb"]

SCORE = 9.51
MARGIN = 15.448
BIAS = -6.308
# An entry in the other language than the question (its score is the embedding's alone, lower by nature):
CROSS_SCORE = 13.163
CROSS_MARGIN = 39.928
CROSS_BIAS = -5.862


def confidence(score: float, margin: float, *, cross_language: bool = False) -> float:
    if cross_language:
        z = CROSS_SCORE * score + CROSS_MARGIN * max(margin, 0.0) + CROSS_BIAS
    else:
        z = SCORE * score + MARGIN * max(margin, 0.0) + BIAS
    return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0


def fit_from_demo_kb(folds: int = 5, seed: int = 3) -> dict[str, Any]:
    """Refit the three coefficients on the demo knowledge base (see the module docstring)."""
    import csv
    import random
    from importlib import resources

    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from caredesk.knowledge.retrieval import KnowledgeIndex
    from caredesk.knowledge.store import IndexedEntry

    path = resources.files("caredesk.demo").joinpath("knowledge_base.csv")
    with resources.as_file(path) as p, p.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    entries = [(r["key"], r["question"], [s.strip() for s in r["similar_questions"].split("||") if s.strip()],
                r["answer"]) for r in rows]
    rng = random.Random(seed)
    held: list[list[tuple[int, str]]] = [[] for _ in range(folds)]
    for pos, (_, _, similar, _) in enumerate(entries):
        for q in similar:
            held[rng.randrange(folds)].append((pos, q))
    features: list[tuple[float, float]] = []
    labels: list[int] = []
    top1 = asked = 0
    for fold in range(folds):
        out = {(pos, q) for pos, q in held[fold]}
        # entries missing from the KB (with their other-language twin: demo keys are zh-xxx / en-xxx)
        gone = {key[3:] for key, *_ in entries if rng.random() < 0.2}
        absent = {pos for pos, (key, *_) in enumerate(entries) if key[3:] in gone}
        present = [IndexedEntry(key, 1, "", "", question, tuple(s for s in similar if (pos, s) not in out), answer)
                   for pos, (key, question, similar, answer) in enumerate(entries) if pos not in absent]
        index = KnowledgeIndex(present)
        for pos, q in held[fold]:
            ranked = index.rank(q, limit=5, language=entries[pos][0][:2])
            gold = entries[pos][0] if pos not in absent else None
            for i, (hit, score) in enumerate(ranked):
                best_other = ranked[1][1] if i == 0 and len(ranked) > 1 else (ranked[0][1] if i else 0.0)
                features.append((score, max(score - best_other, 0.0)))
                labels.append(int(index.entries[hit].entry_id == gold))
            if gold is not None:
                asked += 1
                top1 += bool(ranked) and index.entries[ranked[0][0]].entry_id == gold
    x, y = np.asarray(features), np.asarray(labels)
    model = LogisticRegression(C=10.0).fit(x, y)
    cross_x, cross_y, cross_top1, cross_asked = _cross_language_pairs(entries)
    cross = LogisticRegression(C=10.0).fit(cross_x, cross_y)
    return {"SCORE": round(float(model.coef_[0][0]), 3), "MARGIN": round(float(model.coef_[0][1]), 3),
            "BIAS": round(float(model.intercept_[0]), 3), "pairs": len(y), "positives": int(y.sum()),
            "top1_on_held_out_paraphrases": round(top1 / max(asked, 1), 4),
            "CROSS_SCORE": round(float(cross.coef_[0][0]), 3), "CROSS_MARGIN": round(float(cross.coef_[0][1]), 3),
            "CROSS_BIAS": round(float(cross.intercept_[0]), 3), "cross_pairs": len(cross_y),
            "cross_top1": round(cross_top1 / max(cross_asked, 1), 4)}


def _cross_language_pairs(entries: list[tuple[str, str, list[str], str]]) -> tuple[Any, Any, int, int]:
    """Every question of a demo entry that has a twin in the other language (zh-xxx / en-xxx), asked against an
    index of the other language's entries only: a hit when the top entry is the twin."""
    import numpy as np

    from caredesk.knowledge.retrieval import KnowledgeIndex
    from caredesk.knowledge.store import IndexedEntry

    keys = {key for key, *_ in entries}
    features: list[tuple[float, float]] = []
    labels: list[int] = []
    top1 = asked = 0
    for source, target in (("en", "zh"), ("zh", "en")):
        index = KnowledgeIndex([IndexedEntry(key, 1, "", "", q, tuple(similar), answer)
                                for key, q, similar, answer in entries if key.startswith(target)])
        for key, question, similar, _ in entries:
            twin = target + key[2:]
            if not key.startswith(source) or twin not in keys:
                continue
            for q in (question, *similar):
                ranked = index.rank(q, limit=5, language=source)
                for i, (p, score) in enumerate(ranked):
                    best_other = ranked[1][1] if i == 0 and len(ranked) > 1 else (ranked[0][1] if i else 0.0)
                    features.append((score, max(score - best_other, 0.0)))
                    labels.append(int(index.entries[p].entry_id == twin))
                asked += 1
                top1 += bool(ranked) and index.entries[ranked[0][0]].entry_id == twin
    return np.asarray(features), np.asarray(labels), top1, asked


if __name__ == "__main__":  # pragma: no cover - a maintenance command
    import json

    print(json.dumps(fit_from_demo_kb(), indent=2))
