"""XLSX tables through openpyxl in streaming modes: read_only for reading (rows parsed as they are
iterated, so a 10,000-row sheet is never held as cells in memory) and write_only for writing."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from caredesk.errors import InvalidFile

__all__ = ["XlsxTable", "read_xlsx", "write_xlsx"]

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _openpyxl() -> Any:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a declared dependency; this names the fix if it is missing
        raise InvalidFile("reading XLSX needs openpyxl: pip install openpyxl==3.1.5") from None
    return openpyxl


class XlsxTable:
    """The first sheet of a workbook: `header` (first row) and `rows()` yielding (row number, cells) with the
    row numbers a spreadsheet shows (the header is row 1). Close it (or use `with`) to release the file."""

    def __init__(self, source: Path | IO[bytes]) -> None:
        openpyxl = _openpyxl()
        try:
            self._book = openpyxl.load_workbook(source, read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise InvalidFile(f"not a readable XLSX workbook: {exc}", errors=[]) from None
        self._sheet = self._book.worksheets[0]
        self._rows = self._sheet.iter_rows(values_only=True)
        first = next(self._rows, None)
        self.header = ["" if v is None else str(v).strip() for v in (first or ())]
        while self.header and not self.header[-1]:
            self.header.pop()

    @property
    def total(self) -> int | None:
        """Data rows according to the sheet's stored dimension (None when the file does not say)."""
        max_row = self._sheet.max_row
        return max_row - 1 if isinstance(max_row, int) and max_row > 0 else None

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        width = len(self.header)
        for number, values in enumerate(self._rows, start=2):
            cells = list(values[:width]) if values else []
            yield number, cells + [None] * (width - len(cells))

    def close(self) -> None:
        self._book.close()

    def __enter__(self) -> XlsxTable:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def read_xlsx(source: Path | bytes) -> XlsxTable:
    return XlsxTable(io.BytesIO(source) if isinstance(source, bytes) else source)


def write_xlsx(
    target: Path | IO[bytes], header: list[str], rows: Iterable[list[Any]], *, title: str = "knowledge"
) -> None:
    """Strings are written as text, never as formulas (a question starting with `=` stays a question), and
    the control characters XLSX cannot hold are dropped."""
    openpyxl = _openpyxl()
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(title)
    sheet.append(header)

    def text_cell(value: str) -> Any:
        cell = WriteOnlyCell(sheet, value=_ILLEGAL.sub("", value))
        cell.data_type = "s"
        return cell

    for row in rows:
        sheet.append(
            [
                text_cell(v) if isinstance(v, str) and (v.startswith("=") or _ILLEGAL.search(v)) else v
                for v in row
            ]
        )
    book.save(target)
