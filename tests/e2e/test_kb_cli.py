"""`caredesk kb import|export|suggest` as a user runs them: real subprocesses on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from tests.e2e.test_cli import cli_env  # noqa: F401 (the module-scoped CLI home is a fixture)
from tests.support.cli import caredesk

HEADER = [
    "key",
    "lang",
    "category",
    "content_type",
    "problem_type",
    "question",
    "similar_questions",
    "answer",
    "owner",
    "answer_wechat",
]


def _xlsx(path: Path, *, bad: bool) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for i in range(60):
        sheet.append(
            [
                f"cli-{i}",
                "en",
                "cli/bulk",
                "business",
                "consultation",
                f"CLI question {i}?",
                None,
                f"CLI answer {i}.",
                "agent" if i % 2 else None,
                f"微信 {i}" if i % 3 == 0 else None,
            ]
        )
    if bad:
        sheet.append(
            ["cli-bad", "en", "cli/bulk", "business", "consultation", "", None, "no question", None, None]
        )
        sheet.append(
            ["cli-61", "en", "cli/bulk", "business", "consultation", "Q61?", None, "A61.", "ghost", None]
        )
    book.save(path)


def test_kb_cli_import_xlsx_dry_run_export_round_trip(cli_env: dict[str, str], tmp_path: Path) -> None:  # noqa: F811
    bad = tmp_path / "bad.xlsx"
    _xlsx(bad, bad=True)
    result = caredesk(cli_env, "kb", "import", str(bad), "--dry-run")
    assert result.returncode == 2 and result.stdout == ""
    assert "2 bad row(s)" in result.stderr
    assert "line 62, column question" in result.stderr and "line 63, column owner" in result.stderr

    good = tmp_path / "good.xlsx"
    _xlsx(good, bad=False)
    dry = caredesk(cli_env, "kb", "import", str(good), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would be 60 created, 0 updated, 0 unchanged" in dry.stdout
    done = caredesk(cli_env, "kb", "import", str(good))
    assert done.stdout.strip().endswith("60 created, 0 updated, 0 unchanged")

    exported = tmp_path / "all.xlsx"
    out = caredesk(cli_env, "kb", "export", str(exported))
    assert out.returncode == 0 and "entries exported" in out.stdout
    total = int(out.stdout.split(": ")[1].split()[0])
    again = caredesk(cli_env, "kb", "import", str(exported))
    assert again.stdout.strip().endswith(f"0 created, 0 updated, {total} unchanged"), again.stdout
    assert caredesk(cli_env, "kb", "export", str(tmp_path / "all.pdf")).returncode == 2
