"""Customer data encrypted at rest: the raw database holds no plaintext of messages, names, phones, e-mail
addresses, ID numbers, bank cards or postal addresses; the application reads them back; keyed hashes find a
customer by phone, ID number or bank card; key rotation re-encrypts everything with the new key and
recomputes the hashes, after which the old key can be dropped."""

from __future__ import annotations

import base64
import os

from sqlalchemy import select, text

from caredesk.bootstrap.runtime import Runtime
from caredesk.compliance.crypto import current_keyring, install_keyring, keyring_from_settings
from caredesk.compliance.key_rotation import rotate_keys
from caredesk.compliance.lookup import lookup_hash
from caredesk.customers.search import find_customers
from caredesk.http.deps import Caller
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.storage.orm import Customer, Message

PHONE = "13812345678"
SECRET_TEXT = f"我的手机号是{PHONE}，信用卡年费被乱扣了，我要投诉"
ID_NUMBER = "11010519491231002X"  # valid check digit
BANK_CARD = "6222021234567890128"  # Luhn-valid
ADDRESS = "广东省深圳市南山区科技园科苑路15号"
ENCRYPTED = ("name", "phone", "email", "id_number", "bank_card", "address")
ADMIN = Caller("api_key", "k", "admin", "integration")


def _raw(rt: Runtime, sql: str) -> list[str]:
    with rt.engine.connect() as conn:
        return [str(v) for row in conn.execute(text(sql)) for v in row if v is not None]


def test_raw_database_holds_no_plaintext_and_rotation_moves_every_value(runtime: Runtime) -> None:
    rt = runtime
    outcome = do_receive_message(rt, IncomingMessage(SECRET_TEXT, "chat", "enc-cust"))
    with rt.uow() as uow:
        customer = uow.session.scalar(select(Customer).where(Customer.ref == "enc-cust"))
        assert customer is not None
        customer.name, customer.phone, customer.email = "张伟", "138 1234 5678", "zhang.wei@example.com"
        customer.id_number, customer.bank_card, customer.address = ID_NUMBER, BANK_CARD, ADDRESS
        uow.commit()

    raw = _raw(rt, "SELECT text FROM message") + _raw(rt, f"SELECT {', '.join(ENCRYPTED)} FROM customer")
    assert len(raw) >= 1 + len(ENCRYPTED) and all(v.startswith("enc:v1:") for v in raw)
    everything = " ".join(_raw(rt, "SELECT * FROM message") + _raw(rt, "SELECT * FROM customer") +
                          _raw(rt, "SELECT * FROM triage_result") + _raw(rt, "SELECT * FROM work_order") +
                          _raw(rt, "SELECT * FROM audit_entry"))
    for plain in (PHONE, "张伟", "zhang.wei@example.com", "1234 5678", ID_NUMBER, ID_NUMBER.lower(), BANK_CARD,
                  BANK_CARD[-8:], "科技园", "深圳市"):
        assert plain not in everything, plain

    with rt.session_factory() as s:
        assert s.get(Message, outcome.message_id).text == SECRET_TEXT  # type: ignore[union-attr]
        found = s.scalar(select(Customer).where(Customer.phone_hash == current_keyring().keyed_hash("13812345678")))
        assert found is not None and found.email == "zhang.wei@example.com"

    old = current_keyring()
    new_key = base64.b64encode(os.urandom(32)).decode()
    old_key = base64.b64encode(old.keys[old.active]).decode()
    rotated = keyring_from_settings({old.active: old_key, "k2": new_key}, "k2", rt.settings.secret_key)
    try:
        install_keyring(rotated)
        report = rotate_keys(rt.engine, rotated, batch=1)
        assert report.messages >= 1 and report.customers == 1
        assert all(v.startswith("enc:v1:k2:") for v in _raw(rt, "SELECT text FROM message"))
        stored = _raw(rt, f"SELECT {', '.join(ENCRYPTED)} FROM customer WHERE ref = 'enc-cust'")
        assert len(stored) == len(ENCRYPTED) and all(v.startswith("enc:v1:k2:") for v in stored)
        assert rotate_keys(rt.engine, rotated).messages == 0  # nothing left to move
        install_keyring(keyring_from_settings({"k2": new_key}, "k2", rt.settings.secret_key))  # old key gone
        with rt.session_factory() as s:
            assert s.get(Message, outcome.message_id).text == SECRET_TEXT  # type: ignore[union-attr]
            customer = s.scalar(select(Customer).where(Customer.ref == "enc-cust"))
            assert customer is not None and customer.phone == "138 1234 5678"
            assert (customer.id_number, customer.bank_card, customer.address) == (ID_NUMBER, BANK_CARD, ADDRESS)
            assert [c.ref for c in find_customers(s, ADMIN, "id_number", ID_NUMBER)] == ["enc-cust"]
    finally:
        install_keyring(old)


def test_plaintext_rows_from_before_encryption_are_read_and_then_encrypted(runtime: Runtime) -> None:
    rt = runtime
    outcome = do_receive_message(rt, IncomingMessage("How do I activate my credit card?", "chat", "legacy"))
    with rt.engine.begin() as conn:  # as an older CareDesk stored it
        conn.execute(text("UPDATE message SET text = 'legacy plaintext' WHERE id = :id"), {"id": outcome.message_id})
    with rt.session_factory() as s:
        assert s.get(Message, outcome.message_id).text == "legacy plaintext"  # type: ignore[union-attr]
    rotate_keys(rt.engine, current_keyring())
    assert all(v.startswith("enc:v1:") for v in _raw(rt, "SELECT text FROM message"))


def test_keyed_hashes_find_customers_however_the_number_is_typed(runtime: Runtime) -> None:
    rt = runtime
    with rt.uow() as uow:
        uow.session.add_all([Customer(ref="hash-1", phone="13900001111", id_number=ID_NUMBER, bank_card=BANK_CARD,
                                      address=ADDRESS, created_at=rt.clock.now()),
                             Customer(ref="hash-2", phone="13900002222", created_at=rt.clock.now())])
        uow.commit()
    with rt.session_factory() as s:
        for field, typed in [("phone", "139 0000 1111"), ("phone", "139-0000-1111"),
                             ("id_number", "110105 19491231 002x"), ("bank_card", "6222-0212-3456-7890-128"),
                             ("bank_card", BANK_CARD)]:
            assert [c.ref for c in find_customers(s, ADMIN, field, typed)] == ["hash-1"], (field, typed)
        assert find_customers(s, ADMIN, "bank_card", "4111111111111111") == []
        row = s.execute(text("SELECT id_number_hash, bank_card_hash, id_number, bank_card FROM customer "
                             "WHERE ref = 'hash-1'")).one()
        assert row[0] == lookup_hash(current_keyring(), "id_number", ID_NUMBER) and len(row[1]) == 64
        assert ID_NUMBER not in str(tuple(row)) and BANK_CARD not in str(tuple(row))


def test_rotation_fills_the_hashes_of_plaintext_identity_fields(runtime: Runtime) -> None:
    rt = runtime
    with rt.uow() as uow:
        uow.session.add(Customer(ref="legacy-id", created_at=rt.clock.now()))
        uow.commit()
    with rt.engine.begin() as conn:  # as if written by hand before encryption: plaintext, no hashes
        conn.execute(text("UPDATE customer SET id_number = :i, bank_card = :b, address = :a WHERE ref = 'legacy-id'"),
                     {"i": ID_NUMBER, "b": BANK_CARD, "a": ADDRESS})
    report = rotate_keys(rt.engine, current_keyring())
    assert report.customers == 1
    stored = _raw(rt, "SELECT id_number, bank_card, address FROM customer WHERE ref = 'legacy-id'")
    assert len(stored) == 3 and all(v.startswith("enc:v1:") for v in stored)
    with rt.session_factory() as s:
        assert [c.ref for c in find_customers(s, ADMIN, "bank_card", BANK_CARD)] == ["legacy-id"]
        assert [c.ref for c in find_customers(s, ADMIN, "id_number", ID_NUMBER)] == ["legacy-id"]
