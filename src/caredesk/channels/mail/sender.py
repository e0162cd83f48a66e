"""The e-mail channel's sender (channels/outbound.py): the bot's reply to an e-mailed message, and any notice or
survey queued for an e-mail conversation, go out threaded under the customer's last mail (In-Reply-To,
References, "Re: <subject> [case number]"), with a stable Message-ID (a copy sent twice is one mail to the
receiver) and Auto-Submitted on what no person wrote (RFC 3834: the customer's auto-responder stays quiet)."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from caredesk.channels.mail.thread import ReplyThread, our_message_id, reply_thread, thread_headers
from caredesk.channels.outbound import Outgoing, SendRefused, Sent
from caredesk.notify.email import SmtpSender, mail_sender, tag_notice
from caredesk.settings import Settings
from caredesk.storage.orm import Message
from caredesk.tasks.context import task_context

__all__ = ["MailSender", "build_reply"]


class _SessionSource(Protocol):
    session_factory: sessionmaker[Session]


def build_reply(out: Outgoing, thread: ReplyThread | None, *, author: str, domain: str) -> EmailMessage:
    if not out.address:
        raise SendRefused("the contact has no e-mail address")
    msg = EmailMessage()
    msg["To"] = out.address
    msg["Message-ID"] = our_message_id(out.message_id, domain)
    thread_headers(msg, thread, case_number=out.case_number, language=out.language)
    if author != "agent":
        msg["Auto-Submitted"] = "auto-replied" if out.kind == "reply" else "auto-generated"
    tag_notice(msg, "message_delivery", out.delivery_id)
    msg.set_content(out.text + "\n")
    return msg


class MailSender:
    """Reads the thread through the task's runtime (a sender is called by the delivery task, between its claim
    and its record), or through `sessions` when given."""

    def __init__(self, settings: Settings, *, smtp: SmtpSender | None = None,
                 sessions: Callable[[], sessionmaker[Session]] | None = None) -> None:
        self.smtp = smtp or mail_sender(settings)
        self._sessions = sessions or (lambda: _context().session_factory)

    def send(self, out: Outgoing) -> Sent:
        with self._sessions()() as session:
            thread = reply_thread(session, out.conversation_id)
            author = session.get(Message, out.message_id)
        msg = build_reply(out, thread, author=author.author if author else "bot",
                          domain=self.smtp.sender_address.partition("@")[2])
        try:
            self.smtp.send(msg)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise SendRefused(f"the mail server refused the message: {type(exc).__name__}") from None
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:  # permanent (5xx); 4xx stays an OSError for the queue to retry
                raise SendRefused(f"the mail server refused the message: {exc.smtp_code}") from None
            raise
        return Sent(external_id=msg["Message-ID"])


def _context() -> _SessionSource:
    rt: _SessionSource = task_context()
    return rt
