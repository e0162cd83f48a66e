"""Importing and exporting the knowledge base: the issue's 10,000-row XLSX acceptance (SQLite; it measures
itself), and round trips, updates and role limits on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func, select

from caredesk.bootstrap.runtime import Runtime
from caredesk.errors import InvalidFile
from caredesk.knowledge.actions import do_import_file
from caredesk.knowledge.exporting import export_bytes, export_file
from caredesk.storage.orm import AuditEntry, KnowledgeEntry, KnowledgeVersion

HEADER = [
    "key",
    "lang",
    "category",
    "content_type",
    "problem_type",
    "question",
    "similar_questions",
    "answer",
    "valid_until",
]
BAD = {2500: ("lang", "fr"), 6001: ("answer", ""), 9999: ("valid_until", "next tuesday")}  # data row -> cell


def _counts(rt: Runtime) -> tuple[int, int, int]:
    with rt.session_factory() as s:
        return (
            s.scalar(select(func.count()).select_from(KnowledgeEntry)) or 0,
            s.scalar(select(func.count()).select_from(KnowledgeVersion)) or 0,
            s.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        )


def _write_10k(path: Path, *, bad: bool) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("faq")
    sheet.append(HEADER)
    for i in range(10_000):
        row: list[Any] = [
            f"bulk-{i:05d}",
            "zh" if i % 2 else "en",
            f"bulk/group-{i % 7}",
            "business",
            "consultation",
            f"Question number {i}?",
            f"q{i} || question {i} please",
            f"Answer number {i}.",
            "2030-01-01",
        ]
        if bad and i in BAD:
            column, value = BAD[i]
            row[HEADER.index(column)] = value
        sheet.append(row)
    book.save(path)


def _import(
    rt: Runtime, source: Path | bytes, *, dry_run: bool = False, role: str = "admin", name: str = ""
) -> Any:
    return do_import_file(
        rt.uow(), source, name=name, actor="test", role=role, now=rt.clock.now(), dry_run=dry_run
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_knowledge_import_10k_xlsx_three_bad_rows_then_all_in_one_go(
    runtime: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "faq.xlsx"
    _write_10k(path, bad=True)
    before = _counts(runtime)
    for dry_run in (True, False):
        with pytest.raises(InvalidFile) as err:
            _import(runtime, path, dry_run=dry_run)
        errors = err.value.details["errors"]
        # Spreadsheet line numbers: the header is line 1, data row i is line i + 2.
        assert [(e["line"], e["column"]) for e in errors] == [
            (2502, "language"),
            (6003, "answer"),
            (10001, "valid_until"),
        ]
        assert "3 bad row(s)" in err.value.message
        assert _counts(runtime) == before  # nothing imported

    _write_10k(path, bad=False)
    started = time.perf_counter()
    result = _import(runtime, path)
    took = time.perf_counter() - started
    assert (result.rows, result.report.created, result.report.updated) == (10_000, 10_000, 0)
    entries, versions, audits = _counts(runtime)
    assert (entries, versions, audits) == (before[0] + 10_000, before[1] + 10_000, before[2] + 1)

    started = time.perf_counter()
    again = _import(runtime, path)
    took_again = time.perf_counter() - started
    assert (again.report.created, again.report.updated, again.report.unchanged) == (0, 0, 10_000)
    assert _counts(runtime) == (entries, versions, audits)  # unchanged rows write nothing
    with capsys.disabled():
        print(f"\n10,000-row XLSX: import {took:.1f} s, unchanged re-import {took_again:.1f} s")


def test_knowledge_export_round_trip_and_updates(runtime: Runtime, tmp_path: Path) -> None:
    csv_text = (
        "key,lang,category,content_type,problem_type,question,similar_questions,answer,status,"
        "valid_from,answer_wechat\n"
        "rt-1,zh,卡/信用卡,business,consultation,信用卡怎么提额？,提额 || 额度太低,"
        "可在手机银行申请。,published,"
        "2025-01-01T00:00:00+00:00,微信里点“提额”。\n"
        "rt-2,en,branch,branch,consultation,=When do you open?,,9 to 5.,draft,,\n"
    )
    first = _import(runtime, csv_text.encode(), name="kb.csv")
    assert (first.report.created, first.report.updated) == (2, 0)
    for fmt in ("csv", "xlsx"):
        with runtime.session_factory() as s:
            data = export_bytes(s, fmt)
        again = _import(runtime, data, name=f"kb.{fmt}")
        assert (again.report.created, again.report.updated, again.report.unchanged) == (0, 0, 2), fmt
    with runtime.session_factory() as s:
        assert export_file(s, tmp_path / "kb.xlsx") == 2
    sheet = openpyxl.load_workbook(tmp_path / "kb.xlsx", read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:8] == (
        "key",
        "lang",
        "category",
        "content_type",
        "problem_type",
        "question",
        "similar_questions",
        "answer",
    )
    assert rows[2][5] == "=When do you open?"  # text, not a formula

    changed = _import(runtime, csv_text.replace("9 to 5.", "9 to 6.").encode(), name="kb.csv")
    assert (changed.report.updated, changed.report.unchanged) == (1, 1)
    with runtime.session_factory() as s:
        entry = s.scalars(select(KnowledgeEntry).where(KnowledgeEntry.key == "rt-2")).one()
        assert (entry.version, entry.answer, entry.status) == (2, "9 to 6.", "draft")
        one = s.scalars(select(KnowledgeEntry).where(KnowledgeEntry.key == "rt-1")).one()
        assert one.answer_variants == {"wechat": "微信里点“提额”。"} and one.category == "卡/信用卡"


def test_knowledge_import_limits_editors_and_resolves_owners(demo_runtime: Runtime) -> None:
    rt = demo_runtime
    data = (
        b"key,lang,content_type,question,answer,status,owner\n"
        b"ed-1,en,business,Q1?,A1.,published,admin\n"
        b"ed-2,en,business,Q2?,A2.,review,nobody\n"
        b"ed-3,en,business,Q3?,A3.,,admin\n"
    )
    with pytest.raises(InvalidFile) as err:
        _import(rt, data, role="knowledge_editor", name="ed.csv")
    assert [(e["line"], e["column"]) for e in err.value.details["errors"]] == [(3, "owner")]
    fixed = data.replace(b"nobody", b"agent")
    with pytest.raises(InvalidFile) as err:
        _import(rt, fixed, role="knowledge_editor", name="ed.csv")
    assert [(e["line"], e["column"]) for e in err.value.details["errors"]] == [(2, "status")]
    result = _import(rt, fixed.replace(b",published,", b",review,"), role="knowledge_editor", name="ed.csv")
    assert result.report.created == 3
    with rt.session_factory() as s:
        rows = {
            e.key: (e.status, e.owner_id is not None)
            for e in s.scalars(select(KnowledgeEntry).where(KnowledgeEntry.key.in_(["ed-1", "ed-2", "ed-3"])))
        }
    assert rows == {"ed-1": ("review", True), "ed-2": ("review", True), "ed-3": ("draft", True)}
    # The same file as an export would hold it (status as stored) imports again unchanged for an editor.
    assert (
        _import(
            rt,
            fixed.replace(b",published,", b",review,").replace(b",,admin", b",draft,admin"),
            role="knowledge_editor",
            name="ed.csv",
        ).report.unchanged
        == 3
    )


def test_knowledge_import_is_all_or_nothing_on_a_database_error(runtime: Runtime) -> None:
    before = _counts(runtime)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["key", "lang", "content_type", "question", "answer"])
    sheet.append(["ok-1", "en", "business", "Q?", "A."])
    sheet.append(["x" * 129, "en", "business", "Q?", "A."])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(InvalidFile) as err:
        _import(runtime, buffer.getvalue(), name="kb.xlsx")
    assert err.value.details["errors"][0]["line"] == 3
    assert _counts(runtime) == before
