"""A surge's report, kept as JSON on its row: what rose and by how much since when, up to five sample messages
(masked text only), the phrases over-represented in the window's messages against the series' messages of the
week before, the clusters of similar messages (analytics/surge_clusters.py: sentence embeddings), the branches
and channels they came from, and the hourly series for a chart."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from caredesk.analytics.surge_clusters import cluster_messages, clusters_json
from caredesk.storage.orm import Branch, Conversation, Customer, Message, Surge, TriageResult
from caredesk.text.encoder import Embedder
from caredesk.text.segment import tokenize

__all__ = ["SAMPLES", "build_report", "distinguishing_phrases"]

SAMPLES = 5
PHRASES = 8
MESSAGE_LIMIT = 2000  # messages read from the window (and as many from the baseline week) for the phrases
BASELINE = timedelta(days=7)


def _series_messages(dimension: str, value: str, start: datetime, end: datetime) -> Select[str, str, str]:
    """Customer messages of one series received in [start, end): masked text, channel, branch code."""
    stmt = (select(Message.text_masked, Conversation.channel, Branch.code)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(Customer, Customer.id == Conversation.customer_id)
            .outerjoin(Branch, Branch.id == Customer.branch_id)
            .where(Message.direction == "in", Message.author == "customer", Message.created_at >= start,
                   Message.created_at < end))
    if dimension == "channel":
        return stmt.where(Conversation.channel == value)
    if dimension == "branch":
        return stmt.where(Branch.code == value)
    column = {"topic": TriageResult.topic, "product": TriageResult.product,
              "content_type": TriageResult.content_type, "problem_type": TriageResult.problem_type}[dimension]
    return stmt.join(TriageResult, TriageResult.message_id == Message.id).where(column == value)


def _grams(text: str) -> set[str]:
    words = tokenize(text)
    grams = {w for w in words if len(w) > 1 or not w.isascii()}
    grams |= {f"{a} {b}" if a.isascii() and b.isascii() else a + b
              for a, b in itertools.pairwise(words)}
    return grams


def distinguishing_phrases(window: Sequence[str], baseline: Sequence[str], top: int = PHRASES
                           ) -> list[dict[str, Any]]:
    """Words and word pairs in more of the window's messages than the baseline's: the log-odds ratio of their
    document frequencies with add-one smoothing, kept when at least two window messages have them."""
    in_window = Counter(g for text in window for g in _grams(text))
    in_base = Counter(g for text in baseline for g in _grams(text))
    n_w, n_b = len(window) + 1, len(baseline) + 1
    scored = []
    for gram, count in in_window.items():
        if count < 2:
            continue
        score = math.log((count + 0.5) / n_w) - math.log((in_base.get(gram, 0) + 0.5) / n_b)
        if score > 0:
            scored.append((score, count, gram))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    return [{"phrase": g, "window_share": round(c / len(window), 3),
             "baseline_share": round(in_base.get(g, 0) / max(1, len(baseline)), 3)}
            for _, c, g in scored[:top]]


def build_report(session: Session, surge: Surge, hours: list[dict[str, Any]], *, embedder: Embedder
                 ) -> dict[str, Any]:
    """`hours`: the chart's series, [{"hour", "observed", "expected"}] oldest first; `embedder` clusters the
    window's newest messages."""
    rows = [(r[0], r[1], r[2]) for r in session.execute(
        _series_messages(surge.dimension, surge.value, surge.window_start, surge.window_end)
        .order_by(Message.created_at.desc()).limit(MESSAGE_LIMIT))]
    base = session.scalars(
        _series_messages(surge.dimension, surge.value, surge.window_start - BASELINE, surge.window_start)
        .with_only_columns(Message.text_masked).order_by(Message.created_at.desc()).limit(MESSAGE_LIMIT)).all()
    texts = [r[0] for r in rows]
    ratio = round(surge.observed / surge.expected, 2) if surge.expected > 0 else None
    return {
        "summary": {"dimension": surge.dimension, "value": surge.value, "observed": surge.observed,
                    "expected": round(surge.expected, 2), "ratio": ratio,
                    "since": surge.window_start.isoformat(),
                    "hours": int((surge.window_end - surge.window_start).total_seconds() // 3600)},
        "samples": texts[:SAMPLES],
        "phrases": distinguishing_phrases(texts, list(base)),
        "clusters": clusters_json(cluster_messages(texts, embedder, distinguishing_phrases)),
        "channels": dict(Counter(r[1] for r in rows).most_common()),
        "branches": dict(Counter(r[2] for r in rows if r[2]).most_common()),
        "messages_read": len(rows),
        "series": hours,
    }
