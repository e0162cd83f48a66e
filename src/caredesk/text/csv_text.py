"""CSV files as people export them: UTF-8 (with or without Excel's BOM) or, from Chinese Excel, GBK. Used by
the imports (customers, message history, knowledge base)."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator

from caredesk.errors import InvalidFile

__all__ = ["ENCODINGS", "csv_rows", "decode_csv"]

ENCODINGS = ("auto", "utf-8", "gbk", "gb18030")


def decode_csv(data: bytes, encoding: str = "auto", *, name: str) -> tuple[str, str]:
    """(text, encoding used). `auto`: a UTF-8 BOM or valid UTF-8 is UTF-8, anything else is tried as GB18030 (a
    superset of GBK and GB2312). A named encoding that does not fit names the line where it stops fitting."""
    if encoding not in ENCODINGS:
        raise InvalidFile(f"{name}: unknown encoding {encoding!r}; one of {', '.join(ENCODINGS)}", errors=[])
    guessed = False
    if encoding == "auto":
        if data.startswith(codecs.BOM_UTF8):
            encoding = "utf-8"
        else:
            try:
                return data.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                encoding, guessed = "gb18030", True
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    try:
        return data.decode(codec), encoding
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        hint = "neither UTF-8 nor GBK/GB18030" if guessed else f"not {encoding} text"
        raise InvalidFile(f"{name}: {hint} (line {line}); give --encoding or save it as CSV UTF-8",
                          errors=[{"line": line, "column": "", "reason": "cannot be decoded"}]) from None


def csv_rows(source: str | io.TextIOBase) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header (names stripped) and each row with the line a spreadsheet shows for it (the header is 1), of a
    decoded text or of a stream opened with newline="" (read as it goes: a big file is not held whole)."""
    reader = csv.reader(io.StringIO(source, newline="") if isinstance(source, str) else source)
    header = [h.strip() for h in next(reader, [])]
    return header, enumerate(reader, start=2)
