"""The outgoing compliance matcher (Aho-Corasick over normalised text) and its rules file."""

from __future__ import annotations

from pathlib import Path

import pytest

from caredesk.compliance.outgoing import (
    OutgoingAction,
    OutgoingChecker,
    OutgoingRule,
    load_checker,
    load_rules,
    normalise,
)
from caredesk.errors import InvalidConfig

RULES = [
    OutgoingRule("returns", OutgoingAction.BLOCK, "no guaranteed returns", ("保本保息", "稳赚", "稳赚不赔",
                                                                            "guaranteed return")),
    OutgoingRule("absolute", OutgoingAction.WARN, "no absolute claims", ("绝对安全", "100% safe")),
]


@pytest.fixture(scope="module")
def checker() -> OutgoingChecker:
    return OutgoingChecker(RULES)


def test_check_blocks_chinese_and_english_terms(checker: OutgoingChecker) -> None:
    result = checker.check("本产品保本保息，绝对安全。")
    assert result.blocked and result.action == "block"
    assert [(h.rule_id, h.term, h.action) for h in result.hits] == [
        ("returns", "保本保息", OutgoingAction.BLOCK), ("absolute", "绝对安全", OutgoingAction.WARN)]
    assert result.reason() == "returns (保本保息); absolute (绝对安全)"
    hit = result.hits[0]
    assert "本产品保本保息，绝对安全。"[hit.start:hit.end] == "保本保息"


def test_check_warn_only_is_not_blocked(checker: OutgoingChecker) -> None:
    result = checker.check("Our deposit insurance makes this 100% SAFE")
    assert not result.blocked and result.action == "warn" and result.hits[0].rule_id == "absolute"
    assert checker.check("Your card will arrive in 5 working days.").action == "pass"
    assert checker.check("").action == "pass"


def test_check_prefers_the_longest_term_at_a_position(checker: OutgoingChecker) -> None:
    result = checker.check("稳赚不赔的好产品")
    assert [(h.term, h.start, h.end) for h in result.hits] == [("稳赚不赔", 0, 4)]


@pytest.mark.parametrize("text", [
    "保 本 保 息",  # spaces between CJK characters
    "保本\u200b保息",  # zero-width space
    "ＧＵＡＲＡＮＴＥＥＤ return",  # full-width letters
    "a Guaranteed\n\n  Return on savings",  # case and runs of whitespace
    "guaranteed returns",  # a term starts a word; the word may go on
])
def test_check_sees_through_disguises(checker: OutgoingChecker, text: str) -> None:
    assert checker.check(text).blocked, text


@pytest.mark.parametrize("text", ["unguaranteed return", "Nonguaranteed returns apply", "x100% safe"])
def test_check_latin_terms_must_start_a_word(checker: OutgoingChecker, text: str) -> None:
    assert not checker.check(text).hits, text


def test_normalise_maps_back_to_the_original() -> None:
    folded, where = normalise("Ａ  b 保 本")
    assert folded == "a b保本"
    assert where == [0, 1, 3, 5, 7]


def test_shipped_rules_cover_the_usual_bank_promises() -> None:
    checker = load_checker()
    for text in ("这款理财保本保息", "稳赚不赔", "We offer a guaranteed return of 5%", "请把验证码告诉我们的客服",
                 "Please tell us your PIN to continue", "为方便核实，请把短信验证码告诉我们"):
        assert checker.check(text).blocked, text
    assert checker.check("这款产品绝对安全").action == "warn"
    for text in ("On the login page tap Forgot password, enter your card number and the SMS code.",
                 "理财产品有风险，投资需谨慎。过往业绩不代表未来表现。", "Never tell anyone your PIN.",
                 "请勿把验证码告诉任何人，包括自称银行工作人员的人。"):
        assert not checker.check(text).blocked, text


def test_shipped_rules_pass_the_demo_knowledge_base() -> None:
    import csv
    from importlib import resources

    checker = load_checker()
    path = Path(str(resources.files("caredesk.demo").joinpath("knowledge_base.csv")))
    with path.open(encoding="utf-8") as f:
        answers = [row["answer"] for row in csv.DictReader(f)]
    assert answers and [a for a in answers if checker.check(a).blocked] == []


def test_load_rules_refuses_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "rules.yaml"
    good.write_text("rules:\n  - id: x\n    action: warn\n    reason: r\n    terms: {zh: [甲], en: [alpha]}\n",
                    encoding="utf-8")
    assert load_rules(good) == [OutgoingRule("x", OutgoingAction.WARN, "r", ("甲", "alpha"),
                                             names={"zh": "x", "en": "x"},  # one text stands for every language
                                             reasons={"zh": "r", "en": "r"})]
    assert load_checker(good).check("Alpha!").action == "warn"
    for body, message in [("rules: 3", "bad.yaml:1: rules: Input should be a valid list"),
                          ("rules:\n  - id: x\n    action: delete\n    terms: [a]",
                           r"bad.yaml:3: rules\[0\]\.action: Input should be 'block' or 'warn'"),
                          ("rules:\n  - id: x\n    action: warn\n    terms: []",
                           r"bad.yaml:4: rules\[0\]\.terms: List should have at least 1 item"),
                          ("rules:\n  - {id: x, action: warn, terms: [a]}\n  - {id: x, action: block, terms: [b]}",
                           r"bad.yaml:3: rules\[1\]\.id: duplicate rule id 'x'"),
                          ("rules:\n  - {id: x, action: warn, terms: [a], name: {fr: x}}",
                           r"bad.yaml:2: rules\[0\]\.name"),
                          ("rules: [unclosed", "not valid YAML")]:
        bad = tmp_path / "bad.yaml"
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(InvalidConfig, match=message):
            load_rules(bad)
    with pytest.raises(InvalidConfig, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")


def test_names_and_reasons_by_language_reach_every_hit(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: past\n    action: block\n    name: {zh: 宣传过往业绩, en: Past performance}\n"
                    "    reason: {zh: 过往业绩不代表未来。, en: Past results are no promise.}\n"
                    "    terms: [历史收益]\n", encoding="utf-8")
    [rule] = load_rules(path)
    assert rule.reason == "Past results are no promise."  # the English text is the one logs and reasons carry
    assert rule.names == {"zh": "宣传过往业绩", "en": "Past performance"}
    [hit] = load_checker(path).check("这款产品历史收益很好").to_json()["hits"]
    assert hit["rule"] == "past" and hit["reason"] == "Past results are no promise."
    assert hit["names"]["zh"] == "宣传过往业绩" and hit["reasons"]["zh"] == "过往业绩不代表未来。"


def test_every_shipped_rule_says_its_name_and_reason_in_chinese_and_english() -> None:
    for rule in load_checker().rules:
        assert set(rule.names) == set(rule.reasons) == {"zh", "en"}, rule.id
        assert rule.names["zh"] != rule.names["en"] and rule.reasons["zh"] != rule.reasons["en"], rule.id
        assert any("\u4e00" <= ch <= "\u9fff" for ch in rule.names["zh"] + rule.reasons["zh"]), rule.id
        assert rule.reason == rule.reasons["en"]
