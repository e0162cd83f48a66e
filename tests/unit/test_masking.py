"""PII masking for Chinese and English text: ID numbers with checksum, cards with Luhn, phones, e-mail."""

from __future__ import annotations

import pytest

from caredesk.compliance.masking import find_pii, mask_address, mask_text, mask_value

VALID_ID = "11010519491231002X"  # the checksum (X) is right
INVALID_ID = "110105194912310021"  # same number, wrong check digit
VALID_CARD = "6222021234567890128"  # 19 digits, Luhn-valid
INVALID_CARD = "6222021234567890123"  # Luhn fails


def kinds(text: str) -> list[str]:
    return [m.kind for m in find_pii(text)]


def test_masking_valid_id_number_is_masked() -> None:
    masked, found = mask_text(f"我的身份证号是{VALID_ID}，请核实")
    assert masked == "我的身份证号是110***********002X，请核实"
    assert [(m.kind, m.start, m.end) for m in found] == [("id_card", 7, 25)]
    assert VALID_ID not in masked


def test_masking_lowercase_x_check_digit_is_valid() -> None:
    assert kinds(f"ID {VALID_ID.lower()}") == ["id_card"]


def test_masking_id_number_with_wrong_checksum_is_still_masked() -> None:
    """A mistyped ID is still the customer's ID: it was shown in clear to agents and kept in the masked copy."""
    assert mask_text(f"身份证{INVALID_ID}")[0] == "身份证110***********0021"
    assert kinds("110101199003071234") == ["id_card"]  # the issue's own example: its check digit is wrong


def test_masking_luhn_valid_card_is_masked_keeping_first_and_last_four() -> None:
    assert mask_text(f"卡号{VALID_CARD}被盗刷")[0] == "卡号6222 **** **** 0128被盗刷"
    assert mask_text("card 4111 1111 1111 1111 was charged")[0] == "card 4111 **** **** 1111 was charged"
    assert mask_text("card 4111-1111-1111-1111")[0] == "card 4111 **** **** 1111"


def test_masking_luhn_invalid_card_and_long_numbers_are_still_masked() -> None:
    """Masking goes by shape: a card number that fails Luhn, an account number, any 12 to 19 digits."""
    assert mask_text(f"卡号{INVALID_CARD}")[0] == "卡号6222 **** **** 0123"
    assert mask_text("ref 4111111111111112")[0] == "ref 4111 **** **** 1112"
    assert mask_text("账号 6217 0012 3456")[0] == "账号 **** 3456"
    assert kinds(INVALID_CARD) == ["account"]
    assert mask_text("转了20000元，订单尾号1234")[0] == "转了20000元，订单尾号1234"  # short numbers stay


@pytest.mark.parametrize(("text", "masked"), [
    ("手机13812345678", "手机138****5678"),
    ("call me on 138 1234 5678", "call me on 138****5678"),
    ("+86 13812345678", "138****5678"),
    ("电话：15900001111。", "电话：159****1111。"),
])
def test_masking_cn_mobile_keeps_prefix_and_last_four(text: str, masked: str) -> None:
    assert mask_text(text)[0] == masked


def test_masking_mobile_inside_a_longer_number_is_not_a_phone() -> None:
    assert "phone" not in kinds("流水号 9913812345678123")
    assert kinds("12812345678") == []  # 12x is not a mobile prefix


def test_masking_email_keeps_first_letter_and_domain() -> None:
    assert mask_text("write to zhang.san@example.com today")[0] == "write to z***@example.com today"
    assert mask_value("email", "li@bank.cn") == "l***@bank.cn"


def test_masking_several_kinds_in_one_text_in_order() -> None:
    text = f"我是张三，身份证{VALID_ID}，卡号{VALID_CARD}，手机13812345678，邮箱zs@example.com"
    masked, found = mask_text(text)
    assert [m.kind for m in found] == ["id_card", "bank_card", "phone", "email"]
    assert masked == ("我是张三，身份证110***********002X，卡号6222 **** **** 0128，手机138****5678，"
                      "邮箱z***@example.com")
    assert all(text[m.start:m.end] not in masked for m in found)


def test_masking_plain_amounts_and_dates_are_not_pii() -> None:
    text = "2026年3月2日被刷走20000元，交易时间 09:30"
    assert mask_text(text) == (text, [])


@pytest.mark.parametrize(("address", "masked"), [
    ("广东省深圳市南山区科技园科苑路15号", "广东省深圳市****"),
    ("北京市朝阳区建国路88号", "北京市****"),
    ("新疆维吾尔自治区乌鲁木齐市天山区解放北路1号", "新疆维吾尔自治区乌鲁木齐市****"),
    ("香港特别行政区九龙弥敦道1号", "香港特别行政区****"),
    ("上海浦东新区世纪大道100号", "****"),  # no province or city suffix: nothing is kept
    ("深圳南山区市民中心", "****"),  # 市 in 市民中心 is not a city
    ("北京市", "****"),  # nothing after the city: showing it would show the whole address
    ("1 Main Street, Springfield, USA", "****, USA"),
    ("221B Baker Street, London NW1 6XE", "****"),  # a postcode at the end is not kept
    ("", ""),
])
def test_mask_address_keeps_province_and_city_only(address: str, masked: str) -> None:
    assert mask_address(address) == masked
    assert mask_value("address", address) == masked
