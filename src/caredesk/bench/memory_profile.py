"""Where an API process's memory goes: `python -m caredesk.bench.memory_profile [--tracemalloc] [--smaps]`.

Builds what `caredesk serve` builds, one piece at a time, in the order the server does (imports, runtime and
app, triage model, jieba's dictionary, sentence encoder, first triage, knowledge index, heap trim), and prints
each piece's VmRSS delta from /proc/self/status (tracemalloc only sees Python's own allocations; numpy's
buffers and shared libraries count in RSS). `--tracemalloc` adds the Python heap each piece kept (slower: every
allocation is traced); `--smaps` lists the largest resident mappings at the end (shared libraries, the heap).
Run it with the server's environment (CAREDESK_DATABASE_URL, CAREDESK_VAR_DIR with a trained model: a missing
one is trained first, which is measured as the model step)."""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Stage", "main", "measure", "smaps_by_file", "vm_rss_mb"]


def vm_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def smaps_by_file(pid: int | str = "self") -> list[tuple[str, float]]:
    """Resident MB per mapped file (anonymous mappings as [heap], [anon]...), largest first."""
    totals: dict[str, float] = {}
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if head and "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            name = head[5] if len(head) > 5 else "[anon]"
            if "site-packages/" in name:
                name = name.split("site-packages/", 1)[1].split("/", 1)[0]
        elif line.startswith("Rss:"):
            totals[name] = totals.get(name, 0.0) + int(line.split()[1]) / 1024
    return sorted(totals.items(), key=lambda kv: -kv[1])


@dataclass(frozen=True)
class Stage:
    name: str
    rss_mb: float  # VmRSS after the stage
    delta_mb: float  # VmRSS change over the stage
    python_mb: float | None  # traced Python heap change over the stage (--tracemalloc)
    seconds: float


def _imports() -> list[tuple[str, Callable[[], Any]]]:
    def mods(*names: str) -> Callable[[], None]:
        def load() -> None:
            import importlib

            for name in names:
                importlib.import_module(name)
        return load

    return [
        ("numpy", mods("numpy")),  # serving needs no scipy or scikit-learn (caredesk.triage.linear_text)
        ("SQLAlchemy, pydantic, FastAPI, Starlette, Jinja2, httpx", mods(
            "sqlalchemy.orm", "pydantic", "pydantic_settings", "fastapi", "starlette.applications", "jinja2",
            "httpx")),
        ("CareDesk's modules (app factory, bootstrap)", mods("caredesk.http.app", "caredesk.bootstrap")),
    ]


def measure(trace: bool = False, steps: list[tuple[str, Callable[[], Any]]] | None = None, *,
            table: bool = True) -> list[Stage]:
    state: dict[str, Any] = {}

    def runtime() -> None:
        from caredesk.bootstrap import build_runtime
        from caredesk.http.app import create_app
        from caredesk.settings import Settings

        state["rt"] = build_runtime(Settings())
        state["app"] = create_app(state["rt"])
        if table:  # as `caredesk serve` does: the encoder's table mapped from var/cache
            from caredesk.text.encoder import set_table_dir

            set_table_dir(state["rt"].settings.var_dir / "cache")

    def model() -> None:
        from caredesk.triage.model import load_active_model

        state["model"] = load_active_model(state["rt"].settings.models_path)

    def jieba() -> None:
        from caredesk.text.segment import tokenize

        tokenize("您好银行卡")

    def encoder() -> None:
        state["rt"].embedder.encode(["warm up"])

    def triage() -> None:
        from caredesk.triage.pipeline import TriagePipeline

        state["rt"].set_pipeline(TriagePipeline(state["model"]))
        state["rt"].triage("您好，我的银行卡无法登录 hello")

    def knowledge() -> None:
        state["rt"].knowledge_index()

    def trim() -> None:
        from caredesk.cli.memory import release_free_memory

        release_free_memory()

    plan = steps if steps is not None else [
        *_imports(), ("runtime and app (build_runtime, create_app)", runtime),
        ("triage model (load the active artefact)", model), ("jieba dictionary (with domain words)", jieba),
        ("sentence encoder (weights, tokenizer)", encoder), ("first triage (rest of the pipeline)", triage),
        ("knowledge index (published entries)", knowledge), ("heap handed back (gc, malloc_trim)", trim)]
    if trace:
        tracemalloc.start()
    out = [Stage("interpreter and stdlib", round(vm_rss_mb(), 1), round(vm_rss_mb(), 1), None, 0.0)]
    for name, step in plan:
        before, py_before, t0 = vm_rss_mb(), tracemalloc.get_traced_memory()[0] if trace else 0, time.perf_counter()
        step()
        after = vm_rss_mb()
        py = (tracemalloc.get_traced_memory()[0] - py_before) / 2**20 if trace else None
        out.append(Stage(name, round(after, 1), round(after - before, 1), None if py is None else round(py, 1),
                         round(time.perf_counter() - t0, 2)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m caredesk.bench.memory_profile", description=__doc__)
    parser.add_argument("--tracemalloc", action="store_true", help="also the Python heap each step kept")
    parser.add_argument("--smaps", type=int, default=0, metavar="N", help="list the N largest resident mappings")
    parser.add_argument("--table-in-memory", action="store_true",
                        help="keep the sentence encoder's table in the process (as before it was mapped)")
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one BLAS thread, as the server (numpy is not imported yet)
    stages = measure(args.tracemalloc, table=not args.table_in_memory)
    print("| step | VmRSS delta MB | VmRSS after MB |" + (" Python heap MB |" if args.tracemalloc else "")
          + " s |")
    print("| --- | ---: | ---: |" + (" ---: |" if args.tracemalloc else "") + " ---: |")
    for s in stages:
        py = f" {s.python_mb if s.python_mb is not None else ''} |" if args.tracemalloc else ""
        print(f"| {s.name} | {s.delta_mb:+.1f} | {s.rss_mb:.1f} |{py} {s.seconds} |")
    parts = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in Path("/proc/self/status").read_text()
             .splitlines() if line.startswith(("RssAnon", "RssFile"))}
    print(f"\nRssAnon {parts['RssAnon']:.1f} MB (the process's own), RssFile {parts['RssFile']:.1f} MB (mapped files)")
    mods = sorted({m.split(".")[0] for m in sys.modules})
    heavy = ("sklearn", "scipy", "pandas", "statsmodels", "pkg_resources")
    print(f"\nmodules loaded: {len(sys.modules)}; " + ", ".join(f"{m} {m in sys.modules}" for m in heavy))
    print("top-level packages:", " ".join(mods))
    if args.smaps:
        print("\n| mapping | RSS MB |\n| --- | ---: |")
        for name, mb in smaps_by_file()[:args.smaps]:
            print(f"| {name} | {mb:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
