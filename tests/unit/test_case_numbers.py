"""Case numbers, the emergency reply and the card-fraud roster topic: the pure parts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from caredesk.config_files import validate_config
from caredesk.demo.org_file import OrgFile
from caredesk.emergency.roster import COMPLAINT_ESCALATION, response_roster
from caredesk.emergency.topics import load_topics, topic_of, topic_roster
from caredesk.errors import InvalidConfig
from caredesk.intake.replies import emergency_reply
from caredesk.workorders.case_numbers import CASE_NUMBER, case_day, format_case_number, is_case_number
from tests.unit.test_config_models import ORG

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_case_number_format_is_c_day_dash_four_digits() -> None:
    assert format_case_number(date(2026, 12, 6), 42) == "C20261206-0042"
    assert format_case_number(date(2026, 1, 2), 1) == "C20260102-0001"
    assert CASE_NUMBER.match("C20261206-0042") and is_case_number("C20261206-0042")


def test_case_number_grows_past_9999() -> None:
    assert format_case_number(date(2026, 12, 6), 9999) == "C20261206-9999"
    assert format_case_number(date(2026, 12, 6), 10000) == "C20261206-10000"
    assert is_case_number("C20261206-10000")


@pytest.mark.parametrize("value", ["C2026126-0042", "c20261206-0042", "C20261206-042", "C20261206_0042",
                                   "01a24b0503cfb6d7661df6eb03a22596", "C20261206-0042x", ""])
def test_case_number_shape_is_refused_otherwise(value: str) -> None:
    assert not is_case_number(value)


def test_case_number_sequence_starts_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        format_case_number(date(2026, 12, 6), 0)


@pytest.mark.parametrize(("utc", "zone", "day"), [
    # 15:59 UTC is 23:59 in Shanghai; 16:00 UTC is already the next day there (but still the same day in UTC)
    (datetime(2026, 12, 5, 15, 59, tzinfo=UTC), SHANGHAI, date(2026, 12, 5)),
    (datetime(2026, 12, 5, 16, 0, tzinfo=UTC), SHANGHAI, date(2026, 12, 6)),
    (datetime(2026, 12, 5, 16, 0, tzinfo=UTC), UTC, date(2026, 12, 5)),
    (datetime(2026, 12, 5, 23, 59, tzinfo=UTC), UTC, date(2026, 12, 5)),
    (datetime(2026, 12, 6, 0, 0, tzinfo=UTC), UTC, date(2026, 12, 6)),
])
def test_case_day_is_the_day_in_the_configured_zone(utc: datetime, zone: ZoneInfo, day: date) -> None:
    assert case_day(utc, zone) == day


def test_emergency_reply_zh_has_advice_number_and_contact_time() -> None:
    reply = emergency_reply("zh", advice="请立即拨打95000办理临时挂失。", number="C20261206-0007", minutes=15)
    lines = reply.split("\n")
    assert len(lines) == 4
    assert "紧急处理" in lines[0]
    assert lines[1] == "请您先这样做：请立即拨打95000办理临时挂失。"
    assert "C20261206-0007" in lines[2] and "工单号" in lines[2]
    assert "15 分钟内" in lines[3]


def test_emergency_reply_en_without_advice_or_time() -> None:
    reply = emergency_reply("en", advice=None, number="C20261206-0008", minutes=None)
    assert "What you can do right now" not in reply
    assert "C20261206-0008" in reply and "shortly" in reply and "within" not in reply
    assert reply.isascii()


TOPICS = load_topics()


@pytest.mark.parametrize(("text", "hard_rules", "topic"), [
    ("我的信用卡昨天被盗刷了三万块，现在就要冻结！", ["fraud", "theft"], "card_fraud"),
    ("我的卡丢了，马上挂失", [], "card_fraud"),  # a phrase by itself
    ("someone used my card at a shop abroad", ["fraud"], "card_fraud"),
    ("My credit card was stolen", ["theft"], "card_fraud"),
    ("有人冒用我的身份证开了账户", ["fraud"], None),  # fraud, but no card
    ("手机银行登录不上，账户被黑了，钱被转走了", ["fraud", "theft"], None),
    ("Your online banking system is down", ["outage"], None),
    ("信用卡年费怎么收", [], None),  # a card, but nothing happened
])
def test_topic_of_card_fraud(text: str, hard_rules: list[str], topic: str | None) -> None:
    assert topic_of(text, hard_rules, TOPICS) == topic


def test_topic_roster_wins_over_content_type_but_not_over_a_pure_threat() -> None:
    assert response_roster("business", [], ["fraud"], "card_fraud") == topic_roster("card_fraud") == \
        "topic:card_fraud"
    assert response_roster("business", [], ["fraud"], None) == "business"
    assert response_roster("business", ["regulator"], [], "card_fraud") == COMPLAINT_ESCALATION


def test_org_file_roster_line_by_topic() -> None:
    org = validate_config(OrgFile, ORG | {"oncall": [{"topic": "card_fraud", "staff": "wu", "position": "primary"},
                                                     {"content_type": "system", "staff": "li",
                                                      "position": "backup"}]}, "bank.yaml")
    assert [line.roster for line in org.oncall] == ["topic:card_fraud", "system"]


@pytest.mark.parametrize(("line", "message"), [
    ({"topic": "card_theft", "staff": "wu", "position": "primary"},
     "oncall[0].topic: no topic in emergency/topics.yaml: 'card_theft'"),
    ({"topic": "card_fraud", "content_type": "business", "staff": "wu", "position": "primary"},
     "oncall[0]: a roster line names either a content_type or a topic"),
    ({"staff": "wu", "position": "primary"},
     "oncall[0]: a roster line names either a content_type or a topic"),
    ({"problem": "card_fraud", "staff": "wu", "position": "primary"}, "oncall[0].problem: Extra inputs"),
])
def test_org_file_roster_line_refused(line: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        validate_config(OrgFile, ORG | {"oncall": [line]}, "bank.yaml")
    assert caught.value.message.startswith(f"bank.yaml: {message}"), caught.value.message


def test_topics_file_is_strict(tmp_path: Path) -> None:
    bad = tmp_path / "topics.yaml"
    bad.write_text("topics:\n  - name: card_fraud\n    title_zh: 盗刷\n    title_en: Fraud\n    word: [卡]\n",
                   encoding="utf-8")
    with pytest.raises(InvalidConfig) as caught:
        load_topics(bad)
    assert "topics[0]" in caught.value.message and ":5:" in caught.value.message, caught.value.message
    lonely = tmp_path / "lonely.yaml"
    lonely.write_text("topics:\n  - {name: x, title_zh: x, title_en: x, hard_rules: [fraud]}\n", encoding="utf-8")
    with pytest.raises(InvalidConfig, match="phrases, or hard_rules together with words"):
        load_topics(lonely)
