#!/usr/bin/env python3
"""Build the triage corpus files from the hand labels in corpus/labels/ and our own writing in corpus/written/.

    python corpus/build.py            # needs ../shared beside the repository (the real texts)

Writes
- src/caredesk/triage/corpus/shipped.csv: what the shipped model trains on. Only texts that may ship: the
  train split of Banking77 (CC BY 4.0), CLINC150 (CC BY 3.0) and CFPB narratives (US public domain), and
  the texts in corpus/written/ (ours).
- var/corpus/dev.csv and var/corpus/train_real.csv: the dev split (never trained on) and the real train
  split with their texts put back from ../shared, for `caredesk eval --task taxonomy` and `make bench`.
  Not committed: research-only texts stay in ../shared; the labels name them by (source, row).
"""
from __future__ import annotations

import csv
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SHIPPABLE = {"b77", "clinc", "cfpb"}  # their licences allow copying the text into the product
DEV_SHARE = 0.4  # of the shippable sources' labelled rows; every research-only row is dev
LABELS = ["content_type", "problem_type", "urgency", "emotion", "complaint_level", "complaint_types", "out_of_scope"]


def split_of(source: str, row: str) -> str:
    """dev or train, stable: research-only sources are all dev (their texts may not ship)."""
    if source not in SHIPPABLE:
        return "dev"
    bucket = int.from_bytes(hashlib.blake2b(f"{source}:{row}".encode(), digest_size=8).digest(), "big") % 1000
    return "dev" if bucket < DEV_SHARE * 1000 else "train"


def _texts() -> dict[str, list[str]]:
    sys.path.insert(0, str(SHARED / "tools"))
    import labelling  # type: ignore[import-not-found]

    return {name: labelling.texts_of(name) for name in labelling.SOURCES}


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {path.relative_to(ROOT)}: {len(rows)} rows")


def main() -> None:
    texts = _texts()
    labelled = [r for p in sorted((ROOT / "corpus/labels").glob("*.csv")) for r in _read(p)]
    for r in labelled:
        r["text"] = texts[r["source"]][int(r["row"])]
        r["split"] = split_of(r["source"], r["row"])
    written = [r | {"source": f"written:{p.stem}"} for p in sorted((ROOT / "corpus/written").glob("*.csv"))
               for r in _read(p)]
    header = ["text", "source", *LABELS]
    shipped = [r for r in labelled if r["split"] == "train" and r["source"] in SHIPPABLE] + written
    _write(ROOT / "src/caredesk/triage/corpus/shipped.csv", header, shipped)
    _write(ROOT / "var/corpus/dev.csv", [*header, "row"], [r for r in labelled if r["split"] == "dev"])
    _write(ROOT / "var/corpus/train_real.csv", [*header, "row"], [r for r in labelled if r["split"] == "train"])


if __name__ == "__main__":
    main()
