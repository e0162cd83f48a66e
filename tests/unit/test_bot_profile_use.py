"""The bot's pure rules for what it knows of the customer (intake/profile_use.py): the greeting by the business in
progress, and a clarifying question not asked when the customer has already named the product."""

from __future__ import annotations

from caredesk.intake.decision import Decision, DecisionKind, Reason
from caredesk.intake.profile_use import InProgress, greeting, skip_answered_question
from caredesk.knowledge.match import KbMatch
from caredesk.triage.components.topics import load_topic_matcher

CREDIT = KbMatch("kb-credit", 2, 0.71, "信用卡年费怎么减免？", "信用卡年费：刷卡满 6 次免次年年费。")
DEBIT = KbMatch("kb-debit", 1, 0.69, "借记卡年费怎么减免？", "借记卡小额账户管理费可申请减免。")
ASK = Decision(DecisionKind.ANSWER, "clarifying question", None, (CREDIT, DEBIT), because=(Reason("clarify"),))


def product_of(question: str) -> str | None:
    return load_topic_matcher().match(question).product


def test_greeting_names_the_business_in_progress_in_the_customers_language() -> None:
    business = InProgress("WO-20261207-0042", "fees_charges", "credit_card")
    zh = greeting(business, "zh", load_topic_matcher().titles("zh"))
    assert zh == "您好，关于您的「信用卡 · 费用与收费」工单（编号 WO-20261207-0042），目前正在处理中。"
    en = greeting(business, "en", load_topic_matcher().titles("en"))
    assert en == "Hello, your ticket WO-20261207-0042 about Credit card - Fees and charges is in progress."
    assert greeting(InProgress("WO-1", None, None), "zh", {}) == "您好，您的工单（编号 WO-1），目前正在处理中。"


def test_a_question_already_answered_by_the_product_given_is_not_asked() -> None:
    got = skip_answered_question(ASK, {"debit_card"}, product_of)
    assert (got.kind, got.match, got.clarify) == (DecisionKind.ANSWER, DEBIT, ())
    assert got.because == (Reason("known_product", {"option": "2", "product": "debit_card"}),)
    assert "already named debit_card" in got.reason


def test_the_question_stays_when_nothing_or_everything_fits() -> None:
    assert skip_answered_question(ASK, set(), product_of) is ASK
    assert skip_answered_question(ASK, {"mortgage"}, product_of) is ASK
    assert skip_answered_question(ASK, {"credit_card", "debit_card"}, product_of) is ASK  # both fit: still ask
    plain = Decision(DecisionKind.WORK_ORDER, "no entry")
    assert skip_answered_question(plain, {"credit_card"}, product_of) is plain
