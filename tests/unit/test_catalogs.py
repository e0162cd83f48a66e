"""The web UI's gettext catalogs against the keys the templates and the code use (extracted with Babel, as
`make messages` does): every key translated in every language, no key kept that nobody uses."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from caredesk.errors import Conflict, InvalidInput
from caredesk.web.i18n import LANGUAGES, Translator
from caredesk.web.i18n_keys import FAMILIES, computed_keys

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "src" / "caredesk" / "web" / "locale"
TEMPLATES = ROOT / "src" / "caredesk" / "web" / "templates"
# As the Makefile's KEYWORDS: t("key"), rt("key"), N_("key"), tn("key", n) and t.plural("key", n).
KEYWORDS = {"t": None, "rt": None, "N_": None, "tn": (1, 1), "plural": (1, 1)}


def _used_keys() -> set[str]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS)
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def _catalog(language: str) -> Catalog:
    with (LOCALE / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


@pytest.fixture(scope="module")
def used() -> set[str]:
    return _used_keys()


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_translates_every_key_used(used: set[str], language: str) -> None:
    catalog = _catalog(language)
    translated = {m.id if isinstance(m.id, str) else m.id[0]: m.string for m in catalog if m.id}
    missing = sorted(k for k in used if k not in translated)
    empty = sorted(k for k, text in translated.items()
                   if not all(text if isinstance(text, tuple) else (text,)))
    assert (missing, empty) == ([], []), "run `make messages`, then fill the msgstr lines"
    assert not [m.id for m in catalog if m.fuzzy and m.id], "fuzzy entries are not used at run time"


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_keeps_no_stale_key(used: set[str], language: str) -> None:
    stale = sorted({m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(language) if m.id} - used)
    assert stale == [], "keys nobody uses: `make messages` drops them"


def test_extraction_finds_keys_of_each_kind(used: set[str]) -> None:
    assert {"nav.workbench", "wo.done.reply", "login.frozen_now", "wo.left", "label.in_progress",
            "decision.code.kb_match", "role.team_lead", "error.problem.reason_required"} <= used
    assert set(computed_keys()) <= used


def test_every_computed_key_prefix_in_the_templates_is_a_declared_family() -> None:
    # t("wo.sla." ~ state), t("kb.move." + move), t.optional("kb.action." + name, name), tr("wo.step.", name)
    computed = re.compile(r"""\b(?:t|t\.optional)\(\s*["']([a-z_.]+)["']\s*[~+]|\btr\(\s*["']([a-z_.]+)["']\s*,""")
    prefixes = {a or b for f in TEMPLATES.glob("*.html") for a, b in computed.findall(f.read_text(encoding="utf-8"))}
    assert prefixes and prefixes <= set(FAMILIES), sorted(prefixes - set(FAMILIES))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_use_the_same_placeholders() -> None:
    zh, en = _catalog("zh"), _catalog("en")
    differ = []
    for message in en:
        if not message.id:
            continue
        other = zh.get(message.id)
        assert other is not None
        ours = message.string if isinstance(message.string, tuple) else (message.string,)
        theirs = other.string if isinstance(other.string, tuple) else (other.string,)
        if {f for s in ours for f in _fields(s)} != {f for s in theirs for f in _fields(s)}:
            differ.append(message.id)
    assert differ == []


def test_translator_plural_forms_follow_the_count() -> None:
    en, zh = Translator("en"), Translator("zh")
    assert en.plural("login.throttled", 1) == "Too many failed sign-ins; try again in 1 minute."
    assert en.plural("login.throttled", 15) == "Too many failed sign-ins; try again in 15 minutes."
    assert zh.plural("login.throttled", 1) == "登录失败次数过多，请 1 分钟后再试。"
    assert (en.plural("wo.left", 1), zh.plural("wo.left", 7)) == ("1 business min left", "剩余 7 分钟")


def test_translator_reads_stored_values_and_leaves_unknown_ones() -> None:
    zh = Translator("zh")
    assert (zh.label("waiting_customer"), zh.role("team_lead"), zh.complaint_type("regulator")) == (
        "等待客户", "组长", "威胁向监管投诉")
    assert zh.category("cards/credit") == "银行卡 / 信用卡"
    assert (zh.label("brand_new"), zh.role("astronaut"), zh.category("my/own"), zh.category("")) == (
        "brand_new", "astronaut", "my/own", "—")
    assert zh.priority_reason("tier private +2") == "客户等级「私行客户」+2"
    assert zh.priority_reason("something else") == "something else"


def test_translator_says_a_decision_by_its_codes() -> None:
    zh = Translator("zh")
    explanation = {"decision_reasons": [{"code": "handoff", "params": {}},
                                        {"code": "urgency_held", "params": {"urgency": "urgent",
                                                                             "confidence": "0.61",
                                                                             "threshold": "0.75"}}]}
    said = zh.decision(explanation, "the customer asked for a person; urgency urgent at 0.61 < 0.75: ...")
    assert said == "客户要求转人工；紧急程度「紧急」的置信度 0.61 低于 0.75：由主管确认后再启动紧急响应"
    assert zh.decision({}, "older row") == "older row"  # stored before the codes: its English stays


def test_translator_says_a_refusal_by_its_code() -> None:
    zh = Translator("zh")
    assert zh.error(InvalidInput("resolving an alarm needs a reason", field="note",
                                 problem="reason_required")) == "请填写原因。"
    assert zh.error(Conflict("cannot move from resolved to open")) == "当前状态下不能执行此操作。"
    assert zh.error(InvalidInput("x", problem="unheard_of")) == "输入的内容无效，请检查后重试。"


def test_translator_says_what_the_compliance_rules_found_in_the_readers_language() -> None:
    from caredesk.compliance.outgoing import load_checker
    from caredesk.errors import ComplianceBlocked

    check = load_checker().check("本产品保本保息、稳赚不赔，绝对安全").to_json()
    zh, en = Translator("zh"), Translator("en")
    assert zh.compliance(check) == [
        "承诺保本保收益（「保本保息、稳赚不赔」）：销售理财和投资产品时不得承诺保本或保证收益（刚性兑付已被禁止），说明收益时必须同时提示风险。",
        "绝对化用语（「绝对安全」）：对安全性或收益使用绝对化、最高级的表述，属于误导性宣传。"]
    assert en.compliance(check)[1] == ("Absolute claims (“绝对安全”): Absolute or superlative claims about safety or "
                                       "performance are misleading advertising.")
    refused = ComplianceBlocked("the reply was not sent: guaranteed_returns (保本保息)", check=check)
    assert zh.error(refused).startswith("答复未发送，不符合合规规则：承诺保本保收益（「保本保息、稳赚不赔」）")
    assert en.error(refused).startswith("The reply was not sent; the compliance rules do not allow it: Guaranteed")
    older = {"hits": [{"rule": "old_rule", "term": "稳赚", "reason": "stored before names"}]}
    assert zh.compliance(older) == ["old_rule（「稳赚」）：stored before names"]  # older rows: id and English
    blocked = {"decision_reasons": [{"code": "compliance_blocked",
                                     "params": {"rules": "guaranteed_returns",
                                                "names": {"zh": "承诺保本保收益", "en": "Guaranteed returns"}}}]}
    assert zh.decision(blocked, "x") == "外发合规规则拦截了答复（承诺保本保收益），转人工处理"
    assert en.decision(blocked, "x") == "outgoing compliance blocked the reply (Guaranteed returns)"
    stale = {"decision_reasons": [{"code": "compliance_blocked", "params": {"rules": "guaranteed_returns"}}]}
    assert zh.decision(stale, "outgoing compliance blocked the reply: guaranteed_returns (稳赚)") == (
        "outgoing compliance blocked the reply: guaranteed_returns (稳赚)")  # an older shape keeps its text


def test_every_decision_gives_its_reason_as_codes_the_catalogs_know() -> None:
    from caredesk.intake.decision import REASON_CODES, DecisionPolicy, decide
    from caredesk.knowledge.match import KbMatch
    from caredesk.triage.doc import LabelScore, TriageDoc

    def doc(urgency: str = "general", confidence: float = 0.9) -> TriageDoc:
        labels = {"content_type": LabelScore("business", 0.9), "problem_type": LabelScore("consultation", 0.9),
                  "urgency": LabelScore(urgency, confidence)}
        return TriageDoc(text="x", language="zh", labels=labels)

    policy = DecisionPolicy(frozenset({"urgent"}), 0.55, emergency_min_confidence=0.75)
    hit = KbMatch("kb-1", 1, 0.8, "q", "a")
    decisions = [decide(doc(), hit, policy), decide(doc(), None, policy),
                 decide(doc(), KbMatch("kb-1", 1, 0.3, "q", "a"), policy),
                 decide(doc("urgent", 0.95), None, policy), decide(doc("urgent", 0.5), None, policy)]
    codes = [[r.code for r in d.because] for d in decisions]
    assert codes == [["kb_match"], ["no_entry"], ["below_threshold"], ["urgency_met"], ["urgency_held"]]
    assert {c for cs in codes for c in cs} <= set(REASON_CODES)
    zh = Translator("zh")
    said = zh.decision({"decision_reasons": [r.to_json() for r in decisions[0].because]}, decisions[0].reason)
    assert said == "知识匹配分 0.80 达到阈值 0.55，由知识库答复"
