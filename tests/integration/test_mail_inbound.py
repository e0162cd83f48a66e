"""E-mail in through POST /channels/email/inbound and the bot's and staff's replies out by real SMTP (the
aiosmtpd server of conftest), on SQLite and PostgreSQL: threading both ways, automatic mail, duplicates,
attachments within their limits, hostile input refused with nothing stored, our own mail coming back."""

from __future__ import annotations

import threading
import time
from email import header as email_header
from email import message_from_bytes, policy
from email.message import Message as EmailMsg
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from caredesk.bootstrap.runtime import Runtime
from caredesk.channels.mail.attachments import attachment_path
from caredesk.http.app import create_app
from caredesk.storage.orm import (
    ChannelContact,
    Conversation,
    Customer,
    InboundKey,
    MailMessage,
    Message,
    MessageDelivery,
    WorkOrder,
)
from caredesk.workorders import replies
from tests.conftest import Mailbox, create_key
from tests.support.mails import attachment, encoded_word, raw_mail

URL = "/channels/email/inbound"
RFC822 = {"Content-Type": "message/rfc822"}
COMPLAINT = "信用卡年费被乱扣了，我要投诉，请给我一个说法"


def make_header(value: str) -> str:
    return str(email_header.make_header(email_header.decode_header(value)))


def _post(api: Any, raw: bytes) -> Any:
    return api.post(URL, content=raw, headers=RFC822)


def _counts(rt: Runtime) -> tuple[int, ...]:
    with rt.session_factory() as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) or 0
                     for t in (Message, Conversation, Customer, ChannelContact, InboundKey, MailMessage))


def _to(mailbox: Mailbox, address: str, count: int = 1, timeout: float = 15.0) -> list[EmailMsg]:
    """The mails to `address` once there are `count` of them (staff notices go to the same server)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in list(mailbox.messages) if address in str(m["To"])]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


CUSTOMER = "zhang.san@customer.example"


def test_a_mail_opens_a_conversation_and_the_bot_reply_goes_out_threaded(api: Any, demo_runtime: Runtime,
                                                                        mailbox: Mailbox) -> None:
    raw = raw_mail(body=COMPLAINT, charset="gbk", subject=encoded_word("年费投诉", "gbk"),
                   message_id="<first@customer.example>")
    answer = _post(api, raw)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert set(body) == {"conversation_id", "message_id"}
    with demo_runtime.session_factory() as s:
        conversation = s.get(Conversation, body["conversation_id"])
        assert conversation is not None and conversation.channel == "email" and conversation.contact_id
        message = s.get(Message, body["message_id"])
        assert message is not None and COMPLAINT in message.text and message.text.startswith("年费投诉")
        mail = s.scalars(select(MailMessage).where(MailMessage.message_id == message.id)).one()
        assert mail.header_id == "<first@customer.example>" and mail.subject == "年费投诉"
        contact = s.get(ChannelContact, conversation.contact_id)
        assert contact is not None and contact.address == "zhang.san@customer.example"
        customer = s.get(Customer, conversation.customer_id)
        assert customer is not None and customer.email == "zhang.san@customer.example"
        reply = s.scalars(select(Message).where(Message.conversation_id == conversation.id,
                                                Message.direction == "out")).one()
        order = s.scalars(select(WorkOrder).where(WorkOrder.conversation_id == conversation.id)).first()
        delivery = s.scalars(select(MessageDelivery).where(MessageDelivery.message_id == reply.id)).one()
    (sent,) = _to(mailbox, CUSTOMER)
    assert sent["In-Reply-To"] == "<first@customer.example>"
    assert sent["References"] == "<first@customer.example>"
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["Message-ID"] == f"<reply-{reply.id}@demo-bank.example>"
    case = f" [{order.number}]" if order is not None else ""
    assert make_header(sent["Subject"]) == f"Re: 年费投诉{case}"
    assert sent.get_payload(decode=True).decode(sent.get_content_charset() or "utf-8").strip() == reply.text.strip()
    with demo_runtime.session_factory() as s:
        assert s.get(MessageDelivery, delivery.id).status == "sent"


def test_replies_to_our_mail_and_case_numbers_continue_the_conversation(api: Any, demo_runtime: Runtime,
                                                                         mailbox: Mailbox) -> None:
    first = _post(api, raw_mail(body=COMPLAINT, message_id="<one@customer.example>")).json()
    (ours,) = _to(mailbox, CUSTOMER)
    follow = raw_mail(body="还是没有退回。\n\n在 2026年12月7日 10:00，客服 写道：\n> 之前的回复\n> 更多",
                      subject="Re: 信用卡被盗刷", message_id="<two@customer.example>",
                      headers={"In-Reply-To": ours["Message-ID"],
                               "References": f"<one@customer.example> {ours['Message-ID']}"})
    second = _post(api, follow).json()
    assert second["conversation_id"] == first["conversation_id"]
    with demo_runtime.session_factory() as s:
        text = s.get(Message, second["message_id"]).text
        assert "还是没有退回" in text and "之前的回复" not in text
        order = s.scalars(select(WorkOrder).where(WorkOrder.conversation_id == first["conversation_id"])).first()
        s.get(Conversation, first["conversation_id"]).status = "closed"  # no open conversation to fall back on
        s.commit()
    assert order is not None
    # a new mail (no threading headers) quoting the case number in its subject finds the case's conversation
    third = _post(api, raw_mail(body="请问进度如何", subject=f"查询 {order.number}",
                                message_id="<three@customer.example>")).json()
    assert third["conversation_id"] == first["conversation_id"]
    # another customer quoting the same number does not join it
    other = _post(api, raw_mail(body="请问进度如何", subject=f"查询 {order.number}", sender="li@other.example",
                                message_id="<four@other.example>")).json()
    assert other["conversation_id"] != first["conversation_id"]


def test_auto_replies_and_bounces_open_nothing(api: Any, demo_runtime: Runtime, mailbox: Mailbox) -> None:
    """An out-of-office answer to our reply, a bounce, list mail: acknowledged, nothing stored, nothing sent."""
    before = _counts(demo_runtime)
    for raw in (raw_mail(headers={"Auto-Submitted": "auto-replied"}, message_id="<ooo@customer.example>"),
                raw_mail(sender="MAILER-DAEMON@mx.customer.example", message_id="<dsn@mx.example>"),
                raw_mail(headers={"Precedence": "junk"}, message_id="<junk@customer.example>")):
        answer = _post(api, raw)
        assert answer.status_code == 202
        assert answer.json() == {"conversation_id": None, "message_id": None, "ignored": "auto_reply"}
    assert _counts(demo_runtime) == before
    assert mailbox.messages == []


def test_the_same_message_id_is_taken_once(api: Any, demo_runtime: Runtime, mailbox: Mailbox) -> None:
    raw = raw_mail(body=COMPLAINT, message_id="<dup@customer.example>")
    first = _post(api, raw).json()
    counts = _counts(demo_runtime)
    again = _post(api, raw).json()
    assert again == {**first, "duplicate": True}
    assert _counts(demo_runtime) == counts
    assert len(_to(mailbox, CUSTOMER)) == 1
    time.sleep(0.5)
    assert len(_to(mailbox, CUSTOMER)) == 1


def test_unreadable_mail_is_refused_with_nothing_stored(api: Any, demo_runtime: Runtime) -> None:
    before = _counts(demo_runtime)
    cases = [
        (raw_mail(body="转账失败".encode("gb18030"), charset="x-unknown-cs"), "unknown_charset"),
        (b"Subject: nobody sent this\r\n\r\nbody", "no_sender"),
        (b"\x00\xff\xfe garbage", "malformed"),
        (raw_mail(body="", subject=""), "no_text"),
    ]
    for raw, problem in cases:
        answer = _post(api, raw)
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == "invalid_email"
        assert answer.json()["details"]["problem"] == problem
    wrong_type = api.post(URL, content=raw_mail(), headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 400 and wrong_type.json()["details"]["problem"] == "content_type"
    too_long = _post(api, raw_mail(body="长" * (demo_runtime.settings.max_message_chars + 1)))
    assert too_long.status_code == 400 and too_long.json()["details"]["problem"] == "too_long"
    assert _counts(demo_runtime) == before


def test_an_oversized_mail_is_refused_413_and_needs_a_key(demo_runtime: Runtime) -> None:
    demo_runtime.settings.mail_max_message_bytes = 20_000
    with TestClient(create_app(demo_runtime, start_consumer=False)) as client:
        raw = raw_mail(extra_parts=[attachment("big.pdf", "application/pdf", b"\0" * 30_000)])
        assert client.post(URL, content=raw_mail(), headers=RFC822).status_code == 401
        client.headers["Authorization"] = f"Bearer {create_key(demo_runtime)}"
        refused = client.post(URL, content=raw, headers=RFC822)
        assert refused.status_code == 413 and refused.json()["code"] == "payload_too_large"
        assert client.post(URL, content=raw_mail(), headers=RFC822).status_code == 202


def test_attachments_are_kept_within_their_limits(api: Any, demo_runtime: Runtime) -> None:
    settings = demo_runtime.settings
    settings.mail_attachment_max_bytes = 50_000
    pdf = b"%PDF-1.4 statement"
    bomb = b"\0" * 400_000  # compresses to almost nothing in transit; far past the attachment limit
    raw = raw_mail(body="附件是账单", extra_parts=[
        attachment("账单.pdf", "application/pdf", pdf),
        attachment("archive.zip", "application/zip", b"PK\x03\x04 zip"),
        attachment("huge.pdf", "application/pdf", bomb)])
    body = _post(api, raw).json()
    with demo_runtime.session_factory() as s:
        mail = s.scalars(select(MailMessage).where(MailMessage.message_id == body["message_id"])).one()
    kept = {a["filename"]: a for a in mail.attachments}
    assert kept["账单.pdf"]["stored"] and kept["账单.pdf"]["size"] == len(pdf)
    assert attachment_path(settings, kept["账单.pdf"]["sha256"]).read_bytes() == pdf
    assert kept["archive.zip"]["refused"] == "type_not_allowed"
    assert kept["huge.pdf"]["refused"] == "too_large" and kept["huge.pdf"]["size"] == len(bomb)
    for name in ("archive.zip", "huge.pdf"):
        assert not attachment_path(settings, kept[name]["sha256"]).exists()


def test_our_own_mail_coming_back_is_ignored(api: Any, demo_runtime: Runtime, mailbox: Mailbox) -> None:
    _post(api, raw_mail(body=COMPLAINT, message_id="<loop@customer.example>"))
    ours = _to(mailbox, CUSTOMER)[0].as_bytes()
    counts = _counts(demo_runtime)
    answer = _post(api, ours)
    assert answer.status_code == 202
    assert answer.json() == {"conversation_id": None, "message_id": None, "ignored": "auto_reply"}
    # even without its Auto-Submitted header (a forwarding rule that strips it), it is recognised as ours
    stripped = message_from_bytes(ours, policy=policy.default)
    del stripped["Auto-Submitted"]
    answer = _post(api, stripped.as_bytes())
    assert answer.json() == {"conversation_id": None, "message_id": None, "ignored": "loop"}
    assert _counts(demo_runtime) == counts
    assert len(_to(mailbox, CUSTOMER)) == 1


def test_a_hostile_subject_never_adds_a_header_to_the_reply(api: Any, mailbox: Mailbox) -> None:
    hostile = "=?utf-8?Q?=E6=8A=95=E8=AF=89=0D=0ABcc:_all@evil.example?="
    assert _post(api, raw_mail(body=COMPLAINT, subject=hostile, message_id="<evil@customer.example>")
                 ).status_code == 202
    (sent,) = _to(mailbox, CUSTOMER)
    assert sent["Bcc"] is None and "all@evil.example" not in str(sent["To"])
    assert "\n" not in make_header(sent["Subject"])


def test_a_staff_reply_to_an_emailed_order_goes_out_threaded(api: Any, demo_runtime: Runtime,
                                                            mailbox: Mailbox) -> None:
    body = _post(api, raw_mail(body=COMPLAINT, subject="年费", message_id="<staff@customer.example>")).json()
    assert len(_to(mailbox, CUSTOMER)) == 1
    with demo_runtime.session_factory() as s:
        order = s.scalars(select(WorkOrder).where(WorkOrder.conversation_id == body["conversation_id"])).one()
    reply = replies.do_reply(demo_runtime, order.id, text="您好，年费已退回。", actor="cards.agent",
                             now=demo_runtime.clock.now())
    assert reply.emailed
    staff = [m for m in _to(mailbox, CUSTOMER, 2) if m["Message-ID"] == f"<reply-{reply.message_id}@demo-bank.example>"]
    assert len(staff) == 1
    assert staff[0]["In-Reply-To"] == "<staff@customer.example>"
    assert make_header(staff[0]["Subject"]) == f"Re: 年费 [{order.number}]"
    assert staff[0]["Auto-Submitted"] is None  # a person wrote it


def test_the_same_mail_from_two_sources_at_once_is_one_message(demo_runtime: Runtime) -> None:
    """The gateway's retry and the IMAP watcher take the same mail in at the same moment: the Message-ID key,
    taken first in intake's transaction, lets one through; the other answers with its ids."""
    from caredesk.channels.mail.take_in import MailOutcome, do_take_in_mail

    raw = raw_mail(body=COMPLAINT, message_id="<race@customer.example>")
    results: list[MailOutcome] = []
    errors: list[BaseException] = []
    gate = threading.Barrier(2)

    def take() -> None:
        try:
            gate.wait()
            results.append(do_take_in_mail(demo_runtime, raw))
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=take) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert errors == []
    assert len({r.message_id for r in results}) == 1 and sorted(r.duplicate for r in results) == [False, True]
    with demo_runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(MailMessage)) == 1
        assert s.scalar(select(func.count()).select_from(Message).where(Message.direction == "in")) == 1


def test_a_known_address_finds_its_customer_and_a_shared_one_guesses_no_one(api: Any, demo_runtime: Runtime) -> None:
    """The bank's customer with this address (the CRM's) gets the mail; an address two customers share (a family's
    mailbox) gets a customer of its own, never one of theirs: a guess would show one's history to the other."""
    with demo_runtime.uow() as uow:
        uow.session.add_all([Customer(ref="crm-li", email="li.si@customer.example"),
                             Customer(ref="crm-wang-1", email="wang.family@customer.example"),
                             Customer(ref="crm-wang-2", email="wang.family@customer.example")])
        uow.commit()
    known = _post(api, raw_mail(sender="李四 <Li.Si@customer.example>", message_id="<li@customer.example>"))
    shared = _post(api, raw_mail(sender="王 <wang.family@customer.example>", message_id="<wang@customer.example>"))
    assert known.status_code == shared.status_code == 202, (known.text, shared.text)
    with demo_runtime.session_factory() as s:
        li = s.get(Conversation, known.json()["conversation_id"])
        wang = s.get(Conversation, shared.json()["conversation_id"])
        assert li is not None and wang is not None
        assert s.get(Customer, li.customer_id).ref == "crm-li"
        assert s.get(Customer, wang.customer_id).ref.startswith("email:")
