"""`python -m caredesk.bench [--only NAME,...] [--quick] [--output PATH]`: run the benchmark groups and write
one JSON object of named numeric figures (plus a `notes` object of strings) to var/bench/report.json."""

from __future__ import annotations

import os

# One BLAS/OpenMP thread, set before numpy is imported anywhere (see shared/research/models.md, Threads).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse
import importlib
import json
import math
import platform
import sys
import time
import traceback
from pathlib import Path

from caredesk.bench.processes import sigterm_unwinds
from caredesk.bench.stats import log

GROUPS = ("triage", "taxonomy", "api", "api_pg", "knowledge", "workorders", "alarms", "chaos", "analytics",
          "surge", "surge_import", "profiles")


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m caredesk.bench", description=__doc__)
    parser.add_argument("--only", default="", help=f"comma-separated groups out of: {', '.join(GROUPS)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--output", type=Path, default=Path("var/bench/report.json"))
    args = parser.parse_args(argv)
    only = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = sorted(set(only) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(GROUPS)}")
    args.groups = [g for g in GROUPS if not only or g in only]
    return args


def _check(report: dict[str, object]) -> None:
    for key, value in report.items():
        if key == "notes":
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise TypeError("every note must be a string")
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise TypeError(f"figure {key} is not a finite number: {value!r}")


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    started = time.perf_counter()
    figures: dict[str, float] = {
        "python_version": float(f"{sys.version_info.major}.{sys.version_info.minor:02d}"),
        "cpu_count": float(os.cpu_count() or 0),
        "load_avg_1m_start": round(os.getloadavg()[0], 2),
    }
    notes: dict[str, str] = {
        "python": platform.python_version(),
        "machine": (f"{platform.machine()} {platform.system()} {platform.release()}; load_avg_1m_* are "
                    "the machine's 1-minute load averages at start and end (other work on the machine skews "
                    "every figure)"),
        "mode": ("quick (smaller sizes; figure names unchanged)" if args.quick else "full") +
                f"; groups: {', '.join(args.groups)}; OMP/OpenBLAS/MKL threads = 1",
    }
    failed = []
    with sigterm_unwinds():  # a terminated bench still stops its servers and drops its schemas
        for group in args.groups:
            log(f"== {group}")
            t0 = time.perf_counter()
            try:
                module = importlib.import_module(f"caredesk.bench.{group}")
                group_figures, group_notes = module.run(args.quick)
            except Exception as exc:
                failed.append(group)
                traceback.print_exc()
                notes[f"{group}_error"] = f"{type(exc).__name__}: {exc}"[:2000]
                continue
            figures.update(group_figures)
            notes.update(group_notes)
            failed += [f"{group} ({key})" for key in group_notes if key.endswith("_error")]
            log(f"== {group} done in {time.perf_counter() - t0:.0f}s")
    figures["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    figures["bench_total_s"] = round(time.perf_counter() - started, 1)
    report: dict[str, object] = {**figures, "notes": notes}
    _check(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log(f"report written ({'failed: ' + ', '.join(failed) if failed else 'all groups ok'})")
    print(args.output.resolve())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
