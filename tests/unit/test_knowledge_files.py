"""Reading knowledge files (CSV and XLSX, the same columns) and clustering unanswered questions, without a
database."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest

from caredesk.errors import InvalidFile
from caredesk.knowledge.importing import detect_format, read_kb_csv, read_kb_file
from caredesk.knowledge.suggestions import Question, cluster_questions
from caredesk.knowledge.xlsx import write_xlsx

HEADER = "key,lang,category,content_type,problem_type,question,similar_questions,answer"


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def test_knowledge_csv_reports_every_bad_row_with_line_and_column() -> None:
    data = _csv(
        "k1,en,cards,business,consultation,What is X?,,X is Y.",
        "k2,fr,cards,business,consultation,What is Z?,,Z.",
        "",
        "k3,en,cards,nonsense,consultation,What is W?,,W.",
        "k1,en,cards,business,consultation,Again?,,dup",
    )
    parsed = read_kb_file(data, name="kb.csv")
    assert [(e.line, e.column) for e in parsed.errors] == [(3, "language"), (5, "content_type"), (6, "key")]
    assert [d.key for d in parsed.drafts] == ["k1"]
    with pytest.raises(InvalidFile) as err:
        parsed.raise_errors("kb.csv")
    assert err.value.details["errors"][0] == {
        "line": 3,
        "column": "language",
        "reason": "language must be zh or en",
    }


def test_knowledge_csv_optional_columns() -> None:
    header = HEADER + ",status,valid_from,valid_until,owner,answer_wechat,answer_sms"
    data = _csv(
        'k1,zh,卡/信用卡 ,business,consultation,信用卡怎么提额？,'
        '"提额 || 额度太低\n想提高额度",可以申请。,review,'
        "2025-01-01,2025-06-30T18:00+08:00,alice,微信版,短信版",
        "k2,en,,business,consultation,Q?,,A.,published,2025-02-01,2025-01-01,bob,,",
        "k3,en,,business,consultation,Q3?,,A3.,,someday,,,,",
        header=header,
    )
    parsed = read_kb_file(data, name="kb.csv", owners={"alice": "id-a"})
    d = parsed.drafts[0]
    assert d.category == "卡/信用卡" and d.similar_questions == ("提额", "额度太低", "想提高额度")
    assert (d.status, d.owner, dict(d.answer_variants)) == (
        "review",
        "alice",
        {"wechat": "微信版", "sms": "短信版"},
    )
    assert d.valid_from == datetime(2025, 1, 1, tzinfo=UTC)
    assert d.valid_until == datetime(2025, 6, 30, 10, 0, tzinfo=UTC)
    assert sorted((e.line, e.column) for e in parsed.errors) == [
        (3, "owner"),
        (3, "valid_until"),
        (4, "valid_from"),
    ]


def test_knowledge_file_header_problems() -> None:
    parsed = read_kb_file(
        _csv("k1,en,,business,consultation,Q?,,A.,x", header=HEADER + ",answer_fax"), name="a.csv"
    )
    assert [(e.line, e.column) for e in parsed.errors] == [(1, "answer_fax")]
    parsed = read_kb_file(_csv("k1,en,Q?", header="key,lang,question"), name="a.csv")
    assert {(e.line, e.column) for e in parsed.errors} == {(1, "answer"), (1, "content_type")}
    with pytest.raises(InvalidFile):
        read_kb_file(b"\xff\xfe\x00bad", name="a.csv")
    with pytest.raises(InvalidFile):
        read_kb_file(b"PK\x03\x04 not really a zip", name="a.xlsx")
    assert detect_format("x.bin", b"PK\x03\x04") == "xlsx" and detect_format("x.csv", b"key,") == "csv"


def test_knowledge_pairs_layout_groups_answers(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text(
        "question,answer\nWhat is the SWIFT code?,DEMOCNSH\nSWIFT code please,DEMOCNSH\n"
        "营业时间？,九点到五点\n",
        encoding="utf-8",
    )
    drafts = read_kb_csv(path)
    assert [(d.language, d.question, d.similar_questions) for d in drafts] == [
        ("en", "What is the SWIFT code?", ("SWIFT code please",)),
        ("zh", "营业时间？", ()),
    ]


def test_knowledge_xlsx_same_columns_and_spreadsheet_line_numbers() -> None:
    buffer = io.BytesIO()
    rows = [
        [
            "k1",
            "en",
            "cards",
            "business",
            "consultation",
            "What is X?",
            "x? || x please",
            "X is Y.",
            None,
            datetime(2025, 1, 1),
        ],
        [None] * 10,
        ["k2", "en", "cards", "business", "consultation", "", None, "no question", None, None],
        [3, "zh", "", "branch", "consultation", "网点几点开门？", None, "九点", "draft", None],
    ]
    write_xlsx(buffer, [*HEADER.split(","), "status", "valid_from"], rows)
    parsed = read_kb_file(buffer.getvalue(), name="kb.xlsx")
    assert [(e.line, e.column) for e in parsed.errors] == [(4, "question")]
    assert [d.key for d in parsed.drafts] == ["k1", "3"] and parsed.lines == [2, 5]
    assert parsed.drafts[0].valid_from == datetime(2025, 1, 1, tzinfo=UTC)
    assert parsed.drafts[0].similar_questions == ("x?", "x please")


def test_knowledge_xlsx_writes_formula_like_text_as_text() -> None:
    buffer = io.BytesIO()
    write_xlsx(buffer, ["question"], [["=1+1 is what?"], ["bell\x07 char"]])
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue())).active
    assert sheet["A2"].value == "=1+1 is what?" and sheet["A2"].data_type == "s"
    assert sheet["A3"].value == "bell char"


def _q(i: int, text: str, conversation: str | None = None) -> Question:
    language = "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"
    return Question(f"m{i:03d}", conversation or f"c{i}", language, text, "business", "consultation")


def test_knowledge_clusters_paraphrases_per_language() -> None:
    texts = [
        "Can I rent a safe deposit box at your branch?",
        "Why was my card declined abroad?",
        "How do I rent a safe deposit box?",
        "你们有保管箱租赁服务吗",
        "Do you offer safe deposit boxes for rent?",
        "my card got declined in Japan",
        "保管箱怎么租",
        "What does a safe deposit box cost to rent?",
        "保管箱租用需要什么手续",
        "I want to change my address",
    ]
    background = [
        "忘记手机银行登录密码怎么办？",
        "信用卡怎么提额",
        "你们的营业时间是几点",
        "怎么办理挂失",
        "转账需要什么手续",
        "我的卡被锁了怎么办",
        "网点在哪里",
        "How do I reset my password?",
        "What are your opening hours?",
    ]
    clusters = cluster_questions([_q(i, t) for i, t in enumerate(texts)], min_size=3, background=background)
    assert [(c.language, c.size) for c in clusters] == [("en", 4), ("zh", 3)]
    assert set(clusters[0].questions) == {texts[0], texts[2], texts[4], texts[7]}
    assert clusters[0].majority("content_type") == "business"


def test_knowledge_cluster_size_counts_conversations() -> None:
    same = [_q(i, "How do I rent a safe deposit box?", conversation="c1") for i in range(5)]
    assert cluster_questions(same, min_size=2) == []
    assert cluster_questions(same, min_size=1)[0].questions == ["How do I rent a safe deposit box?"]
