"""Customer identity fields: ID numbers with their check digit, bank cards with Luhn, phones and e-mail in
their stored form; each refusal names the field and never the value; profile updates checked whole."""

from __future__ import annotations

import pytest

from caredesk.customers.identity import (
    clean_address,
    clean_bank_card,
    clean_email,
    clean_id_number,
    clean_name,
    clean_phone,
)
from caredesk.customers.profile import ProfileUpdate, check_profile_update
from caredesk.customers.search import search_field
from caredesk.errors import InvalidInput

VALID_ID = "11010519491231002X"
VALID_CARD = "6222021234567890128"


def test_identity_id_number_is_upper_cased_without_spaces() -> None:
    assert clean_id_number(" 110105 19491231 002x ") == VALID_ID
    assert clean_id_number("110105491231002") == "110105491231002"  # the older 15-digit form


@pytest.mark.parametrize("bad", ["110105194912310021", "11010519491231002", "1101051949123100XX", "abc",
                                 "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "11010549123100X"])
def test_identity_id_number_with_bad_checksum_or_shape_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput) as err:
        clean_id_number(bad)
    assert err.value.details == {"field": "id_number"} and bad not in err.value.message


def test_identity_bank_card_keeps_digits_and_checks_luhn() -> None:
    assert clean_bank_card("6222-0212 3456-7890-128") == VALID_CARD
    assert clean_bank_card("4111111111111111") == "4111111111111111"
    for bad in ("6222021234567890123", "41111111111", "4" * 20, "4111a11111111111", ""):
        with pytest.raises(InvalidInput, match="bank_card"):
            clean_bank_card(bad)


def test_identity_phone_drops_separators_and_keeps_the_plus() -> None:
    assert clean_phone("138-1234-5678") == "13812345678"
    assert clean_phone("+86 138 1234 5678") == "+8613812345678"
    for bad in ("1234", "138x1234", "++8613812345678", "1" * 21, "-138"):
        with pytest.raises(InvalidInput, match="phone"):
            clean_phone(bad)


def test_identity_text_fields_refuse_control_characters_and_length() -> None:
    assert clean_name(" 张伟 ") == "张伟"
    assert clean_email("zhang.wei@example.com") == "zhang.wei@example.com"
    for call, bad in ((clean_name, "a\x00b"), (clean_name, "  "), (clean_address, "x" * 501),
                      (clean_address, "lone \ud800"), (clean_email, "not-an-email"), (clean_email, "a b@c.d")):
        with pytest.raises(InvalidInput):
            call(bad)


def test_profile_update_is_checked_whole_and_in_stored_form() -> None:
    values = check_profile_update(ProfileUpdate(phone="138 1234 5678", id_number=VALID_ID.lower(), tier="gold",
                                                clear=frozenset({"address"})))
    assert values == {"phone": "13812345678", "id_number": VALID_ID, "tier": "gold", "address": None}
    for update, field in [(ProfileUpdate(tier="platinum"), "tier"), (ProfileUpdate(clear=frozenset({"tier"})), "tier"),
                          (ProfileUpdate(phone="13812345678", clear=frozenset({"phone"})), "phone"),
                          (ProfileUpdate(name="ok", bank_card="6222021234567890123"), "bank_card")]:
        with pytest.raises(InvalidInput) as err:
            check_profile_update(update)
        assert err.value.details["field"] == field


def test_search_takes_exactly_one_searchable_field() -> None:
    assert search_field({"phone": "138", "id_number": None}) == ("phone", "138")
    for given in ({"phone": None, "id_number": None}, {"phone": "1", "bank_card": "2"}, {"email": "a@b.c"}):
        with pytest.raises(InvalidInput):
            search_field(given)
