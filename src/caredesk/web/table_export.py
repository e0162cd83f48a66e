"""The tables of the dashboard pages, and their export as CSV or Excel: the page and the file are built from the
same `Table`, so an export has exactly the rows the page shows.

CSV is UTF-8 with a byte-order mark (Excel then reads Chinese correctly) and a text cell that a spreadsheet
would take for a formula (starting with = + - @, a tab or a carriage return) gets a leading apostrophe (CSV
injection). In XLSX every text cell is written as text, never as a formula; rates are numbers 0-1 shown as
percentages, minutes numbers."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi.responses import Response

__all__ = ["EXPORT_FORMATS", "Cell", "Column", "Table", "csv_bytes", "csv_safe", "export_response", "xlsx_bytes"]

Cell = str | int | float | None
Kind = Literal["text", "count", "rate", "number"]
EXPORT_FORMATS = ("csv", "xlsx")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XLSX cannot hold
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class Column:
    title: str  # in the page's language
    kind: Kind = "text"


@dataclass(slots=True)
class Table:
    name: str  # stable: the export URL's `table=`, the element id `table-<name>`, the file name
    title: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    note: str = ""  # shown under the table (e.g. why it is empty)


def csv_safe(value: Cell) -> Cell:
    """A text cell starting like a formula, prefixed with an apostrophe; anything else as it is."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_cell(value: Cell, kind: Kind) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}" if kind == "rate" else f"{value:.1f}"
    return str(csv_safe(value))


def csv_bytes(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_safe(c.title) for c in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(v, c.kind) for v, c in zip(row, table.columns, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(table: Table) -> bytes:
    import openpyxl  # a declared dependency; imported here, as only exports need it
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(table.name[:31])

    def cell(value: Cell, kind: Kind) -> Any:
        if isinstance(value, str):
            out = WriteOnlyCell(sheet, value=_ILLEGAL.sub("", value))
            out.data_type = "s"  # text, never a formula
            return out
        out = WriteOnlyCell(sheet, value=value)
        if kind == "rate" and value is not None:
            out.number_format = "0.0%"
        elif kind == "number" and value is not None:
            out.number_format = "0.0"
        return out

    sheet.append([cell(c.title, "text") for c in table.columns])
    for row in table.rows:
        sheet.append([cell(v, c.kind) for v, c in zip(row, table.columns, strict=True)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_response(table: Table, fmt: str, stem: str) -> Response:
    """The table as a download named `<stem>-<table>.<fmt>` (ASCII: the stem and names are codes)."""
    name = f"{stem}-{table.name}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if fmt == "csv":
        return Response(csv_bytes(table), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(xlsx_bytes(table), media_type=XLSX_TYPE, headers=headers)
