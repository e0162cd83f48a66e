"""A customer's channel contacts (a WeChat openid, a phone number on SMS: encrypted personal data) under the
data rights: erasure deletes them and gives up what was still waiting to be sent there; retention deletes an
idle customer's contacts with the rest of their personal data; key rotation re-encrypts each address and
recomputes its keyed hash, so that the customer's next message still finds their contact."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text

from caredesk.bootstrap.runtime import Runtime
from caredesk.channels.contacts import contact_for, contact_of
from caredesk.compliance.crypto import current_keyring, install_keyring, keyring_from_settings
from caredesk.compliance.customer_data import do_erase_customer
from caredesk.compliance.key_rotation import rotate_keys
from caredesk.compliance.retention import RetentionPolicy, do_apply_retention
from caredesk.storage.orm import AuditEntry, ChannelContact, Conversation, Message, MessageDelivery

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
OPENID = "oWx9_privacy_openid"
PHONE = "13812345678"


def _contact(rt: Runtime, channel: str, address: str, ref: str, at: datetime = NOW) -> tuple[str, str]:
    """A contact with a conversation and a notice still waiting to be sent: (customer id, conversation id)."""
    with rt.uow() as uow:
        s = uow.session
        contact = contact_for(s, channel=channel, account="", address=address, customer_ref=ref, now=at)
        conversation = Conversation(customer_id=contact.customer_id, channel=channel, contact_id=contact.id,
                                    created_at=at, last_message_at=at)
        s.add(conversation)
        s.flush()
        message = Message(conversation_id=conversation.id, direction="out", author="system", text="您的工单已受理",
                          text_masked="您的工单已受理", created_at=at)
        s.add(message)
        s.flush()
        s.add(MessageDelivery(message_id=message.id, conversation_id=conversation.id, channel=channel,
                              kind="notice", status="pending", attempts=0, created_at=at))
        uow.commit()
        return contact.customer_id, conversation.id


def _contacts(rt: Runtime, customer_id: str) -> int:
    with rt.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(ChannelContact)
                            .where(ChannelContact.customer_id == customer_id)) or 0)


def _raw(rt: Runtime, sql: str) -> list[str]:
    with rt.engine.connect() as conn:
        return [str(v) for row in conn.execute(text(sql)) for v in row if v is not None]


def test_erasure_deletes_the_contacts_and_gives_up_their_waiting_messages(runtime: Runtime) -> None:
    rt = runtime
    erased, conversation = _contact(rt, "wechat", OPENID, f"wechat::{OPENID}")
    kept, _ = _contact(rt, "sms", PHONE, f"sms::{PHONE}")
    report = do_erase_customer(rt.uow(), erased, actor="staff:dpo", reason="客户要求删除", now=NOW)
    assert report.contacts == 1 and _contacts(rt, erased) == 0 and _contacts(rt, kept) == 1
    with rt.session_factory() as s:
        assert s.get(Conversation, conversation).contact_id is None  # type: ignore[union-attr]
        delivery = s.scalars(select(MessageDelivery).where(MessageDelivery.conversation_id == conversation)).one()
        assert (delivery.status, delivery.last_error) == ("skipped", "contact erased")
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "customer.erased")).one()
        assert audit.data["contacts"] == 1
        assert contact_of(s, "wechat", "", OPENID) is None
    assert OPENID not in " ".join(_raw(rt, "SELECT * FROM audit_entry"))


def test_retention_deletes_an_idle_customers_contacts_only(runtime: Runtime) -> None:
    rt = runtime
    idle, _ = _contact(rt, "wechat", OPENID, f"wechat::{OPENID}", at=NOW - timedelta(days=6 * 365))
    active, _ = _contact(rt, "sms", PHONE, f"sms::{PHONE}", at=NOW - timedelta(days=10))
    report = do_apply_retention(rt.uow(), RetentionPolicy(), now=NOW)
    assert report.customers == 1  # the idle customer had no PII field but a contact: still cleared
    assert _contacts(rt, idle) == 0 and _contacts(rt, active) == 1
    assert do_apply_retention(rt.uow(), RetentionPolicy(), now=NOW).customers == 0


def test_rotation_re_encrypts_contact_addresses_and_keeps_them_findable(runtime: Runtime) -> None:
    rt = runtime
    _contact(rt, "wechat", OPENID, f"wechat::{OPENID}")
    _contact(rt, "sms", PHONE, f"sms::{PHONE}")
    assert all(v.startswith("enc:v1:") for v in _raw(rt, "SELECT address FROM channel_contact"))
    assert OPENID not in " ".join(_raw(rt, "SELECT * FROM channel_contact"))
    old = current_keyring()
    new_key = base64.b64encode(os.urandom(32)).decode()
    old_key = base64.b64encode(old.keys[old.active]).decode()
    rotated = keyring_from_settings({old.active: old_key, "k2": new_key}, "k2", rt.settings.secret_key)
    try:
        install_keyring(rotated)
        report = rotate_keys(rt.engine, rotated, batch=1)
        assert report.contacts == 2
        assert all(v.startswith("enc:v1:k2:") for v in _raw(rt, "SELECT address FROM channel_contact"))
        assert rotate_keys(rt.engine, rotated).contacts == 0  # nothing left to move
        install_keyring(keyring_from_settings({"k2": new_key}, "k2", rt.settings.secret_key))  # old key gone
        with rt.session_factory() as s:
            found = contact_of(s, "wechat", "", OPENID)
            assert found is not None and found.address == OPENID
            sms = contact_of(s, "sms", "", PHONE)
            assert sms is not None and sms.address == PHONE
    finally:
        install_keyring(old)


def test_rotation_encrypts_a_plaintext_contact_and_fills_its_hash(runtime: Runtime) -> None:
    rt = runtime
    customer, _ = _contact(rt, "wechat", OPENID, f"wechat::{OPENID}")
    with rt.engine.begin() as conn:  # as if written before encryption: plaintext, a stale hash
        conn.execute(text("UPDATE channel_contact SET address = :a, address_hash = 'stale' WHERE customer_id = :c"),
                     {"a": OPENID, "c": customer})
    assert rotate_keys(rt.engine, current_keyring()).contacts == 1
    assert all(v.startswith("enc:v1:") for v in _raw(rt, "SELECT address FROM channel_contact"))
    with rt.session_factory() as s:
        found = contact_of(s, "wechat", "", OPENID)
        assert found is not None and found.customer_id == customer
