"""Reading a CRM export for `caredesk customers import` (no database): encodings, header and row checks with
their line, column and reason, and the cells in their stored form."""

from __future__ import annotations

import codecs

import pytest

from caredesk.config_files import validate_config
from caredesk.customers.csv_import import read_customers_csv
from caredesk.errors import InvalidFile
from caredesk.profiles.sources import CrmImport
from caredesk.text.csv_text import decode_csv

EXTRA = validate_config(CrmImport, {"columns": {"points": {"field": "loyalty_points", "type": "int"},
                                                "tags": {"field": "crm_tags", "type": "list", "separator": ";"}}},
                        "sources.yaml")
HEADER = "customer_ref,name,phone,email,tier,branch"


@pytest.mark.parametrize(("data", "encoding", "text", "used"), [
    ("编号,名字\n".encode(), "auto", "编号,名字\n", "utf-8"),
    (codecs.BOM_UTF8 + "编号\n".encode(), "auto", "编号\n", "utf-8"),
    ("编号,名字\n".encode("gbk"), "auto", "编号,名字\n", "gb18030"),
    ("编号\n".encode("gbk"), "gbk", "编号\n", "gbk"),
    (codecs.BOM_UTF8 + b"a\n", "utf-8", "a\n", "utf-8"),
])
def test_decode_csv_reads_utf8_with_or_without_bom_and_gbk(data: bytes, encoding: str, text: str, used: str
                                                           ) -> None:
    assert decode_csv(data, encoding, name="f.csv") == (text, used)


def test_decode_csv_names_the_line_that_does_not_decode() -> None:
    with pytest.raises(InvalidFile, match=r"f.csv: not utf-8 text \(line 2\)"):
        decode_csv(b"a,b\n\xb1\xe0\n", "utf-8", name="f.csv")
    with pytest.raises(InvalidFile, match=r"not utf-8 text \(line 1\)"):
        decode_csv(codecs.BOM_UTF8 + b"\xff\xfe", "auto", name="f.csv")
    with pytest.raises(InvalidFile, match="unknown encoding"):
        decode_csv(b"", "latin-1", name="f.csv")


def test_read_customers_csv_cells_in_stored_form() -> None:
    data = (f"{HEADER},points,tags\n"
            "C-1, 王芳 ,138 1234 5678,W@Example.cn,gold,sh_pudong,\"1,200\",a; b\n"
            "C-2,,,,,,,\n").encode()
    parsed = read_customers_csv(data, EXTRA, name="f.csv")
    first, second = parsed.rows
    assert first.profile == {"name": "王芳", "phone": "13812345678", "email": "W@Example.cn", "tier": "gold",
                             "branch": "sh_pudong"}
    assert first.crm_fields == {"loyalty_points": 1200, "crm_tags": ["a", "b"]}
    assert (second.profile, second.crm_fields) == ({}, {"loyalty_points": None, "crm_tags": None})
    assert parsed.columns == [*HEADER.split(","), "points", "tags"]
    without = read_customers_csv(f"{HEADER}\nC-3,,,,,\n".encode(), EXTRA, name="f.csv")
    assert without.rows[0].crm_fields is None  # no extra column: the crm_import record is left alone


def test_read_customers_csv_lists_every_problem() -> None:
    with pytest.raises(InvalidFile) as caught:
        read_customers_csv(b"customer_ref,name,name,points,secret\n", EXTRA, name="f.csv")
    assert [(e["column"], e["reason"]) for e in caught.value.details["errors"]] == [
        ("phone", "missing column"), ("email", "missing column"), ("tier", "missing column"),
        ("branch", "missing column"),
        ("secret", "unknown column (not mapped under crm_import in sources.yaml)"), ("name", "column given twice")]
    data = (f"{HEADER},points\n"
            "bad ref,,,,,,\n"
            "C-1,x,,,,,\n"
            "C-2,\x00,,,,,12.5\n"
            "C-3,only three,cells\n").encode()
    with pytest.raises(InvalidFile) as caught:
        read_customers_csv(data, EXTRA, name="f.csv")
    assert caught.value.message == "f.csv: 3 bad row(s); nothing imported"
    assert [(e["line"], e["column"]) for e in caught.value.details["errors"]] == [
        (2, "customer_ref"), (4, "name"), (4, "points"), (5, "")]
    with pytest.raises(InvalidFile, match="no rows to import"):
        read_customers_csv(f"{HEADER}\n,,,,,\n".encode(), EXTRA, name="f.csv")
