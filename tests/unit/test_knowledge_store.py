"""The knowledge store swaps indexes without making requests wait on a rebuild (issue: a fresh server
answered 500 while every request queued on the first build holding a database connection)."""

from __future__ import annotations

import threading

from caredesk.knowledge.store import IndexedEntry, KnowledgeStore
from tests.unit.test_retrieval import HashEmbedder


def _entries(n: int, answer: str = "a") -> list[IndexedEntry]:
    return [IndexedEntry(f"e{i}", 1, "system", "consultation", f"question {i}", (), f"{answer}{i}")
            for i in range(n)]


def test_same_signature_reuses_the_index_and_a_new_one_rebuilds() -> None:
    store, loads = KnowledgeStore(), []

    def load() -> list[IndexedEntry]:
        loads.append(1)
        return _entries(3)

    first = store.current((3, "x"), load, embedder=HashEmbedder())
    assert store.current((3, "x"), load, embedder=HashEmbedder()) is first and len(loads) == 1
    second = store.current((3, "y"), load, embedder=HashEmbedder())
    assert second is not first and len(loads) == 2 and store.signature == (3, "y")


def test_while_one_thread_rebuilds_the_others_answer_from_the_previous_index() -> None:
    store = KnowledgeStore()
    old = store.current((2, "v1"), lambda: _entries(2, "old"), embedder=HashEmbedder())
    started, release = threading.Event(), threading.Event()

    def slow_load() -> list[IndexedEntry]:
        started.set()
        release.wait(10)
        return _entries(2, "new")

    rebuilt: list[object] = []
    builder = threading.Thread(
        target=lambda: rebuilt.append(store.current((2, "v2"), slow_load, embedder=HashEmbedder())))
    builder.start()
    assert started.wait(10)
    # a second caller sees the new signature too, but does not wait for the build
    assert store.current((2, "v2"), slow_load, embedder=HashEmbedder()) is old
    release.set()
    builder.join(10)
    assert rebuilt and rebuilt[0] is not old
    assert rebuilt[0].entries[0].answer == "new0"  # type: ignore[attr-defined]
    assert store.current((2, "v2"), slow_load) is rebuilt[0]


def test_a_large_index_is_rebuilt_in_the_background_and_a_failure_keeps_the_old_one() -> None:
    store = KnowledgeStore(background_above=2)
    old = store.current((3, "v1"), lambda: _entries(3, "old"), embedder=HashEmbedder())
    done = threading.Event()

    def failing_load() -> list[IndexedEntry]:
        done.set()
        raise RuntimeError("database went away")

    assert store.current((3, "v2"), failing_load, embedder=HashEmbedder()) is old  # the caller does not wait
    assert done.wait(10)
    for _ in range(100):  # the background thread releases the build lock when it gives up
        if store._build_lock.acquire(timeout=0.1):
            store._build_lock.release()
            break
    assert store.current((3, "v1"), failing_load) is old
    loaded = threading.Event()

    def good_load() -> list[IndexedEntry]:
        loaded.set()
        return _entries(3, "new")

    assert store.current((3, "v3"), good_load, embedder=HashEmbedder()) is old
    assert loaded.wait(10)
    for _ in range(100):
        if store.signature == (3, "v3"):
            break
        threading.Event().wait(0.05)
    assert store.current((3, "v3"), good_load).entries[0].answer == "new0"
