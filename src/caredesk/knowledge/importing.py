"""Reading knowledge-base files (CSV or XLSX, the same columns): every bad row is reported (line, column,
reason) before anything is imported. Line numbers are those a spreadsheet shows: the header is line 1.

Two layouts:
- CareDesk's own: `key,lang,category,content_type,problem_type,question,similar_questions,answer`, optionally
  `status,valid_from,valid_until,owner` and `answer_<channel>` (web, chat, app, email, wechat, sms, phone,
  api). `similar_questions` are separated by `||` (or new lines inside the cell); dates are ISO 8601
  (`2025-01-31` or `2025-01-31T09:00+08:00`; without a zone they are UTC); `owner` is a staff username.
- The plain `question,answer`: rows sharing an answer are one entry with similar questions.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from caredesk.errors import CareDeskError, InvalidFile, InvalidInput
from caredesk.knowledge.model import (
    CHANNELS,
    EntryDraft,
    check_entry,
    check_requested_status,
    normalise_category,
)
from caredesk.text.csv_text import csv_rows

__all__ = [
    "COLUMNS",
    "OPTIONAL_COLUMNS",
    "SIMILAR_SEPARATOR",
    "ParsedFile",
    "RowError",
    "detect_format",
    "parse_table",
    "read_kb_csv",
    "read_kb_file",
    "read_table",
]

SIMILAR_SEPARATOR = " || "
COLUMNS = (
    "key",
    "lang",
    "category",
    "content_type",
    "problem_type",
    "question",
    "similar_questions",
    "answer",
)
OPTIONAL_COLUMNS = ("status", "valid_from", "valid_until", "owner", *(f"answer_{c}" for c in CHANNELS))
_REQUIRED = ("key", "lang", "content_type", "question", "answer")
_ALIASES = {"language": "lang"}
Progress = Callable[[int, int | None], None]  # (rows read, rows in the file if known)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass
class ParsedFile:
    drafts: list[EntryDraft] = field(default_factory=list)
    lines: list[int] = field(
        default_factory=list
    )  # the line of each draft (its first line in the pairs layout)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0

    def raise_errors(self, name: str) -> None:
        if self.errors:
            bad = len({e.line for e in self.errors})
            raise InvalidFile(
                f"{name}: {bad} bad row(s); nothing imported", errors=[e.to_json() for e in self.errors]
            )


def detect_format(name: str, head: bytes = b"") -> str:
    """xlsx or csv, from the file's first bytes (a ZIP is an XLSX workbook) or else its name."""
    if head.startswith(b"PK\x03\x04") or (not head and name.lower().endswith((".xlsx", ".xlsm"))):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InvalidFile(
            f"{name}: old .xls workbooks are not read; save it as .xlsx or CSV UTF-8", errors=[]
        )
    return "csv"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def read_table(
    source: Path | bytes, fmt: str
) -> tuple[list[str], Iterable[tuple[int, list[Any]]], Callable[[], None], int | None]:
    """(header, rows, close, total rows if known) of a CSV or XLSX file given as a path or its bytes."""
    if fmt == "xlsx":
        from caredesk.knowledge.xlsx import read_xlsx

        table = read_xlsx(source)
        return table.header, table.rows(), table.close, table.total
    try:
        if isinstance(source, bytes):
            text = codecs.decode(source, "utf-8-sig")
            stream: io.TextIOBase = io.StringIO(text, newline="")
            total: int | None = max(0, text.count("\n") - 1)
        else:
            stream = source.open(encoding="utf-8-sig", newline="")
            with source.open("rb") as fh:
                total = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")) - 1
        header, rows = csv_rows(stream)
    except UnicodeDecodeError:
        raise InvalidFile("the CSV file is not UTF-8 text (save it as CSV UTF-8)", errors=[]) from None
    return header, rows, stream.close, total


def _when(value: Any, column: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time())
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise InvalidInput(
                f"{column} is not a date (use 2025-01-31 or 2025-01-31T09:00+08:00)", field=column
            ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _similar(cell: str) -> tuple[str, ...]:
    parts = (p.strip() for line in cell.splitlines() for p in line.split(SIMILAR_SEPARATOR.strip()))
    return tuple(dict.fromkeys(p for p in parts if p))


def _check_header(header: list[str]) -> tuple[list[str], list[RowError]]:
    names = [_ALIASES.get(h.lower(), h.lower()) for h in header]
    errors: list[RowError] = []
    known = set(COLUMNS) | set(OPTIONAL_COLUMNS)
    seen: set[str] = set()
    for name in names:
        if name and name not in known:
            errors.append(
                RowError(1, name, f"unknown column (known: {', '.join(COLUMNS + OPTIONAL_COLUMNS)})")
            )
        elif name in seen:
            errors.append(RowError(1, name, "column given twice"))
        seen.add(name)
    errors.extend(RowError(1, name, "missing column") for name in _REQUIRED if name not in seen)
    return names, errors


def _full_row(
    line: int, row: dict[str, Any], *, role: str | None, owners: Mapping[str, str] | None
) -> tuple[EntryDraft | None, list[RowError]]:
    errors: list[RowError] = []
    cell = {k: _text(v) if not isinstance(v, datetime | date) else v for k, v in row.items()}
    dates: dict[str, datetime | None] = {}
    for column in ("valid_from", "valid_until"):
        try:
            dates[column] = _when(cell.get(column), column)
        except InvalidInput as exc:
            errors.append(RowError(line, column, exc.message))
            dates[column] = None
    status, owner = str(cell.get("status") or ""), str(cell.get("owner") or "") or None
    if status and role is not None:
        try:
            check_requested_status(status, role)
        except CareDeskError as exc:
            errors.append(RowError(line, "status", exc.message))
    if owner and owners is not None and owner not in owners:
        errors.append(RowError(line, "owner", f"{owner!r} is not a staff username"))
    draft = EntryDraft(
        key=str(cell.get("key") or ""),
        language=str(cell.get("lang") or ""),
        question=str(cell.get("question") or ""),
        answer=str(cell.get("answer") or ""),
        content_type=str(cell.get("content_type") or ""),
        problem_type=str(cell.get("problem_type") or "consultation"),
        category=normalise_category(str(cell.get("category") or "")),
        similar_questions=_similar(str(cell.get("similar_questions") or "")),
        status=status,
        answer_variants={c: str(cell[f"answer_{c}"]) for c in CHANNELS if cell.get(f"answer_{c}")},
        valid_from=dates["valid_from"],
        valid_until=dates["valid_until"],
        owner=owner,
    )
    try:
        check_entry(draft)
    except InvalidInput as exc:
        column = str(exc.details.get("field", ""))
        if not any(e.column == column for e in errors):
            errors.append(RowError(line, column, exc.message))
    return (None if errors else draft), errors


def _pairs(
    rows: Iterable[tuple[int, dict[str, Any]]], content_type: str, language: str | None, out: ParsedFile
) -> None:
    groups: dict[str, list[str]] = {}
    first: dict[str, int] = {}
    for line, row in rows:
        question, answer = _text(row.get("question")), _text(row.get("answer"))
        if not question:
            out.errors.append(RowError(line, "question", "question is empty"))
        elif not answer:
            out.errors.append(RowError(line, "answer", "answer is empty"))
        else:
            groups.setdefault(answer, []).append(question)
            first.setdefault(answer, line)
    for answer, questions in groups.items():
        lang = language or ("zh" if any("\u4e00" <= ch <= "\u9fff" for ch in questions[0]) else "en")
        key = "kb-" + hashlib.sha1(answer.encode()).hexdigest()[:16]
        out.drafts.append(
            EntryDraft(
                key=key,
                language=lang,
                question=questions[0],
                answer=answer,
                content_type=content_type,
                status="",
                similar_questions=tuple(dict.fromkeys(questions[1:])),
            )
        )
        out.lines.append(first[answer])


def parse_table(
    header: list[str],
    rows: Iterable[tuple[int, list[Any]]],
    *,
    role: str | None = None,
    owners: Mapping[str, str] | None = None,
    default_content_type: str = "business",
    default_language: str | None = None,
    progress: Progress | None = None,
    total: int | None = None,
) -> ParsedFile:
    """Drafts and every bad row. `role` checks requested statuses (None: any), `owners` the owner column
    (None: not checked here). Blank rows are skipped; their line numbers still count."""
    out = ParsedFile()
    lowered = [h.lower() for h in header]

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        for line, values in rows:
            out.rows += 1
            if progress is not None and out.rows % 500 == 0:
                progress(out.rows, total)
            if not any(_text(v) for v in values):
                continue
            yield line, dict(zip(names, values, strict=False))

    if "key" not in lowered:
        if {"question", "answer"} - set(lowered):
            raise InvalidFile(
                "needs the columns key,lang,content_type,question,answer (or question,answer)",
                errors=[
                    RowError(1, c, "missing column").to_json()
                    for c in ("question", "answer")
                    if c not in lowered
                ],
            )
        names = lowered
        _pairs(records(), default_content_type, default_language, out)
        return out
    names, out.errors = _check_header(header)
    if out.errors:
        return out
    seen: dict[str, int] = {}
    for line, record in records():
        draft, errors = _full_row(line, record, role=role, owners=owners)
        key = _text(record.get("key"))
        if key and key in seen:
            errors.insert(0, RowError(line, "key", f"duplicate of line {seen[key]}"))
            draft = None
        seen.setdefault(key, line)
        out.errors.extend(errors)
        if draft is not None:
            out.drafts.append(draft)
            out.lines.append(line)
    if progress is not None:
        progress(out.rows, total)
    return out


def read_kb_file(
    source: Path | bytes,
    *,
    name: str = "",
    fmt: str | None = None,
    role: str | None = None,
    owners: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    default_content_type: str = "business",
    default_language: str | None = None,
) -> ParsedFile:
    """Parse a whole file (path or bytes). Unreadable files raise InvalidFile; bad rows are in `errors`."""
    name = name or (str(source) if isinstance(source, Path) else "upload")
    if isinstance(source, Path) and not source.is_file():
        raise InvalidFile(f"file not found: {source}", errors=[])
    if fmt is None:
        if isinstance(source, bytes):
            head = source[:8]
        else:
            with source.open("rb") as fh:
                head = fh.read(8)
        fmt = detect_format(name, head)
    header, rows, close, total = read_table(source, fmt)
    try:
        return parse_table(
            header,
            rows,
            role=role,
            owners=owners,
            progress=progress,
            total=total,
            default_content_type=default_content_type,
            default_language=default_language,
        )
    except csv.Error as exc:
        raise InvalidFile(f"{name}: not a valid CSV file: {exc}", errors=[]) from None
    except UnicodeDecodeError:
        raise InvalidFile(
            f"{name}: the CSV file is not UTF-8 text (save it as CSV UTF-8)", errors=[]
        ) from None
    finally:
        close()


def read_kb_csv(
    path: Path, *, default_content_type: str = "business", default_language: str | None = None
) -> list[EntryDraft]:
    """The drafts of a clean file, or InvalidFile listing every bad row (used by the demo loader)."""
    parsed = read_kb_file(path, default_content_type=default_content_type, default_language=default_language)
    parsed.raise_errors(str(path))
    return parsed.drafts
