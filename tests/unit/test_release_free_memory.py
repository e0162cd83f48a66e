"""The server hands the heap that loading freed back to the system: without the trim glibc keeps it resident."""

from __future__ import annotations

import platform

import pytest

from caredesk.cli.memory import release_free_memory


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_heap_is_given_back() -> None:
    chunks = [bytearray(2000) for _ in range(60_000)]  # ~120 MB of heap blocks, below the mmap threshold
    keep = chunks[-1]  # the top of the heap stays in use: glibc cannot shrink the heap by itself
    del chunks
    before = _rss_mb()
    assert release_free_memory() is True
    assert before - _rss_mb() > 60, "the freed blocks stayed resident"
    assert len(keep) == 2000


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_malloc_arenas_are_limited_unless_the_operator_chose() -> None:
    import os
    import subprocess
    import sys

    code = "from caredesk.cli.memory import limit_malloc_arenas; print(limit_malloc_arenas())"
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120).stdout.strip() == "True"
    chosen = subprocess.run([sys.executable, "-c", code], env={**env, "MALLOC_ARENA_MAX": "4"},
                            capture_output=True, text=True, timeout=120).stdout.strip()
    assert chosen == "False"
