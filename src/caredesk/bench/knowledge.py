"""Knowledge retrieval at scale: `KnowledgeIndex` over 100,000 synthetic zh/en entries (demo KB questions
combined with product names and phrasing templates): index build time and filtered query latency.

The v2 index is hybrid (BM25 + sentence embeddings). Encoding 300,000 questions with the real model would take
far longer than the benchmark may run, and production does not do it on a rebuild either: entries carry their
stored embedding blob. So each synthetic question gets a vector composed from the real embedder's vectors of
its parts (demo question, product name, template wording), packed as the stored blob; the index is built from
those (the production load path) and every query is encoded by the real model."""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Sequence
from dataclasses import replace
from importlib import resources
from typing import Any

from caredesk.bench.stats import Figures, Notes, log, mixed_messages, summary_ms

__all__ = ["run", "synthetic_entries"]

_ZH_PRODUCTS = (
    "借记卡", "信用卡", "白金卡", "手机银行", "网上银行", "微信银行", "理财产品", "定期存款", "大额存单", "房贷",
    "车贷", "消费贷", "基金定投", "外汇业务", "跨境汇款", "社保卡", "公积金贷款", "ETC", "云闪付", "数字人民币钱包",
    "贵金属", "保险代销", "养老金账户", "企业网银", "个人养老金", "留学贷款", "信用卡分期", "积分商城", "境外消费",
    "代发工资卡",
)
_EN_PRODUCTS = (
    "debit card", "credit card", "platinum card", "mobile banking app", "online banking", "WeChat banking",
    "wealth product", "time deposit", "large certificate of deposit", "mortgage", "car loan", "personal loan",
    "fund investment plan", "FX service", "cross-border remittance", "social security card",
    "housing fund loan", "ETC tag", "UnionPay QuickPass", "e-CNY wallet", "precious metals", "bancassurance",
    "pension account",
    "corporate e-banking", "private pension", "study-abroad loan", "card instalments", "rewards mall",
    "overseas spending", "payroll card",
)
_ZH_TEMPLATES = (
    "关于{p}：{q}", "{q}（{p}）", "办理{p}时，{q}", "我的{p}，{q}", "{p}相关问题：{q}", "请问{p}，{q}",
    "{q} 适用于{p}吗", "在分行办{p}，{q}", "{p}客户咨询：{q}", "用{p}的时候{q}", "{q}，{p}也一样吗",
    "老人使用{p}，{q}", "{p}在境外：{q}", "企业客户{p}：{q}", "{q}——{p}版", "新开的{p}，{q}", "{p}到期后{q}",
    "{p}被冻结，{q}", "{p}升级后{q}", "周末办理{p}，{q}", "{p}线上渠道：{q}", "{p}柜台渠道：{q}",
    "{q}（{p}，VIP客户）", "代他人办理{p}，{q}", "{p}首次使用：{q}",
)
_EN_TEMPLATES = (
    "About my {p}: {q}", "{q} ({p})", "When applying for a {p}, {q}", "For the {p}, {q}", "{p} question: {q}",
    "{q} Does this apply to the {p}?", "At the branch, for a {p}: {q}", "My {p}: {q}", "{q} - {p} edition",
    "Elderly customer, {p}: {q}", "Using the {p} abroad: {q}", "Business client, {p}: {q}", "New {p}: {q}",
    "After my {p} matured, {q}", "{p} frozen: {q}", "After the {p} upgrade, {q}",
    "Weekend service for the {p}: {q}", "{p} via online channel: {q}", "{p} at the counter: {q}",
    "{q} (VIP customer, {p})", "On behalf of someone else, {p}: {q}", "First time using the {p}: {q}",
    "{q} Same for the {p}?", "{p} customers ask: {q}", "Regarding {p}, {q}",
)
_CONTENT = ("system", "business", "branch", "external_partner")
_PROBLEM = (("consultation", 0.7), ("complaint", 0.15), ("suggestion", 0.15))


def _demo_questions() -> list[tuple[str, str, list[str], str]]:
    path = resources.files("caredesk.demo").joinpath("knowledge_base.csv")
    with resources.as_file(path) as p, p.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [(r["lang"], r["question"], [s.strip() for s in r["similar_questions"].split("||") if s.strip()],
             r["answer"]) for r in rows]


def _fill(lang: str, template: int, product: int, question: str) -> str:
    products, templates = (_ZH_PRODUCTS, _ZH_TEMPLATES) if lang == "zh" else (_EN_PRODUCTS, _EN_TEMPLATES)
    return templates[template % len(templates)].format(p=products[product], q=question)


Parts = tuple[str, str, int, int]  # (language, demo question text, template index, product index)


def _synthetic(n: int, seed: int) -> tuple[list[Any], dict[str, Parts]]:
    from caredesk.knowledge.retrieval import IndexedEntry

    rng = random.Random(seed)
    base = _demo_questions()
    seen: set[tuple[int, int, int]] = set()
    out: list[IndexedEntry] = []
    parts: dict[str, Parts] = {}
    problems, weights = [name for name, _ in _PROBLEM], [share for _, share in _PROBLEM]
    while len(out) < n:
        b, p = rng.randrange(len(base)), rng.randrange(len(_ZH_PRODUCTS))
        t = rng.randrange(len(_ZH_TEMPLATES))
        if (b, p, t) in seen:
            continue
        seen.add((b, p, t))
        lang, question, similar, answer = base[b]
        picked = [(t, question)] + [(t + 1 + i, rng.choice(similar or [question])) for i in range(2)]
        texts = [_fill(lang, k, p, q) for k, q in picked]
        for text, (k, q) in zip(texts, picked, strict=True):
            parts[text] = (lang, q, k % len(_ZH_TEMPLATES), p)
        products = _ZH_PRODUCTS if lang == "zh" else _EN_PRODUCTS
        problem = rng.choices(problems, weights)[0]
        out.append(IndexedEntry(f"e{len(out):07d}", 1, _CONTENT[len(out) % 4], problem, texts[0],
                                tuple(texts[1:]), f"{answer} ({products[p]})"))
    return out, parts


def synthetic_entries(n: int, seed: int = 11) -> list[Any]:
    """n distinct `IndexedEntry`s (146 demo questions x 30 products x 25 templates, sampled without
    repetition); each has a templated question and two templated similar questions; content types spread
    evenly, problem types 70/15/15 (consultation/complaint/suggestion)."""
    return _synthetic(n, seed)[0]


class _ComposedEmbedder:
    """Stands in for the real embedder when the stored blobs are made: the vector of a synthetic question is
    normalise(v(demo question) + 0.5 v(product) + 0.2 v(template wording) + small noise), each v from the
    real model. Same name and size as the real embedder, so the index accepts the blobs as current."""

    def __init__(self, real: Any, parts: dict[str, Parts]) -> None:
        import numpy as np

        self.name, self.dims, self.parts = real.name, real.dims, parts
        bases = sorted({p[1] for p in parts.values()})
        templates = [t.replace("{p}", " ").replace("{q}", " ") for t in (*_ZH_TEMPLATES, *_EN_TEMPLATES)]
        texts = [*bases, *_ZH_PRODUCTS, *_EN_PRODUCTS, *templates]
        vectors = real.encode(texts)
        self.base = {text: vectors[i] for i, text in enumerate(bases)}
        off = len(bases)
        self.product = {"zh": vectors[off:off + len(_ZH_PRODUCTS)],
                        "en": vectors[off + len(_ZH_PRODUCTS):off + 2 * len(_ZH_PRODUCTS)]}
        off += 2 * len(_ZH_PRODUCTS)
        self.template = {"zh": vectors[off:off + len(_ZH_TEMPLATES)],
                         "en": vectors[off + len(_ZH_TEMPLATES):off + 2 * len(_ZH_TEMPLATES)]}
        self.parts_encoded = len(texts)
        self.rng = np.random.default_rng(3)

    def encode(self, texts: Sequence[str]) -> Any:
        import numpy as np

        rows = []
        for text in texts:
            lang, base, template, product = self.parts[text]
            rows.append(self.base[base] + 0.5 * self.product[lang][product]
                        + 0.2 * self.template[lang][template])
        out = np.asarray(rows, dtype=np.float32) + self.rng.normal(0, 0.01, (len(rows), self.dims))
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def _with_blobs(entries: list[Any], parts: dict[str, Parts]) -> tuple[list[Any], Any, float]:
    """The entries carrying stored embedding blobs, the real embedder (None for a lexical-only index) and
    the real model's encoding time per question (ms, batches of 64)."""
    try:
        from caredesk.knowledge.embedding import embed_entry_questions
        from caredesk.text.encoder import default_embedder
    except ImportError:  # a knowledge index without embeddings
        return entries, None, 0.0
    real = default_embedder()
    sample = [q for e in entries[:200] for q in (e.question, *e.similar_questions)][:512]
    real.encode(sample[:8])  # loads the model
    t0 = time.perf_counter()
    for i in range(0, len(sample), 64):
        real.encode(sample[i:i + 64])
    per_question_ms = (time.perf_counter() - t0) * 1000 / len(sample)
    composer = _ComposedEmbedder(real, parts)
    out = [replace(e, embedding=embed_entry_questions(composer, [e.question, *e.similar_questions]))
           for e in entries]
    return out, real, per_question_ms


def _timed_queries(index: Any, queries: Sequence[str], filters: Sequence[tuple[str, str]], limit: int,
                   budget_s: float) -> tuple[list[float], int]:
    """Latency of each search as intake calls it, until all are done or `budget_s` has passed (at least
    100 searches)."""
    from inspect import signature

    from caredesk.triage.components.language import detect_language

    with_language = "language" in signature(index.search).parameters
    times, hits = [], 0
    deadline = time.perf_counter() + budget_s
    for text, (ct, pt) in zip(queries, filters, strict=True):
        extra = {"language": detect_language(text)} if with_language else {}
        t0 = time.perf_counter()
        found = index.search(text, content_type=ct, problem_type=pt, limit=limit, **extra)
        times.append(time.perf_counter() - t0)
        hits += bool(found)
        if t0 > deadline and len(times) >= 100:
            break
    return times, hits


def run(quick: bool) -> tuple[Figures, Notes]:
    from caredesk.knowledge.retrieval import KnowledgeIndex
    from caredesk.settings import Settings

    n, q, budget = (10_000, 200, 30.0) if quick else (100_000, 1000, 90.0)
    t0 = time.perf_counter()
    entries, parts = _synthetic(n, 11)
    log(f"knowledge: {n} entries generated in {time.perf_counter() - t0:.1f}s; embedding blobs")
    t0 = time.perf_counter()
    entries, real, per_question_ms = _with_blobs(entries, parts)
    questions = sum(1 + len(e.similar_questions) for e in entries)
    log(f"knowledge: blobs in {time.perf_counter() - t0:.1f}s (real model {per_question_ms:.2f} "
        "ms/question); building index")
    t0 = time.perf_counter()
    index = KnowledgeIndex(entries)
    build_s = time.perf_counter() - t0
    del entries
    log(f"knowledge: index built in {build_s:.1f}s; up to {q} queries or {budget:.0f}s")

    rng = random.Random(5)
    paraphrases = [rng.choice(list(parts)) for _ in range(q - q // 2)]
    queries = mixed_messages(q // 2, seed=9) + paraphrases
    rng.shuffle(queries)
    problems, weights = [name for name, _ in _PROBLEM], [share for _, share in _PROBLEM]
    filters = [(rng.choice(_CONTENT), rng.choices(problems, weights)[0]) for _ in queries]
    limit = max(getattr(Settings(environment="test", secret_key="x" * 40), "kb_clarify_max_options", 1), 2)
    _timed_queries(index, queries[:10], filters[:10], limit, budget)  # warm-up
    times, hits = _timed_queries(index, queries, filters, limit, budget)
    p50, p99 = summary_ms(times)
    log(f"knowledge: {len(times)} queries, p50 {p50} ms, p99 {p99} ms")
    size = "_10k" if quick else "_100k"
    figures = {"kb_query_p50_ms": p50, f"kb_query_p99_ms{size}": p99,
               f"kb_index_build_s{size}": round(build_s, 2), "kb_index_questions": float(questions),
               "kb_query_count": float(len(times))}
    if real is not None:
        figures["kb_embed_ms_per_question"] = round(per_question_ms, 3)
        encode_all_s = questions * per_question_ms / 1000
        figures[f"kb_index_build_s{size}_encoding_all_est"] = round(build_s + encode_all_s, 1)
    notes = {"knowledge": (
        f"KnowledgeIndex over {n} synthetic entries (146 demo KB questions x 30 products x 25 phrasing "
        "templates, zh/en, each with 2 similar questions; content types evenly spread, problem types "
        "70/15/15), built from entries carrying stored embedding blobs (the rebuild path of a published KB); "
        "the blobs' vectors are composed from the real embedder's vectors of each question's parts "
        "(demo question, product, template), see bench/knowledge.py. kb_index_build_s excludes encoding; "
        "kb_embed_ms_per_question is the real model in batches of 64, and *_encoding_all_est adds encoding "
        f"all {questions} questions (a first start without stored embeddings). Queries as intake makes them "
        f"(content type + problem type filter, language, limit {limit}; query encoded by the real model): "
        f"half mixed customer messages, half KB paraphrases; {len(times)} of {q} timed (the loop stops after "
        f"{budget:.0f}s: kb_query_count), {hits} returned a match. kb_query_p50_ms is at the same size; "
        "--quick runs use 10,000 entries and the suffix _10k."
        if real is not None else
        f"KnowledgeIndex over {n} synthetic entries, no embeddings in this version; {len(times)} queries.")}
    return figures, notes
