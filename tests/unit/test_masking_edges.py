"""PII masking at its edges: malformed ID numbers and card digits, Luhn's doubled fives, landlines long and
short, international phones, a match right after an e-mail, unknown kinds."""

from __future__ import annotations

import pytest

from caredesk.compliance.masking import PiiMatch, find_pii, id_checksum_valid, luhn_valid, mask_text, mask_value


@pytest.mark.parametrize("value", ["", "11010519491231002", "1101051949123100211", "1101A519491231002X"])
def test_id_checksum_valid_refuses_wrong_length_or_letters(value: str) -> None:
    assert not id_checksum_valid(value)


def test_id_checksum_valid_accepts_a_valid_number() -> None:
    assert id_checksum_valid("11010519491231002X")


def test_luhn_valid_doubles_fives_and_refuses_non_digits() -> None:
    assert luhn_valid("5555555555554444")  # the doubled 5s count 1 each (10 - 9)
    assert not luhn_valid("5555555555554445")
    assert not luhn_valid("4111 1111 1111 1111") and not luhn_valid("")


@pytest.mark.parametrize(("text", "masked"), [
    ("座机 010-12345678", "座机 010****5678"),
    ("座机 021-1234567", "座机 ******4567"),
])
def test_find_pii_landline_kind_and_mask(text: str, masked: str) -> None:
    out, matches = mask_text(text)
    assert out == masked and [m.kind for m in matches] == ["landline"]


def test_find_pii_international_phone_is_a_phone() -> None:
    out, matches = mask_text("call (555) 123-4567")
    assert out == "call ******4567" and [m.kind for m in matches] == ["phone"]


def test_find_pii_match_right_after_an_email_is_still_found() -> None:
    assert find_pii("a@b.com13812345678") == [PiiMatch("email", 0, 7, "a***@b.com"),
                                              PiiMatch("phone", 7, 18, "138****5678")]


def test_find_pii_id_number_after_an_email() -> None:
    kinds = [m.kind for m in find_pii("mail a@b.com id 11010519491231002X")]
    assert kinds == ["email", "id_card"]


def test_mask_value_unknown_kind_is_masked_whole() -> None:
    assert mask_value("other", "abc") == "***"
