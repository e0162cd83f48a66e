"""The `caredesk` processes a benchmark starts: each in its own process group, so that a gunicorn master and
the workers it forked end together (SIGTERM, then SIGKILL), whatever the benchmark was doing; and what /proc
says about their memory."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

__all__ = ["MODEL_DIR_ENV", "children", "cli", "free_port", "last_traceback", "memory_mb", "models_for_servers",
           "rss_mb", "rss_parts_mb", "sigterm_unwinds", "start", "stop", "wait_ready"]

MODEL_DIR_ENV = "CAREDESK_BENCH_MODEL_DIR"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli() -> list[str]:
    exe = Path(sys.executable).with_name("caredesk")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "caredesk.cli.main"]


def models_for_servers(env: dict[str, str], into: Path) -> str:
    """Point the bench's servers at a copy of CAREDESK_BENCH_MODEL_DIR (a models folder with an active triage
    model) when it is set: their first start then loads that model instead of training one, which takes minutes.
    Otherwise at no models folder at all (not the operator's CAREDESK_MODEL_DIR), so the first start trains.
    Returns what the first start does, for the log and the notes."""
    env.pop("CAREDESK_MODEL_DIR", None)
    given = os.environ.get(MODEL_DIR_ENV)
    if not given:
        return "trains the model"
    shutil.copytree(given, into)
    env["CAREDESK_MODEL_DIR"] = str(into)
    return f"loads the model copied from {MODEL_DIR_ENV}"


def start(args: list[str], env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """`caredesk <args>` in a new session (its own process group), output to log_path."""
    with log_path.open("wb") as out:
        return subprocess.Popen([*cli(), *args], env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member we may not signal: still there
        return True
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop(procs: list[subprocess.Popen[bytes]], timeout: float = 20) -> None:
    """SIGTERM to each process's group, up to `timeout` seconds for all of them to end (a gunicorn master
    waits for its workers), then SIGKILL to whatever is left. Every leader is reaped."""
    for proc in procs:
        _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        while time.monotonic() < deadline and (proc.poll() is None or _group_alive(proc.pid)):
            time.sleep(0.1)
    for proc in procs:
        if proc.poll() is None or _group_alive(proc.pid):
            _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """While inside: SIGTERM raises SystemExit in the main thread, so that `finally` blocks still stop the
    processes and drop what was created (Python's default on SIGTERM is to die on the spot)."""
    def _raise(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, _raise)
    except ValueError:  # not the main thread: nothing to install
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 600) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"caredesk serve exited with {proc.returncode}:\n{tail}")
        try:
            if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    tail = log_path.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"caredesk serve did not answer within {timeout:.0f}s:\n{tail}")


def children(pid: int) -> list[int]:
    """The live child processes of pid (a gunicorn master's workers), from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:  # the field after the state: the parent's pid
            out.append(int(entry.name))
    return sorted(out)


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MB, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return round(fields["VmRSS"], 1), round(fields["VmHWM"], 1)


def rss_parts_mb(pid: int) -> dict[str, float]:
    """VmRSS split as /proc/<pid>/status splits it, in MB: anon (the process's own pages: heap, arrays),
    file (pages of mapped files: libraries, a memory-mapped model table; shared, clean, reclaimable), shmem."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile", "RssShmem"):
            fields[key[3:].lower()] = round(int(value.split()[0]) / 1024, 1)
    return fields


def memory_mb(pid: int) -> dict[str, float]:
    """/proc/<pid>/smaps_rollup in MB: Rss, Pss (shared pages divided among the processes that map them) and
    Private (Private_Clean + Private_Dirty: what this process alone holds, e.g. pages copied after a fork)."""
    kb: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if value.strip().endswith("kB"):
            kb[key] = int(value.split()[0])
    return {"rss": kb["Rss"] / 1024, "pss": kb["Pss"] / 1024,
            "private": (kb["Private_Clean"] + kb["Private_Dirty"]) / 1024}


def last_traceback(log_path: Path) -> str:
    """The end of the server log's last traceback (where the exception is named), else its last warnings and
    errors (a storage outage answered 503 is a warning naming the exception type), else the log's end."""
    text = log_path.read_text(errors="replace")
    start_at = text.rfind("Traceback (most recent call last)")
    if start_at < 0:
        warnings = [line for line in text.splitlines() if " WARNING " in line or " ERROR " in line]
        return "\n".join(warnings[-10:])[-1500:] if warnings else text[-1500:]
    lines = text[start_at:].splitlines()
    end = next((i for i, line in enumerate(lines[1:], 1) if line[:1].isdigit()), len(lines))
    return "\n".join(lines[:end])[-2500:]
