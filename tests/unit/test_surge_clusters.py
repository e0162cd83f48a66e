"""Clusters of similar messages (analytics/surge_clusters.py) with the shipped sentence encoder on hand-written
texts: two themes in Chinese and English give two clusters, each with its own members, representatives and
distinguishing phrases; one theme gives one; a lone message is no cluster; the cap bounds what is embedded.
On these texts the two themes stay apart for distance thresholds from 0.55 to 0.75 (measured); the default
sits in the middle."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from caredesk.analytics.surge_clusters import cluster_messages, clusters_json
from caredesk.analytics.surge_report import distinguishing_phrases
from caredesk.text.encoder import default_embedder

FEE = ["信用卡年费被扣了两次", "年费重复扣款，请退回", "为什么我的年费扣了两次", "my annual fee was charged twice",
       "annual fee charged twice, please refund", "年费多扣了一笔"]
APP = ["手机银行登录不上去", "APP一直闪退，无法登录", "the mobile app crashes when I log in", "手机银行app打不开",
       "cannot log in to the banking app", "登录手机银行总是提示错误"]


class CountingEmbedder:
    """The shipped encoder, counting what it is asked to embed."""

    name = "counting"
    dims = 512

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.seen += list(texts)
        return default_embedder().encode(texts)


def test_cluster_messages_two_themes_make_two_clusters() -> None:
    texts = [t for pair in zip(FEE, APP, strict=True) for t in pair]  # interleaved, as they arrive
    clusters = cluster_messages(texts, default_embedder(), distinguishing_phrases)
    assert len(clusters) == 2
    themes = []
    for cluster in clusters:
        assert cluster.size == 6 and cluster.share == 0.5 and 0 < cluster.cohesion <= 1
        assert len(cluster.representatives) == 3 and len(set(cluster.representatives)) == 3
        theme = FEE if cluster.representatives[0] in FEE else APP
        assert all(r in theme for r in cluster.representatives)
        themes.append(theme)
        phrases = {p["phrase"] for p in cluster.phrases}
        assert phrases & ({"年费", "charged twice", "annual fee"} if theme is FEE else {"登录", "手机银行", "app"})
    assert themes[0] is not themes[1]
    assert clusters_json(clusters)[0]["size"] == 6


def test_cluster_messages_one_theme_is_one_cluster_and_a_lone_message_none() -> None:
    clusters = cluster_messages([*FEE, "请问网点几点开门"], default_embedder(), distinguishing_phrases)
    assert [c.size for c in clusters] == [6]  # the opening-hours question stays alone, and is left out
    assert "请问网点几点开门" not in clusters[0].representatives
    assert cluster_messages(["年费扣了两次"], default_embedder(), distinguishing_phrases) == []
    assert cluster_messages([], default_embedder(), distinguishing_phrases) == []


def test_cluster_messages_embeds_at_most_the_cap() -> None:
    embedder = CountingEmbedder()
    clusters = cluster_messages(FEE * 10 + APP * 10, embedder, distinguishing_phrases, cap=8)
    assert len(embedder.seen) == 8 and embedder.seen == (FEE * 2)[:8]  # the first (newest) eight
    assert [c.size for c in clusters] == [8]
    assert clusters[0].representatives[0] in FEE and len(clusters[0].representatives) == 3

