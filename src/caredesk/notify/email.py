"""Outgoing e-mail over SMTP (STARTTLS and login when configured)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import parseaddr

from caredesk.settings import Settings

__all__ = ["SmtpSender"]


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
