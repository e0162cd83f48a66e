"""The schemas of the files that had no validation tests of their own (skills lexicon, demo organisation),
and the list of files `caredesk config validate` checks (the triage lexicons' schemas: test_triage_lexicons.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from caredesk.config_check import check_all, files_in, files_in_use
from caredesk.config_files import validate_config
from caredesk.demo.loader import load_org_file
from caredesk.demo.org_file import OrgFile
from caredesk.errors import InvalidConfig
from caredesk.settings import Settings
from caredesk.workorders.skills import load_skill_lexicon


def test_skills_lexicon_valid_with_numbers_as_words(tmp_path: Path) -> None:
    path = tmp_path / "skills.yaml"
    path.write_text("regulator: [12378, 银保监]\ncards: [Credit Card]\n", encoding="utf-8")
    lexicon = load_skill_lexicon(path)
    assert lexicon.skills_in("打了12378投诉我的credit card") == {"regulator", "cards"}
    assert load_skill_lexicon().skills_in("信用卡额度") == {"credit_card"}


@pytest.mark.parametrize(("text", "message"), [
    ("cards: card\n", "skills.yaml:1: cards: Input should be a valid list"),
    ("cards: [card, '']\n", "skills.yaml:1: cards[1]: String should have at least 1 character"),
    ("cards:\n  - card\n  - {a: b}\n", "skills.yaml:3: cards[1]: Input should be a valid string"),
    ("- card\n", "skills.yaml:1: Input should be a valid dictionary"),
])
def test_skills_lexicon_invalid(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "skills.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidConfig) as caught:
        load_skill_lexicon(path)
    assert caught.value.message == f"{tmp_path}/{message}"


ORG = {
    "departments": [{"code": "cs", "name_zh": "客服", "name_en": "CS"}],
    "branches": [{"code": "sh", "name_zh": "上海", "name_en": "Shanghai"}],
    "skill_groups": [{"code": "cards", "name_zh": "卡", "name_en": "Cards", "department": "cs"}],
    "staff": [{"username": "li", "display_name": "Li", "email": "li@x.example", "role": "agent",
               "department": "cs", "skill_groups": ["cards"], "manager": "wu"},
              {"username": "wu", "display_name": "Wu", "email": "wu@x.example", "role": "team_lead"}],
    "oncall": [{"content_type": "system", "staff": "wu", "position": "primary"}],
}


def test_demo_org_valid() -> None:
    org = validate_config(OrgFile, ORG, "bank.yaml")
    assert [p.username for p in org.staff] == ["li", "wu"]
    assert len(load_org_file().staff) > 10  # the shipped demo bank


@pytest.mark.parametrize(("change", "message"), [
    ({"staff": [{**ORG["staff"][0], "role": "boss"}]}, "staff[0].role: Input should be 'agent'"),
    ({"staff": [ORG["staff"][0]]}, "staff[0].manager: no staff member 'wu' in this file"),
    ({"oncall": [{"content_type": "system", "staff": "wu", "position": "first"}]}, "oncall[0].position"),
    ({"skill_groups": [{**ORG["skill_groups"][0], "department": "it"}]},
     "skill_groups[0].department: no department 'it' in this file"),
    ({"branches": [{"code": "sh", "name_zh": "上海", "name_en": "Shanghai", "town": "x"}]},
     "branches[0].town: Extra inputs are not permitted"),
])
def test_demo_org_invalid(change: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        validate_config(OrgFile, ORG | change, "bank.yaml")
    assert caught.value.message.startswith(f"bank.yaml: {message}")


def test_config_check_covers_shipped_files_and_overrides(tmp_path: Path) -> None:
    sla = tmp_path / "my_sla.yaml"
    sla.write_text("policies: []\n", encoding="utf-8")
    checks = files_in_use(Settings(sla_file=sla))
    names = [name for name, _ in checks]
    assert names[0] == "sla.yaml" and "strategy.yaml" in names and "outgoing_rules.yaml" in names
    assert {f"triage/lexicons/{name}.yaml" for name in ("complaint", "emotion", "urgency")} <= set(names)
    assert names[-1] == str(sla)
    results = check_all(checks)
    assert [r.file for r in results if r.error] == [str(sla)]
    assert results[-1].error is not None and results[-1].error.path == "policies"


def test_config_check_a_directory_by_file_name(tmp_path: Path) -> None:
    (tmp_path / "strategy.yaml").write_text("levels: [{notify: []}]\n", encoding="utf-8")
    (tmp_path / "notes.yaml").write_text("not: configuration\n", encoding="utf-8")
    assert [(r.file, r.error) for r in check_all(files_in(tmp_path))] == [(str(tmp_path / "strategy.yaml"), None)]
