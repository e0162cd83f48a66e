"""The mailbox watcher: reads new mail from an IMAP folder by UID, takes each one in (take_in.py), then moves
it out of the folder: to the done folder when taken in, ignored or seen before, to the refused folder when it
cannot be read. A mail leaves the folder only after its message is committed, so a crash loses nothing; one
taken in but not yet moved is found by its Message-ID next time and only moved, so nothing is taken twice.
Between passes it waits in IMAP IDLE (RFC 2177), re-issued every `mail_imap_idle_seconds`; a server without
IDLE is polled. The connection is re-made with backoff when it drops."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy.exc import DBAPIError

from caredesk.channels.mail.take_in import do_take_in_mail
from caredesk.errors import InvalidInput, PayloadTooLarge
from caredesk.intake.deps import IntakeDeps
from caredesk.settings import Settings

__all__ = ["PassReport", "connect", "poll_once", "watch"]

log = logging.getLogger(__name__)
BACKOFF_MAX_SECONDS = 60.0


@dataclass
class PassReport:
    taken: int = 0
    duplicates: int = 0
    ignored: int = 0
    refused: int = 0
    refusals: list[str] = field(default_factory=list)  # the codes, for the operator (no customer data)

    @property
    def handled(self) -> int:
        return self.taken + self.duplicates + self.ignored + self.refused


def connect(settings: Settings) -> IMAPClient:
    if not settings.mail_imap_host:
        raise InvalidInput("CAREDESK_MAIL_IMAP_HOST is not set", field="mail_imap_host")
    client = IMAPClient(settings.mail_imap_host, port=settings.mail_imap_port, ssl=settings.mail_imap_ssl,
                        use_uid=True, timeout=60)
    client.login(settings.mail_imap_user, settings.mail_imap_password)
    for folder in (settings.mail_imap_done_folder, settings.mail_imap_refused_folder):
        if not client.folder_exists(folder):
            client.create_folder(folder)
    client.select_folder(settings.mail_imap_folder)
    return client


def _move(client: IMAPClient, uid: int, folder: str) -> None:
    if client.has_capability("MOVE"):
        client.move([uid], folder)
        return
    client.copy([uid], folder)
    client.delete_messages([uid])
    if client.has_capability("UIDPLUS"):
        client.uid_expunge([uid])
    else:
        client.expunge()


def _take_one(rt: IntakeDeps, client: IMAPClient, uid: int, size: int, report: PassReport) -> None:
    settings = rt.settings
    if size > settings.mail_max_message_bytes:
        report.refused += 1
        report.refusals.append("payload_too_large")
        log.warning("mail uid %s refused: %d bytes (limit %d)", uid, size, settings.mail_max_message_bytes)
        _move(client, uid, settings.mail_imap_refused_folder)
        return
    fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
    raw = fetched.get(b"BODY[]")
    if not isinstance(raw, bytes):
        return  # gone meanwhile (another watcher moved it)
    try:
        outcome = do_take_in_mail(rt, raw)
    except (InvalidInput, PayloadTooLarge) as exc:  # this mail can never be read: set aside for a person
        report.refused += 1
        report.refusals.append(exc.code)
        log.warning("mail uid %s refused: %s (%s)", uid, exc.code, exc.details.get("problem", ""))
        _move(client, uid, settings.mail_imap_refused_folder)
        return
    if outcome.ignored:
        report.ignored += 1
    elif outcome.duplicate:
        report.duplicates += 1
    else:
        report.taken += 1
    _move(client, uid, settings.mail_imap_done_folder)


def poll_once(rt: IntakeDeps, client: IMAPClient) -> PassReport:
    """Take in every mail now in the selected folder, oldest UID first. Any other error (the database is
    down) ends the pass with the mail left in place, to be taken next time."""
    report = PassReport()
    uids = sorted(client.search(["NOT", "DELETED"]))
    for uid in uids:
        sizes = client.fetch([uid], ["RFC822.SIZE"]).get(uid, {})
        size = sizes.get(b"RFC822.SIZE")
        if not isinstance(size, int):
            continue
        _take_one(rt, client, uid, size, report)
    if report.handled:
        log.info("mail pass: %d taken in, %d seen before, %d ignored, %d refused", report.taken,
                 report.duplicates, report.ignored, report.refused)
    return report


def _wait_for_mail(client: IMAPClient, settings: Settings, stop: threading.Event) -> None:
    """IDLE until the server says something (new mail), the IDLE period ends, or `stop` is set."""
    if not client.has_capability("IDLE"):
        stop.wait(settings.mail_imap_poll_seconds)
        return
    client.idle()
    try:
        deadline = time.monotonic() + settings.mail_imap_idle_seconds
        while not stop.is_set() and time.monotonic() < deadline:
            if client.idle_check(timeout=1):
                return
    finally:
        client.idle_done()


def watch(rt: IntakeDeps, stop: threading.Event, *,
          on_pass: Callable[[PassReport], None] | None = None,
          make_client: Callable[[Settings], IMAPClient] = connect) -> None:
    """Run until `stop` is set: pass, wait in IDLE, pass again; reconnect with backoff on a dropped link."""
    backoff = 1.0
    while not stop.is_set():
        client: IMAPClient | None = None
        try:
            client = make_client(rt.settings)
            backoff = 1.0
            while not stop.is_set():
                report = poll_once(rt, client)
                if on_pass is not None:
                    on_pass(report)
                _wait_for_mail(client, rt.settings, stop)
        except (OSError, IMAPClientError, DBAPIError) as exc:  # the mailbox or the database dropped
            log.warning("mail watch interrupted (%s); reconnecting in %.0f s", type(exc).__name__, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_SECONDS)
        finally:
            if client is not None:
                with contextlib.suppress(OSError, IMAPClientError):
                    client.logout()
