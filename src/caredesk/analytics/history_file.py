"""Reading a history file for `caredesk import messages`: CSV (UTF-8, a BOM allowed, or GBK) with the header
`received_at,text,channel,customer_ref` and optionally `conversation_ref`. Every row is checked before anything is
triaged or written; the bad ones are reported together (line, column, reason; the header is line 1, as a
spreadsheet shows it)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from caredesk.analytics.period import parse_moment
from caredesk.errors import InvalidFile, InvalidInput
from caredesk.intake.actions import CHANNELS, CUSTOMER_REF_PATTERN
from caredesk.knowledge.importing import RowError
from caredesk.text.csv_text import csv_rows, decode_csv

__all__ = ["COLUMNS", "CONVERSATION_REF_MAX", "OPTIONAL_COLUMNS", "HistoryRow", "import_key", "read_history_csv"]

COLUMNS = ("received_at", "text", "channel", "customer_ref")
OPTIONAL_COLUMNS = ("conversation_ref",)
CONVERSATION_REF_MAX = 128
_REF = re.compile(CUSTOMER_REF_PATTERN)


@dataclass(frozen=True, slots=True)
class HistoryRow:
    line: int
    received_at: datetime  # aware, UTC
    text: str
    channel: str
    customer_ref: str
    conversation_ref: str | None = None

    @property
    def key(self) -> str:
        return import_key(self.customer_ref, self.received_at, self.text)


def import_key(customer_ref: str, received_at: datetime, text: str) -> str:
    """The row's identity across imports: the same customer, instant and text are the same message."""
    moment = received_at.astimezone(UTC).isoformat(timespec="microseconds")
    return hashlib.sha256("\x1f".join((customer_ref, moment, text)).encode()).hexdigest()


def _when(value: str, zone: ZoneInfo, now: datetime) -> datetime | str:
    """The instant, or why not: read as the analytics inputs are (period.parse_moment), and not in the future."""
    if not value:
        return "empty"
    try:
        parsed = parse_moment(value, zone, field="received_at")
    except InvalidInput as exc:
        return str(exc).removeprefix("received_at: ")
    if parsed > now:
        return "in the future"
    return parsed


def _check_header(header: list[str]) -> list[RowError]:
    errors = [RowError(1, name, "missing column") for name in COLUMNS if name not in header]
    known = set(COLUMNS) | set(OPTIONAL_COLUMNS)
    errors += [RowError(1, name or f"#{i + 1}", "unknown column") for i, name in enumerate(header)
               if name not in known]
    errors += [RowError(1, name, "column given twice") for name in sorted({h for h in header if header.count(h) > 1})]
    return errors


def _row(line: int, cells: dict[str, str], *, zone: ZoneInfo, now: datetime, max_chars: int
         ) -> HistoryRow | list[RowError]:
    errors = []
    when = _when(cells.get("received_at", ""), zone, now)
    if isinstance(when, str):
        errors.append(RowError(line, "received_at", when))
    text = cells.get("text", "")
    if not text.strip():
        errors.append(RowError(line, "text", "empty"))
    elif len(text) > max_chars:
        errors.append(RowError(line, "text", f"longer than {max_chars} characters"))
    channel = cells.get("channel", "")
    if channel not in CHANNELS:
        errors.append(RowError(line, "channel", f"{channel[:20]!r} is not one of {', '.join(sorted(CHANNELS))}"))
    ref = cells.get("customer_ref", "")
    if not ref:
        errors.append(RowError(line, "customer_ref", "empty"))
    elif not _REF.match(ref):
        errors.append(RowError(line, "customer_ref", "must be 1-128 letters, digits or ._:@- (starting with a "
                                                     "letter or digit)"))
    conversation = cells.get("conversation_ref", "") or None
    if conversation is not None and len(conversation) > CONVERSATION_REF_MAX:
        errors.append(RowError(line, "conversation_ref", f"longer than {CONVERSATION_REF_MAX} characters"))
    if errors:
        return errors
    assert isinstance(when, datetime)
    return HistoryRow(line, when, text, channel, ref, conversation)


def read_history_csv(source: Path | bytes, *, name: str, zone: ZoneInfo, now: datetime, max_chars: int,
                     encoding: str = "auto") -> list[HistoryRow]:
    """Every row, checked; any bad row raises InvalidFile listing all of them (`errors`: line, column, reason).
    `text` is kept as written; the other cells are stripped. `encoding`: see `decode_csv` (auto: UTF-8, else
    GBK/GB18030, as Chinese Excel saves CSV)."""
    text, _ = decode_csv(source.read_bytes() if isinstance(source, Path) else source, encoding, name=name)
    header, rows = csv_rows(text)
    errors = _check_header(header)
    if errors:
        raise InvalidFile(f"{name}: bad header; nothing imported", errors=[e.to_json() for e in errors])
    out: list[HistoryRow] = []
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue  # a blank line (often the last one)
        if len(cells) != len(header):
            errors.append(RowError(line, "", f"{len(cells)} cells, the header has {len(header)}"))
            continue
        values = {h: (c if h == "text" else c.strip()) for h, c in zip(header, cells, strict=True)}
        row = _row(line, values, zone=zone, now=now, max_chars=max_chars)
        if isinstance(row, list):
            errors += row
        else:
            out.append(row)
    if errors:
        bad = len({e.line for e in errors})
        raise InvalidFile(f"{name}: {bad} bad row(s); nothing imported", errors=[e.to_json() for e in errors])
    if not out:
        raise InvalidFile(f"{name}: no rows to import", errors=[])
    return out
