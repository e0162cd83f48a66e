"""Surge detection through the product, as an independent check runs it: a 60-day history of real-looking messages
(the surge bench's replay, bench/surge_replays.py: nine topics, the quiet one rising fivefold) is written as a CSV,
taken in by `caredesk import messages` on a fresh SQLite file (triage gives each message its topic, product,
content type, problem type; channels and customers are drawn), and the surges the import's replay opened are read
back. Unlike the `surge` group, every dimension is judged, as the task judges them.

Figures: `surge_import_detected_within_2h_share` and `surge_import_detected_share` (the quiet topic's rise, its
own series), `surge_import_false_alarms_60d` (mean over seeds) and `_max` (worst seed): surges opened on any
other series, or on the quiet topic outside its rise, that began neither during the rise nor in the three hours
after it; `surge_import_during_rise_60d`: surges of other series opened during the rise (reported apart, not
counted as false); `surge_import_also_raised`: the series the topic's surge accounted for (the same messages
counted in an aggregate such as a channel or a content type: on its report, not surges of their own).
`surge_import_burst_opened_share`: each history also holds one customer's burst (eight messages on a busy topic
in 20 minutes at night, away from the rise): the share of histories where a surge opened on it (within four
hours of it; those surges are counted here, not as false surges)."""

from __future__ import annotations

import csv
import os
import random
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from caredesk.analytics.surge_lifecycle import list_surges
from caredesk.bench.processes import cli, models_for_servers
from caredesk.bench.stats import Figures, Notes, log
from caredesk.bench.surge_replays import START, make_replay
from caredesk.storage.db import make_engine, make_session_factory

__all__ = ["TOPIC_PHRASES", "run", "write_history"]

# Index 0 is the quiet topic that rises. Phrases of the shipped bank topics (triage/lexicons/topics.yaml), so the
# triage's topic is the generator's.
TOPIC_PHRASES: dict[str, tuple[str, ...]] = {
    "account_open_close": ("开户", "销户", "办卡", "开通账户", "注销账户"),
    "fees_charges": ("手续费", "年费", "管理费", "短信费", "工本费"),
    "credit_card_bill": ("信用卡账单", "信用卡还款", "账单分期", "最低还款", "临时额度"),
    "loan_mortgage": ("房贷", "车贷", "提前还款", "贷款审批", "月供"),
    "credit_report": ("征信", "信用报告", "征信记录", "不良记录", "征信异议"),
    "online_banking_login": ("登录密码", "忘记密码", "收不到验证码", "登不上", "重置密码"),
    "atm_cash": ("取款机", "取现", "柜员机", "吐钞", "存现"),
    "deposit_wealth": ("大额存单", "理财产品", "定期存款", "基金定投", "赎回"),
    "branch_service": ("营业时间", "网点", "排队", "叫号", "大堂经理"),
}
OPENINGS = ("请问", "你好，", "我想问下", "", "麻烦问一下", "咨询一下", "您好，请问")
ENDINGS = ("怎么办", "怎么弄", "需要什么材料", "是什么情况", "？", "要多久", "在哪里办理", "有什么规定")
CHANNELS = ("web", "web", "app", "wechat", "phone")
CUSTOMERS = 3000
BURST_MESSAGES, BURST_MINUTES = 8, 20


def _burst(seed: int, rise: datetime) -> list[tuple[datetime, str, str, str]]:
    """One customer's burst of messages on a busy topic at 02:00-04:00 in Shanghai (18:00-20:00 UTC), on a day
    of days 20-55 at least a day from the rise (its own random stream: the other rows stay as they were)."""
    rng = random.Random(10_000 + seed)
    day = START + timedelta(days=rng.randrange(20, 56), hours=18, minutes=rng.randrange(120))
    if abs(day - rise) < timedelta(days=1):
        day += timedelta(days=3)
    phrases = list(TOPIC_PHRASES.values())[1 + rng.randrange(len(TOPIC_PHRASES) - 1)]
    return [(day + timedelta(minutes=BURST_MINUTES * k / BURST_MESSAGES),
             rng.choice(OPENINGS) + rng.choice(phrases) + rng.choice(ENDINGS), "app", "B00001")
            for k in range(BURST_MESSAGES)]


def write_history(seed: int, path: Path, *, burst: bool = True) -> tuple[datetime, datetime, datetime | None]:
    """The replay of `seed` as a history CSV; returns the rise's start and end, and the burst's start."""
    rng = random.Random(seed)
    replay = make_replay(seed)
    rows = []
    for k, phrases in enumerate(TOPIC_PHRASES.values()):
        quarters = replay.quarters[k]
        for i in np.flatnonzero(quarters):
            for _ in range(int(quarters[i])):
                at = START + timedelta(minutes=15 * int(i) + rng.random() * 15)
                rows.append((at, rng.choice(OPENINGS) + rng.choice(phrases) + rng.choice(ENDINGS),
                             rng.choice(CHANNELS), f"C{rng.randrange(CUSTOMERS):05d}"))
    start = START + timedelta(minutes=replay.surge_start_minute)
    bursts = _burst(seed, start) if burst else []
    rows += bursts
    rows.sort()
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["received_at", "text", "channel", "customer_ref"])
        out.writerows([at.isoformat(), text, channel, ref] for at, text, channel, ref in rows)
    return start, start + timedelta(minutes=replay.surge_minutes), bursts[0][0] if bursts else None


def _surges(db: Path) -> list[tuple[str, str, datetime, int]]:
    """What the import's replay opened, oldest first, read as the surges page reads them: the series, when it was
    detected, and how many other series it accounted for."""
    engine = make_engine(f"sqlite:///{db}")
    try:
        with make_session_factory(engine)() as session:
            surges = list_surges(session, limit=10_000)
    finally:
        engine.dispose()
    at = [(s.dimension, s.value, s.detected_at if s.detected_at.tzinfo else s.detected_at.replace(tzinfo=UTC),
           len((s.report or {}).get("also_raised", []))) for s in surges]
    return sorted(at, key=lambda s: s[2])


def run(quick: bool) -> tuple[Figures, Notes]:
    seeds = range(2 if quick else 10)
    quiet = next(iter(TOPIC_PHRASES))
    within: list[bool] = []
    detected: list[bool] = []
    false_alarms: list[int] = []
    during: list[int] = []
    raised: list[int] = []
    burst_opened: list[bool] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="caredesk-bench-surge-import-") as tmp:
        base = Path(tmp)
        env = {**os.environ, "CAREDESK_VAR_DIR": str(base / "var")}
        model = models_for_servers(env, base / "models")  # else the first import trains it, and the rest load it
        for seed in seeds:
            t1 = time.perf_counter()
            history, db = base / f"history-{seed}.csv", base / f"seed-{seed}.db"
            start, end, burst = write_history(seed, history)
            env["CAREDESK_DATABASE_URL"] = f"sqlite:///{db}"
            subprocess.run([*cli(), "db", "upgrade"], env=env, check=True, capture_output=True, timeout=300)
            subprocess.run([*cli(), "import", "messages", str(history)], env=env, check=True, capture_output=True,
                           timeout=3600)
            surges = _surges(db)
            late = end + timedelta(minutes=15)
            own = [(at, n) for d, v, at, n in surges if (d, v) == ("topic", quiet) and start < at <= late]
            detected.append(bool(own))
            within.append(bool(own) and own[0][0] - start <= timedelta(hours=2))
            raised.append(sum(n for _, n in own))
            on_burst = [(d, v, at) for d, v, at, _ in surges
                        if burst is not None and burst < at <= burst + timedelta(hours=4)]
            burst_opened.append(bool(on_burst))
            rest = [(d, v, at) for d, v, at, _ in surges
                    if not ((d, v) == ("topic", quiet) and own and at == own[0][0]) and (d, v, at) not in on_burst]
            near = [s for s in rest if start < s[2] <= end + timedelta(hours=3)]
            during.append(len(near))
            false_alarms.append(len(rest) - len(near))
            others = [(d, v, f"{at:%m-%d %H:%M}") for d, v, at in rest]
            log(f"surge_import seed {seed}: rise {start:%m-%d %H:%M} UTC, detected "
                f"{(own[0][0] - start) if own else None} (also raised {raised[-1]}), other surges {others}, "
                f"on the burst {[(d, v) for d, v, _ in on_burst]} "
                f"({time.perf_counter() - t1:.0f} s)")
    n = len(seeds)
    figures: Figures = {
        "surge_import_detected_within_2h_share": round(sum(within) / n, 3),
        "surge_import_detected_share": round(sum(detected) / n, 3),
        "surge_import_false_alarms_60d": round(statistics.mean(false_alarms), 3),
        "surge_import_false_alarms_60d_max": float(max(false_alarms)),
        "surge_import_during_rise_60d": round(statistics.mean(during), 3),
        "surge_import_also_raised": round(statistics.mean(raised), 3),
        "surge_import_burst_opened_share": round(sum(burst_opened) / n, 3),
        "surge_import_seconds": round(time.perf_counter() - t0, 1),
    }
    notes: Notes = {"surge_import": (
        f"{n} seeds of the surge bench's 60-day replay written as a history CSV (texts from the shipped bank "
        f"topics' phrases, channel and customer drawn), taken in by `caredesk import messages` on a fresh SQLite "
        f"file (the first import {model}); every dimension judged (topic, product, content type, problem type, "
        f"channel, branch); "
        f"false alarms: surges opened neither on the rising topic during its rise nor on any series during the "
        f"rise or the three hours after it; also raised: series the rising topic's surge accounted for (on its "
        f"report, not surges of their own); burst: one customer's {BURST_MESSAGES} messages on a busy topic in "
        f"{BURST_MINUTES} minutes at night, away from the rise; the share of histories where it opened a surge")}
    return figures, notes
