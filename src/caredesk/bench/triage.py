"""Triage pipeline latency (one message at a time) and batch throughput, on the model trained from the
shipped seed corpus, over mixed zh/en messages."""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import TYPE_CHECKING

from caredesk.bench.stats import Figures, Notes, log, mixed_messages, summary_ms, time_calls
from caredesk.bench.triage_data import dataset_figures

if TYPE_CHECKING:
    from caredesk.triage.doc import TriageDoc
    from caredesk.triage.model import TriageModel
    from caredesk.triage.pipeline import TriagePipeline

__all__ = ["run"]

BATCH = 64


def _batch_triage(pipeline: TriagePipeline, model: TriageModel, messages: list[str]) -> list[TriageDoc]:
    """The full pipeline with the classifier run once per batch: the cheap per-message steps before it
    (normalise, language, PII masking, segmentation, entities), `predict_many` over the batch, then the
    per-message lexicon rules. Same results as `pipeline(text)` for each message."""
    from caredesk.triage.components.classify import assign
    from caredesk.triage.doc import TriageDoc

    steps = dict(zip(pipeline.names, pipeline._steps, strict=True))
    split = pipeline.names.index("caredesk.classify.v2")
    before, after = [steps[n] for n in pipeline.names[:split]], [steps[n] for n in pipeline.names[split + 1:]]
    docs = []
    for text in messages:
        doc = TriageDoc(text=text)
        for step in before:
            doc = step(doc)
        docs.append(doc)
    masked = [d.masked for d in docs]
    embeddings = model.vectors.encode(masked)  # one encoder call for the batch
    for doc, text, embedding in zip(docs, masked, embeddings, strict=True):
        assign(doc, model, model.predict(text, embedding=embedding), embedding)
    out = []
    for doc in docs:
        for step in after:
            doc = step(doc)
        out.append(doc)
    return out


def rss_mb() -> float:
    """This process's resident set size now (Linux /proc), else its peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return peak_rss_mb()


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(quick: bool) -> tuple[Figures, Notes]:
    from caredesk.triage.model import read_corpus, seed_corpus_path
    from caredesk.triage.pipeline import TriagePipeline
    from caredesk.triage.training import train_model

    n = 300 if quick else 2000
    t0 = time.perf_counter()
    model = train_model(read_corpus(seed_corpus_path()), holdout=0)
    train_s = time.perf_counter() - t0
    log(f"triage: model trained in {train_s:.1f}s")
    pipeline = TriagePipeline(model)
    warm = mixed_messages(200, seed=1)
    messages = mixed_messages(n, seed=2)
    time_calls(pipeline, warm)  # jieba dictionary, feature names, caches
    log(f"triage: timing {n} single messages")
    p50, p99 = summary_ms(time_calls(pipeline, messages))

    batch_msgs = mixed_messages(n * 2, seed=3)
    check = batch_msgs[:BATCH * 3]  # the batch path must give the single-message pipeline's labels
    for doc, text in zip(_batch_triage(pipeline, model, check), check, strict=True):
        expected = {h: s.label for h, s in pipeline(text).labels.items()}
        if {h: s.label for h, s in doc.labels.items()} != expected:
            raise RuntimeError(f"batch triage differs from the pipeline on {text!r}")
    log(f"triage: batch throughput over {len(batch_msgs)} messages, batches of {BATCH}")
    masked: list[str] = []
    t0 = time.perf_counter()
    for i in range(0, len(batch_msgs), BATCH):
        masked += [doc.masked for doc in _batch_triage(pipeline, model, batch_msgs[i:i + BATCH])]
    full_rate = len(batch_msgs) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for i in range(0, len(masked), BATCH):
        model.predict_many(masked[i:i + BATCH])
    clf_rate = len(masked) / (time.perf_counter() - t0)

    figures = {"triage_p50_ms": p50, "triage_p99_ms": p99, "triage_batch_msgs_per_s": round(full_rate, 1),
               "triage_classifier_batch_msgs_per_s": round(clf_rate, 1),
               "triage_model_train_s": round(train_s, 2),
               "triage_rss_mb": rss_mb()}
    notes = {
        "triage": (
            f"TriagePipeline(model)(text), one message at a time, {n} messages (seed corpus shuffled, "
            "perturbed with greetings, phone/card numbers, amounts, order numbers, full-width punctuation, "
            "code-switching, repetition) after 200 warm-up messages; model trained in-process from the seed "
            "corpus (holdout=0, triage_model_train_s)."),
        "triage_batch": (
            "triage_batch_msgs_per_s: the whole pipeline with the classifier run once per batch of "
            f"{BATCH} via TriageModel.predict_many and the other steps per message (labels checked equal to "
            "the single-message pipeline on 3 batches); one process, one thread. "
            "triage_classifier_batch_msgs_per_s: predict_many alone on already-masked texts."),
    }
    notes["triage_rss"] = (
        "triage_rss_mb: resident memory of this bench process with the triage pipeline loaded and used (python, "
        "numpy, scikit-learn, jieba, the model), measured before the data-set evaluations; "
        "triage_bench_peak_rss_mb: the process's peak after them (several intent models trained in turn).")
    data_figures, data_notes = dataset_figures(quick)
    figures |= data_figures
    notes |= data_notes
    figures["triage_bench_peak_rss_mb"] = peak_rss_mb()
    return figures, notes
