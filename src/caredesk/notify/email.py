"""Outgoing e-mail over SMTP (STARTTLS and login when configured), or into a folder of .eml files (the demo's
mail catcher, `CAREDESK_MAIL_DIR`)."""

from __future__ import annotations

import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr
from pathlib import Path

from caredesk.settings import Settings

__all__ = ["NOTICE_HEADER", "FolderSender", "SmtpSender", "mail_sender", "tag_notice"]

# Names the notice row an e-mail carries out (`<kind>:<row id>`), so that a mailbox can tell a notice sent twice
# (the process died between the send and its record) from two notices, and an operator can find the row.
NOTICE_HEADER = "X-CareDesk-Notice"


def tag_notice(message: EmailMessage, kind: str, row_id: str) -> EmailMessage:
    """Set the notice header: `kind` names the table of the row that records the send."""
    del message[NOTICE_HEADER]
    message[NOTICE_HEADER] = f"{kind}:{row_id}"
    return message


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        self.host, self.port = settings.smtp_host, settings.smtp_port
        self.user, self.password = settings.smtp_user, settings.smtp_password
        self.starttls = settings.smtp_starttls
        self.sender = settings.mail_from

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1] or "caredesk@localhost"

    def send(self, message: EmailMessage) -> None:
        if "From" not in message:
            message["From"] = self.sender
        with smtplib.SMTP(self.host, self.port, timeout=15) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message)


class FolderSender(SmtpSender):
    """Writes each message as `<UTC time>-<id>.eml` in `folder` (written under a temporary name, then renamed:
    a reader never sees half a message). Any mail program opens them."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        super().__init__(settings)
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        if "From" not in message:
            message["From"] = self.sender
        if "Message-ID" not in message:
            message["Message-ID"] = make_msgid(domain=self.sender_address.partition("@")[2] or "localhost")
        self.folder.mkdir(parents=True, exist_ok=True)
        stem = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f") + "-" + message["Message-ID"].strip("<>").split("@")[0]
        pending = self.folder / f".{stem}.tmp"
        pending.write_bytes(message.as_bytes())
        pending.replace(self.folder / f"{stem}.eml")


def mail_sender(settings: Settings) -> SmtpSender:
    return FolderSender(settings, settings.mail_dir) if settings.mail_dir else SmtpSender(settings)
