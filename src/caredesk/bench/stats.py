"""Small helpers shared by the benchmarks: percentiles, timing, progress on stderr, realistic messages."""

from __future__ import annotations

import csv
import os
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

__all__ = ["Figures", "Notes", "log", "mixed_messages", "percentile", "summary_ms", "time_calls"]

T = TypeVar("T")

Figures = dict[str, float]
Notes = dict[str, str]

_START = time.perf_counter()


def log(message: str) -> None:
    print(f"[bench {time.perf_counter() - _START:6.1f}s] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    if not values:
        raise ValueError("percentile of an empty sample")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def summary_ms(seconds: Sequence[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds, rounded to 3 decimals."""
    return round(percentile(seconds, 50) * 1000, 3), round(percentile(seconds, 99) * 1000, 3)


def time_calls(fn: Callable[[T], object], args: Sequence[T]) -> list[float]:
    """Wall time in seconds of fn(arg) for each arg, in order."""
    out = []
    for arg in args:
        t0 = time.perf_counter()
        fn(arg)
        out.append(time.perf_counter() - t0)
    return out


# --- messages: the shipped seed corpus, shuffled, plus perturbations ----------------------------------------
_ZH_PREFIX = ("您好，", "你好 ", "请问", "客服，", "急！", "")
_ZH_SUFFIX = ("谢谢。", "麻烦尽快处理", "！！", "？", "我的手机号13812345678",
              "卡号6222021234567890128", "昨天转了5000元",
              "订单号 A20261123001", "")
_EN_PREFIX = ("Hi, ", "Hello team, ", "URGENT: ", "Please help: ", "")
_EN_SUFFIX = (" Thanks.", " My phone is +86 139 1234 5678.", " I paid USD 250 yesterday.",
              " Card 6222 0212 3456 7890 128.", " order no. ZX-778812", " ASAP!!", "")


def _perturb(text: str, lang: str, rng: random.Random) -> str:
    if lang == "zh":
        text = rng.choice(_ZH_PREFIX) + text + rng.choice(_ZH_SUFFIX)
    else:
        text = rng.choice(_EN_PREFIX) + text + rng.choice(_EN_SUFFIX)
    roll = rng.random()
    if roll < 0.15:  # full-width / odd spacing, as pasted from phones
        text = text.replace(",", "，").replace(" ", "  ")
    elif roll < 0.25:  # a mixed zh/en message
        text = text + (" 请尽快回复" if lang == "en" else " please reply asap")
    elif roll < 0.30:  # a long, repeated complaint
        text = " ".join([text] * rng.randint(2, 4))
    return text


def mixed_messages(n: int, seed: int = 7) -> list[str]:
    """n realistic zh/en customer messages: seed-corpus texts, shuffled, each with a random perturbation
    (greetings, PII such as phones and card numbers, amounts, dates, order numbers, full-width punctuation,
    code-switching, repetition); in the first pass over the corpus about half are left as written."""
    from caredesk.triage.components.language import detect_language
    from caredesk.triage.model import seed_corpus_path

    with Path(seed_corpus_path()).open(encoding="utf-8-sig", newline="") as fh:
        rows = [(r["text"], "zh" if detect_language(r["text"]) == "zh" else "en") for r in csv.DictReader(fh)
                if r["text"].strip() and len(r["text"]) < 300]  # customer messages, not the long narratives
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        batch = rows[:]
        rng.shuffle(batch)
        for text, lang in batch:
            out.append(text if len(out) < len(rows) and rng.random() < 0.5 else _perturb(text, lang, rng))
    out = out[:n]
    rng.shuffle(out)
    return out


def bench_postgres_url() -> str:
    """The PostgreSQL the PostgreSQL groups use (a temporary schema in it, dropped afterwards)."""
    return os.environ.get("CAREDESK_BENCH_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")


def shown_url(url: str) -> str:
    """A URL for the report, its password (if any) hidden."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)
