"""Customer data encrypted at rest: the raw database holds no plaintext of messages, names, phones or
e-mail addresses; the application reads them back; keyed hashes find a customer by phone; key rotation
re-encrypts everything with the new key, after which the old key can be dropped."""

from __future__ import annotations

import base64
import os

from sqlalchemy import select, text

from caredesk.compliance.crypto import current_keyring, install_keyring, keyring_from_settings
from caredesk.compliance.key_rotation import rotate_keys
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.runtime import Runtime
from caredesk.storage.orm import Customer, Message

PHONE = "13812345678"
SECRET_TEXT = f"我的手机号是{PHONE}，信用卡年费被乱扣了，我要投诉"


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
        uow.commit()

    raw = _raw(rt, "SELECT text FROM message") + _raw(rt, "SELECT name, phone, email FROM customer")
    assert raw and all(v.startswith("enc:v1:") for v in raw)
    everything = " ".join(_raw(rt, "SELECT * FROM message") + _raw(rt, "SELECT * FROM customer") +
                          _raw(rt, "SELECT * FROM triage_result") + _raw(rt, "SELECT * FROM work_order"))
    for plain in (PHONE, "张伟", "zhang.wei@example.com", "1234 5678"):
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
        assert rotate_keys(rt.engine, rotated).messages == 0  # nothing left to move
        install_keyring(keyring_from_settings({"k2": new_key}, "k2", rt.settings.secret_key))  # old key gone
        with rt.session_factory() as s:
            assert s.get(Message, outcome.message_id).text == SECRET_TEXT  # type: ignore[union-attr]
            assert s.scalar(select(Customer).where(Customer.ref == "enc-cust")).phone == "138 1234 5678"  # type: ignore[union-attr]
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
