"""One e-mail in, from the inbound webhook or the IMAP watcher: refused whole or taken in whole. An automatic
mail (auto-reply, bounce) or our own mail come back is acknowledged and dropped; a mail seen before (its
Message-ID, through the foundation's `InboundKey`) answers with the first message; otherwise the customer and
their e-mail contact, the conversation it continues (thread.py), and intake, whose transaction also records
the Message-ID and the mail's headers, so that a message never exists without them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr

from sqlalchemy.orm import Session

from caredesk.channels.contacts import address_hash, contact_for, current_conversation, known_customer
from caredesk.channels.inbound_claim import AlreadyTaken, InboundClaim, taken
from caredesk.channels.mail.attachments import AttachmentRecord, keep_attachments
from caredesk.channels.mail.parse import ParsedMail, parse_mail
from caredesk.channels.mail.thread import OUR_ID, clean_subject, conversation_of_mail
from caredesk.errors import InvalidEmail, PayloadTooLarge
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, check_incoming, do_receive_message
from caredesk.intake.deps import IntakeDeps
from caredesk.settings import Settings
from caredesk.storage.orm import Customer, MailMessage, Message

__all__ = ["CHANNEL", "MailOutcome", "do_take_in_mail", "our_addresses"]

CHANNEL = "email"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MailOutcome:
    conversation_id: str | None
    message_id: str | None
    ignored: str | None = None  # auto_reply | loop
    duplicate: bool = False  # the same Message-ID was taken in before: these are the first message's ids
    reason: str | None = None  # why it was ignored (for the log; no customer data)


def our_addresses(settings: Settings) -> set[str]:
    """The addresses CareDesk sends from and reads: a mail from one of them is our own, come back."""
    found = {parseaddr(settings.mail_from)[1].lower(), settings.mail_imap_user.lower()}
    return {a for a in found if "@" in a}


def _our_domain(settings: Settings) -> str:
    return parseaddr(settings.mail_from)[1].partition("@")[2].lower()


def _is_loop(settings: Settings, mail: ParsedMail) -> bool:
    if mail.tagged or mail.sender.lower() in our_addresses(settings):
        return True
    return bool(OUR_ID.match(mail.header_id)) and mail.header_id.lower().endswith(f"@{_our_domain(settings)}>")


def _text(mail: ParsedMail) -> str:
    """What triage reads: the subject (unless the body already says it), then the new text; a mail with only
    attachments says what it carries."""
    subject = clean_subject(mail.subject)
    body = mail.text
    if not body and mail.parts:
        body = "[附件 / attachments: " + ", ".join(p.filename for p in mail.parts) + "]"
    if subject and subject not in body:
        return f"{subject}\n\n{body}".strip()
    return body


def _seen(session: Session, header_id: str) -> MailOutcome | None:
    key = taken(session, CHANNEL, header_id[:255])
    if key is None:
        return None
    message = session.get(Message, key.message_id) if key.message_id else None
    return MailOutcome(message.conversation_id if message else None, key.message_id, duplicate=True)


@dataclass
class _MailRecord:
    """The mail's Message-ID key (taken first in intake's transaction: a concurrent copy waits on it, then
    finds it) and its headers row (kept just before the commit)."""

    mail: ParsedMail
    account: str
    attachments: list[AttachmentRecord]
    _session: Session | None = None
    _key: InboundClaim | None = None

    def take(self, session: Session, *, now: datetime) -> None:
        key = InboundClaim(CHANNEL, self.mail.header_id[:255])
        key.take(session, now=now)  # AlreadyTaken: a copy of this mail came first
        self._session, self._key = session, key

    def keep(self, result: IntakeOutcome) -> None:
        assert self._session is not None and self._key is not None and self._key.row is not None
        self._key.keep(result)
        mail = self.mail
        self._session.add(MailMessage(
            message_id=result.message_id, conversation_id=result.conversation_id, account=self.account,
            header_id=mail.header_id[:255], in_reply_to=mail.in_reply_to, reference_ids=list(mail.references),
            subject=mail.subject, attachments=[a.to_json() for a in self.attachments], notes=list(mail.notes),
            created_at=self._key.row.created_at))


def _contact_and_conversation(rt: IntakeDeps, mail: ParsedMail, account: str, now: datetime
                              ) -> tuple[str, str, str | None]:
    """The customer's ref, the contact's id and the conversation the mail continues (None: a new one). A
    customer already known by this address (the CRM, an earlier order) is the contact's customer."""
    with rt.uow() as uow:
        s = uow.session
        known = known_customer(s, CHANNEL, [mail.sender])
        ref = known.ref if known is not None else f"email:{address_hash(CHANNEL, mail.sender)[:24]}"
        contact = contact_for(s, channel=CHANNEL, account=account, address=mail.sender, customer_ref=ref, now=now)
        customer = s.get(Customer, contact.customer_id)
        assert customer is not None
        if customer.email is None:  # staff replies on its work orders are e-mailed to it
            customer.email = mail.sender
        if customer.name is None and mail.sender_name:
            customer.name = mail.sender_name
        ids = [*([mail.in_reply_to] if mail.in_reply_to else []), *reversed(mail.references)]
        conversation_id = (conversation_of_mail(s, customer_id=customer.id, subject=mail.subject, ids=ids)
                           or current_conversation(s, contact, now))
        uow.commit()
        return customer.ref, contact.id, conversation_id


def do_take_in_mail(rt: IntakeDeps, raw: bytes, *, account: str = "") -> MailOutcome:
    """Take in one raw mail. InvalidEmail (or intake's InvalidInput: a text over the message limit) when it
    is refused; nothing is stored then."""
    if len(raw) > rt.settings.mail_max_message_bytes:
        raise PayloadTooLarge(f"the mail is larger than {rt.settings.mail_max_message_bytes} bytes")
    mail = parse_mail(raw)
    if mail.automatic is not None:
        log.info("mail ignored: automatic (%s)", mail.automatic)
        return MailOutcome(None, None, ignored="auto_reply", reason=mail.automatic)
    if _is_loop(rt.settings, mail):
        log.warning("mail ignored: our own mail came back")
        return MailOutcome(None, None, ignored="loop", reason="our own mail")
    with rt.session_factory() as session:
        seen = _seen(session, mail.header_id)
    if seen is not None:
        return seen
    text = _text(mail)
    if not text:
        raise InvalidEmail("the mail has no text", problem="no_text")
    check_incoming(IncomingMessage(text, CHANNEL, "email"), rt.settings.max_message_chars)  # before any write
    attachments = keep_attachments(rt.settings, mail.parts)
    now = rt.clock.now()
    ref, contact_id, conversation_id = _contact_and_conversation(rt, mail, account, now)
    cmd = IncomingMessage(text, CHANNEL, ref, conversation_id, contact_id=contact_id, deliver_reply=True)
    try:
        outcome = do_receive_message(rt, cmd, claim=_MailRecord(mail, account, attachments))
    except AlreadyTaken:  # a copy of the same mail committed first (a retry racing the IMAP watcher)
        with rt.session_factory() as session:
            seen = _seen(session, mail.header_id)
        assert seen is not None
        return seen
    log.info("mail taken in: conversation %s message %s (%d attachments kept, %d notes)", outcome.conversation_id,
             outcome.message_id, sum(a.stored for a in attachments), len(mail.notes))
    return MailOutcome(outcome.conversation_id, outcome.message_id)
