"""Exporting the knowledge base as CSV or XLSX with exactly the columns the importer reads, so that an
exported file imported again changes nothing. Rows are streamed from the database in batches."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from caredesk.errors import InvalidInput
from caredesk.knowledge.importing import COLUMNS, OPTIONAL_COLUMNS, SIMILAR_SEPARATOR
from caredesk.knowledge.model import CHANNELS
from caredesk.storage.orm import KnowledgeEntry, Staff

__all__ = ["EXPORT_COLUMNS", "export_bytes", "export_file", "export_rows", "write_export"]

EXPORT_COLUMNS = [*COLUMNS, *OPTIONAL_COLUMNS]
FORMATS = ("csv", "xlsx")


def _when(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def export_rows(session: Session) -> Iterator[list[Any]]:
    """One row per entry (every status), ordered by key, in EXPORT_COLUMNS order."""
    usernames = {staff_id: name for staff_id, name in session.execute(select(Staff.id, Staff.username))}
    stmt = (
        select(KnowledgeEntry)
        .options(defer(KnowledgeEntry.embedding))
        .order_by(KnowledgeEntry.key)
        .execution_options(yield_per=1000)
    )
    for e in session.scalars(stmt):
        variants = e.answer_variants or {}
        yield [
            e.key,
            e.language,
            e.category,
            e.content_type,
            e.problem_type,
            e.question,
            SIMILAR_SEPARATOR.join(e.similar_questions or []),
            e.answer,
            e.status,
            _when(e.valid_from),
            _when(e.valid_until),
            usernames.get(e.owner_id, "") if e.owner_id else "",
            *(variants.get(c, "") for c in CHANNELS),
        ]


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InvalidInput("format must be csv or xlsx", field="format")
    return fmt


def write_export(session: Session, target: IO[bytes], fmt: str) -> int:
    """Write the export to a binary stream; returns the number of entries."""
    _check_format(fmt)
    count = 0

    def counted() -> Iterator[list[Any]]:
        nonlocal count
        for row in export_rows(session):
            count += 1
            yield row

    if fmt == "xlsx":
        from caredesk.knowledge.xlsx import write_xlsx

        write_xlsx(target, EXPORT_COLUMNS, counted())
        return count
    text = io.TextIOWrapper(target, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(EXPORT_COLUMNS)
    writer.writerows(counted())
    text.flush()
    text.detach()
    return count


def export_bytes(session: Session, fmt: str) -> bytes:
    buffer = io.BytesIO()
    write_export(session, buffer, fmt)
    return buffer.getvalue()


def export_file(session: Session, path: Path) -> int:
    """Export to `path`; the format is the file's extension (.csv or .xlsx)."""
    fmt = _check_format(path.suffix.lower().lstrip("."))
    with path.open("wb") as fh:
        return write_export(session, fh, fmt)
