"""Measure knowledge retrieval: index question/answer pairs with the product's `KnowledgeIndex` (rows that
share an answer are one entry: the first is its standard question, the rest its similar questions), then ask
each test question one at a time. A hit is a retrieved entry whose answer equals the test row's answer."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from caredesk.knowledge.retrieval import IndexedEntry, KnowledgeIndex
from caredesk.triage.evaluate import timed_predictions

__all__ = ["entries_from_pairs", "evaluate_faq"]

Progress = Callable[[str], None]
TOP_K = 5


def entries_from_pairs(questions: Sequence[str], answers: Sequence[str]) -> list[IndexedEntry]:
    """One entry per distinct answer, in order of first appearance; no content or problem type to filter."""
    grouped: dict[str, list[str]] = {}
    for question, answer in zip(questions, answers, strict=True):
        grouped.setdefault(answer, []).append(question)
    return [IndexedEntry(f"faq-{n:06d}", 1, "", "", qs[0], tuple(qs[1:]), answer)
            for n, (answer, qs) in enumerate(grouped.items(), start=1)]


def evaluate_faq(kb_questions: Sequence[str], kb_answers: Sequence[str], test_questions: Sequence[str],
                 test_answers: Sequence[str], *, progress: Progress | None = None) -> dict[str, Any]:
    say = progress or (lambda _msg: None)
    entries = entries_from_pairs(kb_questions, kb_answers)
    say(f"indexing {len(entries)} entries ({len(kb_questions)} questions)…")
    start = time.perf_counter()
    index = KnowledgeIndex(entries)
    index_seconds = time.perf_counter() - start
    say(f"asking {len(test_questions)} test questions one at a time…")
    results, timings = timed_predictions(lambda q: index.search(q, limit=TOP_K), test_questions)
    known = {e.answer for e in entries}
    top1 = top5 = 0
    reciprocal = 0.0
    for matches, answer in zip(results, test_answers, strict=True):
        ranked = [m.answer for m in matches]
        if ranked[:1] == [answer]:
            top1 += 1
        if answer in ranked:
            top5 += 1
            reciprocal += 1.0 / (ranked.index(answer) + 1)
    n = max(len(test_questions), 1)
    return {
        "task": "faq",
        "top1_accuracy": round(top1 / n, 4),
        "top5_accuracy": round(top5 / n, 4),
        "mrr_at_5": round(reciprocal / n, 4),
        "n_kb": len(entries),
        "n_kb_questions": len(kb_questions),
        "n_test": len(test_questions),
        "n_test_answer_not_in_kb": sum(1 for a in test_answers if a not in known),
        **timings.summary(),
        "index_seconds": round(index_seconds, 2),
    }
