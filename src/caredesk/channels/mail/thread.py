"""Threading both ways. In: the conversation a mail continues, by the ids it answers (In-Reply-To and
References naming a customer's earlier mail or one of our replies), then by a case number in its subject,
then the contact's open conversation. Out: the headers that put our reply under the customer's last mail
(In-Reply-To, References, "Re: <subject> [case number]")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.storage.orm import Conversation, MailMessage, Message, WorkOrder

__all__ = ["OUR_ID", "ReplyThread", "clean_subject", "conversation_of_mail", "our_message_id", "reply_subject",
           "reply_thread", "thread_headers"]

OUR_ID = re.compile(r"^<reply-([0-9a-f]{32})@")
_CASE = re.compile(r"\bC\d{8}-\d{4,}\b")
_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|回复|回覆|答复|转发|轉寄)\s*[:：]\s*)+", re.IGNORECASE)
SUBJECT_MAX = 200


def our_message_id(message_id: str, domain: str) -> str:
    """The Message-ID of the mail that carries conversation message `message_id`: stable, so that a copy sent
    twice is one mail to the receiver, and a reply naming it finds the conversation without a lookup table."""
    return f"<reply-{message_id}@{domain or 'caredesk'}>"


def clean_subject(subject: str) -> str:
    """The subject without "Re:"-style prefixes and case-number tags, on one line, at most SUBJECT_MAX long."""
    text = _CASE.sub("", " ".join(subject.split())).replace("[]", "")
    return " ".join(_PREFIX.sub("", text).split())[:SUBJECT_MAX]


def reply_subject(subject: str, case_number: str | None, *, language: str | None) -> str:
    base = clean_subject(subject) or ("Your message" if language == "en" else "您的来信")
    return f"Re: {base}" + (f" [{case_number}]" if case_number else "")


def conversation_of_mail(session: Session, *, customer_id: str, subject: str, ids: list[str]) -> str | None:
    """The customer's conversation this mail continues (never another customer's), or None."""
    ours = [m.group(1) for i in ids if (m := OUR_ID.match(i))]
    candidates: list[str | None] = []
    if ours:
        candidates += session.scalars(select(Message.conversation_id).where(Message.id.in_(ours))).all()
    if ids:
        candidates += session.scalars(select(MailMessage.conversation_id).where(MailMessage.header_id.in_(ids))
                                      .order_by(MailMessage.created_at.desc())).all()
    for number in _CASE.findall(subject):
        candidates.append(session.scalar(select(WorkOrder.conversation_id).where(WorkOrder.case_number == number)))
    for conversation_id in candidates:
        if conversation_id is None:
            continue
        owner = session.scalar(select(Conversation.customer_id).where(Conversation.id == conversation_id))
        if owner == customer_id:
            return conversation_id
    return None


@dataclass(frozen=True)
class ReplyThread:
    subject: str
    in_reply_to: str | None
    references: tuple[str, ...]


def reply_thread(session: Session, conversation_id: str) -> ReplyThread | None:
    """What a reply in this conversation answers: the customer's latest mail in it, or None (no mail yet)."""
    last = session.scalar(select(MailMessage).where(MailMessage.conversation_id == conversation_id)
                          .order_by(MailMessage.created_at.desc(), MailMessage.id.desc()).limit(1))
    if last is None:
        return None
    refs = [*last.reference_ids, last.header_id] if not last.header_id.startswith("sha256:") else last.reference_ids
    return ReplyThread(last.subject, None if last.header_id.startswith("sha256:") else last.header_id,
                       tuple(refs[-20:]))


def thread_headers(msg: EmailMessage, thread: ReplyThread | None, *, case_number: str | None,
                   language: str | None) -> EmailMessage:
    """Subject, In-Reply-To and References of a reply in the thread (None: a first mail, subject only)."""
    for name in ("Subject", "In-Reply-To", "References"):
        del msg[name]
    msg["Subject"] = reply_subject(thread.subject if thread else "", case_number, language=language)
    if thread is not None and thread.in_reply_to:
        msg["In-Reply-To"] = thread.in_reply_to
    if thread is not None and thread.references:
        msg["References"] = " ".join(thread.references)
    return msg
