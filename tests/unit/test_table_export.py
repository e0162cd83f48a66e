"""Table exports (web/table_export.py) and the dashboards' period (web/dashboard_pages.py read_period): CSV with a
BOM and formula-like text escaped, XLSX with text kept as text and rates as percentages; a period's dates in
the centre's zone, the last day included, widened to whole hours; bad input refused with the field."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from caredesk.analytics.dashboard import whole_hours
from caredesk.errors import InvalidInput
from caredesk.web.dashboard_pages import read_period
from caredesk.web.table_export import Column, Table, csv_bytes, csv_safe, xlsx_bytes

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 6, 10, 30, tzinfo=UTC)  # 18:30 in Shanghai


@pytest.mark.parametrize(("value", "safe"), [
    ("=1+2", "'=1+2"), ("+86 138", "'+86 138"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("投诉", "投诉"), ("a=b", "a=b"), (-3, -3), (0.5, 0.5), (None, None),
])
def test_csv_safe_escapes_only_formula_like_text(value: object, safe: object) -> None:
    assert csv_safe(value) == safe  # type: ignore[arg-type]


def _table() -> Table:
    return Table("t", "T", [Column("渠道"), Column("消息数", "count"), Column("占比", "rate")],
                 [["微信", 3, 0.75], ["=cmd|' /C calc'!A0", 1, 0.25], ["none", 0, None]])


def test_csv_has_bom_and_escaped_cells() -> None:
    body = csv_bytes(_table())
    assert body[:3] == b"\xef\xbb\xbf"
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [["渠道", "消息数", "占比"], ["微信", "3", "0.7500"], ["'=cmd|' /C calc'!A0", "1", "0.2500"],
                    ["none", "0", ""]]


def test_xlsx_keeps_text_as_text_and_rates_as_percentages() -> None:
    sheet = load_workbook(io.BytesIO(xlsx_bytes(_table()))).worksheets[0]
    assert [c.value for c in sheet[1]] == ["渠道", "消息数", "占比"]
    assert sheet["A3"].value == "=cmd|' /C calc'!A0" and sheet["A3"].data_type == "s"  # not a formula
    assert sheet["B2"].value == 3 and sheet["C2"].value == 0.75 and sheet["C2"].number_format == "0.0%"
    assert sheet["C4"].value is None


def test_period_dates_in_the_centres_zone_last_day_included() -> None:
    p = read_period({"from": "2026-12-01", "to": "2026-12-03"}, SHANGHAI, NOW)
    assert p.start == datetime(2026, 11, 30, 16, tzinfo=UTC) and p.end == datetime(2026, 12, 3, 16, tzinfo=UTC)
    assert (p.granularity, p.dimension) == ("day", "channel")
    default = read_period({}, SHANGHAI, NOW)  # the last seven days, today included
    assert default.start == datetime(2026, 11, 29, 16, tzinfo=UTC)
    assert default.end == datetime(2026, 12, 6, 16, tzinfo=UTC)
    timed = read_period({"from": "2026-12-01T09:30", "to": "2026-12-01T10:10+08:00"}, SHANGHAI, NOW)
    assert (timed.start, timed.end) == (datetime(2026, 12, 1, 1, tzinfo=UTC), datetime(2026, 12, 1, 3, tzinfo=UTC))


def test_whole_hours_keeps_whole_and_widens_partial() -> None:
    at = datetime(2026, 12, 1, 3, tzinfo=UTC)
    assert whole_hours(at, at.replace(hour=5)) == (at, at.replace(hour=5))
    assert whole_hours(at.replace(minute=1), at.replace(hour=5, second=1)) == (at, at.replace(hour=6))


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "soon"}, "from"), ({"from": "2026-12-03", "to": "2026-12-01"}, "to"),
    ({"granularity": "week"}, "granularity"), ({"dimension": "colour"}, "dimension"), ({"to": "x" * 65}, "to"),
])
def test_bad_period_is_refused_with_its_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_period(params, SHANGHAI, NOW)
    assert refused.value.details.get("field") == field
