"""The sentence encoder's embedding table read from a file (the real encoder): the same vectors as the table
in memory, the process's memory spared (nothing mapped: RSS, not only RssAnon), and a stale or damaged file
rewritten, never used."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from caredesk.text.encoder import TableRows, UseEmbedder

TEXTS = ["我的信用卡被盗刷了", "How do I reset my password?", "转人工", "手机银行登录不了，提示密码错误"]


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_encoder_table_mapped_gives_the_same_vectors_and_is_rewritten_when_damaged(tmp_path: Path) -> None:
    in_memory = UseEmbedder(cache_size=0)
    expected = in_memory.encode(TEXTS)
    table = in_memory._load()._model.table  # type: ignore[attr-defined]
    assert isinstance(table, np.ndarray) and table.nbytes > 60 * 2**20
    del in_memory, table

    before = _rss_mb()
    mapped = UseEmbedder(cache_size=0, table_dir=tmp_path)
    assert np.array_equal(mapped.encode(TEXTS), expected)
    assert isinstance(mapped._load()._model.table, TableRows)  # type: ignore[attr-defined]
    assert _rss_mb() - before < 100, "the 65 MB table stayed in the process's own memory"
    [written] = tmp_path.glob("use-m3-*.npy")

    with written.open("r+b") as f:  # one byte of the table changed on disk: the next start writes it again
        f.seek(-1000, 2)
        byte = f.read(1)
        f.seek(-1000, 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    del mapped
    again = UseEmbedder(cache_size=0, table_dir=tmp_path)
    assert np.array_equal(again.encode(TEXTS), expected)
    with written.open("rb") as f:
        f.seek(-1000, 2)
        assert f.read(1) == byte
