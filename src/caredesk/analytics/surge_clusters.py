"""Clusters of similar messages in a surge's window: the masked texts embedded with the shipped sentence encoder
(text/encoder.py) and grouped by average-linkage agglomerative clustering under a cosine-distance threshold, so
the number of clusters follows the messages (one theme, one cluster; two themes, two). Each main cluster is
reported with its size, its share of the window, the messages nearest its centre, and the phrases that
distinguish it from the rest of the window (the same log-odds as the report's phrases).

Bounded in time: at most `MESSAGE_CAP` messages (the newest) are embedded, which is about a second on one core
the first time and much less for texts the encoder has cached."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from caredesk.text.encoder import Embedder

__all__ = ["DISTANCE_THRESHOLD", "MESSAGE_CAP", "MessageCluster", "cluster_messages", "clusters_json"]

MESSAGE_CAP = 300
DISTANCE_THRESHOLD = 0.65  # cosine distance at which two groups stop merging (average linkage; see the test)
MIN_SIZE = 2  # a "cluster" of one message is no pattern
TOP_CLUSTERS = 3
REPRESENTATIVES = 3

PhraseFinder = Callable[[Sequence[str], Sequence[str]], list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class MessageCluster:
    size: int
    share: float  # of the messages clustered
    representatives: list[str]  # masked texts nearest the cluster's centre, nearest first
    phrases: list[dict[str, Any]]  # what distinguishes it from the other messages of the window
    cohesion: float  # mean cosine similarity of its members to their centre


def _labels(vectors: np.ndarray[Any, np.dtype[np.float32]], threshold: float) -> np.ndarray[Any, Any]:
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                    distance_threshold=threshold)
    return np.asarray(model.fit_predict(vectors))


def cluster_messages(texts: Sequence[str], embedder: Embedder, phrases: PhraseFinder, *,
                     cap: int = MESSAGE_CAP, threshold: float = DISTANCE_THRESHOLD,
                     top: int = TOP_CLUSTERS) -> list[MessageCluster]:
    """The main clusters of `texts` (masked; the first `cap` are used), largest first; clusters of fewer than
    two messages are left out. `phrases(inside, outside)` names what distinguishes a cluster."""
    texts = [t for t in texts[:cap] if t and t.strip()]
    if len(texts) < MIN_SIZE:
        return []
    vectors = np.asarray(embedder.encode(texts), dtype=np.float32)
    labels = _labels(vectors, threshold)
    out = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < MIN_SIZE:
            continue
        centre = vectors[members].mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        similarity = vectors[members] @ centre
        order = members[np.argsort(-similarity, kind="stable")]
        inside = [texts[i] for i in members]
        outside = [texts[i] for i in np.flatnonzero(labels != label)]
        seen: list[str] = []
        for i in order:  # distinct texts only: a repeated complaint is one representative
            if texts[i] not in seen:
                seen.append(texts[i])
            if len(seen) == REPRESENTATIVES:
                break
        out.append(MessageCluster(size=len(members), share=round(len(members) / len(texts), 3),
                                  representatives=seen, phrases=phrases(inside, outside)[:5],
                                  cohesion=round(float(similarity.mean()), 3)))
    out.sort(key=lambda c: (-c.size, -c.cohesion))
    return out[:top]


def clusters_json(clusters: Sequence[MessageCluster]) -> list[dict[str, Any]]:
    return [asdict(c) for c in clusters]
