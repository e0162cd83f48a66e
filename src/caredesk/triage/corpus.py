"""Reading labelled corpora (the shipped training corpus, `caredesk train --data`, `caredesk eval`): CSV with
`text` and the three seed axes, optionally `emotion`, `complaint_level`, `complaint_types` (joined by `|`)
and `out_of_scope` (0/1). A bad file fails whole, naming the line."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

from caredesk.errors import InvalidFile
from caredesk.triage.labels import (
    COMPLAINT_TYPES,
    CONTENT_TYPE_ALIASES,
    HEADS,
    Emotion,
    complaint_head,
)

__all__ = ["OPTIONAL_COLUMNS", "read_corpus", "seed_corpus_path"]

OPTIONAL_COLUMNS = ("emotion", "complaint_level", "complaint_types", "out_of_scope")
_EMOTIONS = {m.value for m in Emotion}


def seed_corpus_path() -> Path:
    """The shipped training corpus (see corpus/README.md in the repository for what it holds)."""
    with resources.as_file(resources.files("caredesk.triage").joinpath("corpus/shipped.csv")) as path:
        return Path(path)


def _fail(path: Path, line: int, message: str) -> InvalidFile:
    return InvalidFile(f"{path}:{line}: {message}")


def _row(path: Path, line: int, raw: dict[str, str], columns: set[str]) -> dict[str, str]:
    row = {"text": raw["text"]}
    for extra in ("source", "language"):  # kept for per-source and per-language figures
        if raw.get(extra):
            row[extra] = raw[extra]
    for head, labels in HEADS.items():
        given = (raw.get(head) or "").strip()
        value = given.lower()  # labels are lower-case words; "External" or " URGENT" mean the same
        value = CONTENT_TYPE_ALIASES.get(value, value) if head == "content_type" else value
        if value not in {m.value for m in labels}:
            names = [m.value for m in labels] + (list(CONTENT_TYPE_ALIASES) if head == "content_type" else [])
            raise _fail(path, line, f"{head} {given!r} is not one of {names}")
        row[head] = value
    if "emotion" in columns and (value := (raw.get("emotion") or "").strip().lower()):
        if value not in _EMOTIONS:
            raise _fail(path, line, f"emotion {value!r} is not one of {sorted(_EMOTIONS)}")
        row["emotion"] = value
    if "out_of_scope" in columns and (value := (raw.get("out_of_scope") or "").strip()):
        if value not in ("0", "1"):
            raise _fail(path, line, f"out_of_scope {value!r} is not 0 or 1")
        row["out_of_scope"] = value
    if "complaint_level" in columns and (value := (raw.get("complaint_level") or "").strip()):
        if value not in {"0", "1", "2", "3", "4"}:
            raise _fail(path, line, f"complaint_level {value!r} is not 0-4")
        row["complaint_level"] = value
    if "complaint_types" in columns:
        types = [t.strip() for t in (raw.get("complaint_types") or "").split("|") if t.strip()]
        unknown = [t for t in types if t not in COMPLAINT_TYPES]
        if unknown:
            raise _fail(path, line, f"complaint type(s) {unknown} not among {sorted(COMPLAINT_TYPES)}")
        row["complaint_types"] = "|".join(types)
        for kind in COMPLAINT_TYPES:  # each type is a head of its own, labelled on every row of such a file
            row[complaint_head(kind)] = "1" if kind in types else "0"
    return row


def read_corpus(path: Path) -> list[dict[str, str]]:
    """Rows with `text`, every seed axis, and whichever optional labels the file has."""
    if not path.is_file():
        raise InvalidFile(f"training file not found: {path}")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        columns = set(reader.fieldnames or ())
        missing = {"text", *HEADS} - columns
        if missing:
            raise InvalidFile(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        rows = [_row(path, line, raw, columns) for line, raw in enumerate(reader, start=2)
                if (raw.get("text") or "").strip()]
    return rows
