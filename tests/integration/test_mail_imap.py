"""The IMAP watcher against a real IMAP server (Debian's dovecot, started per module): mail APPENDed to the
inbox is taken in and moved to the done folder, a restart takes nothing twice, an unreadable or oversized mail
goes to the refused folder, and the IDLE watcher takes in mail as it arrives."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from caredesk.bootstrap.runtime import Runtime
from caredesk.channels.mail.imap_watch import PassReport, connect, poll_once, watch
from caredesk.storage.orm import InboundKey, MailMessage, Message
from caredesk.triage.model import TriageModel, activate
from tests.conftest import Mailbox, free_port, unavailable
from tests.support.cli import caredesk, cli_env
from tests.support.dovecot import DOVECOT, ImapServer, dovecot_server
from tests.support.mails import attachment, raw_mail

COMPLAINT = "信用卡年费被乱扣了，我要投诉，请给我一个说法"


@pytest.fixture(scope="module")
def imap_server() -> Iterator[ImapServer]:
    if not (os.path.exists(DOVECOT) and shutil.which(DOVECOT)):
        unavailable("imap", f"{DOVECOT} not found (apt-get install dovecot-imapd)")
    # not under pytest's private tmp dir: dovecot's own users (as root) must reach the passwd-file and the mail
    root = Path(tempfile.mkdtemp(prefix="caredesk-dovecot-"))
    try:
        with dovecot_server(root) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mail_runtime(demo_runtime: Runtime, imap_server: ImapServer) -> Iterator[Runtime]:
    """The runtime pointed at the mailbox, emptied of earlier tests' mail."""
    s = demo_runtime.settings
    s.mail_imap_host, s.mail_imap_port, s.mail_imap_ssl = imap_server.host, imap_server.port, False
    s.mail_imap_user, s.mail_imap_password = imap_server.user, imap_server.password
    c = imap_server.client()
    for folder in ("INBOX", s.mail_imap_done_folder, s.mail_imap_refused_folder):
        status, data = c.select(f'"{folder}"')
        if status == "OK" and int(data[0] or 0) > 0:
            c.store("1:*", "+FLAGS", "\\Deleted")
            c.expunge()
    c.logout()
    yield demo_runtime


def _messages(rt: Runtime) -> int:
    with rt.session_factory() as s:
        return s.scalar(select(func.count()).select_from(Message).where(Message.direction == "in")) or 0


def test_poll_takes_in_each_mail_once_and_moves_it(mail_runtime: Runtime, imap_server: ImapServer,
                                                   mailbox: Mailbox) -> None:
    rt, settings = mail_runtime, mail_runtime.settings
    imap_server.append(raw_mail(body=COMPLAINT, message_id="<imap1@customer.example>"))
    imap_server.append(raw_mail(body="我的订单还没到", charset="gb2312", sender="wang@customer.example",
                                message_id="<imap2@customer.example>"))
    imap_server.append(raw_mail(headers={"Auto-Submitted": "auto-replied"}, message_id="<ooo@customer.example>"))
    client = connect(settings)
    try:
        report = poll_once(rt, client)
    finally:
        client.logout()
    assert (report.taken, report.ignored, report.refused) == (2, 1, 0)
    assert imap_server.uids("INBOX") == []
    assert len(imap_server.uids(settings.mail_imap_done_folder)) == 3
    assert _messages(rt) == 2
    with rt.session_factory() as s:
        assert set(s.scalars(select(MailMessage.header_id))) == {"<imap1@customer.example>",
                                                                 "<imap2@customer.example>"}
    deadline = time.monotonic() + 15  # each customer gets the bot's threaded reply (staff notices go out too)
    while time.monotonic() < deadline and len([m for m in mailbox.messages if m["In-Reply-To"]]) < 2:
        time.sleep(0.05)
    assert {m["In-Reply-To"] for m in mailbox.messages if m["In-Reply-To"]} == {"<imap1@customer.example>",
                                                                                "<imap2@customer.example>"}


def test_a_mail_taken_in_but_not_moved_is_not_taken_twice(mail_runtime: Runtime, imap_server: ImapServer) -> None:
    """The watcher died between the commit and the move: the mail is still in the inbox at the restart."""
    rt, settings = mail_runtime, mail_runtime.settings
    raw = raw_mail(body=COMPLAINT, message_id="<crash@customer.example>")
    imap_server.append(raw)
    client = connect(settings)
    try:
        first = poll_once(rt, client)
    finally:
        client.logout()
    imap_server.append(raw)  # as if the move had not happened
    client = connect(settings)
    try:
        again = poll_once(rt, client)
    finally:
        client.logout()
    assert (first.taken, again.taken, again.duplicates) == (1, 0, 1)
    assert _messages(rt) == 1
    with rt.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(InboundKey)) == 1
    assert imap_server.uids("INBOX") == []


def test_unreadable_and_oversized_mail_goes_to_the_refused_folder(mail_runtime: Runtime,
                                                                   imap_server: ImapServer) -> None:
    rt, settings = mail_runtime, mail_runtime.settings
    settings.mail_max_message_bytes = 20_000
    imap_server.append(raw_mail(body="转账失败".encode("gb18030"), charset="x-unknown-cs",
                                message_id="<cs@customer.example>"))
    imap_server.append(raw_mail(extra_parts=[attachment("big.pdf", "application/pdf", b"\0" * 30_000)],
                                message_id="<big@customer.example>"))
    imap_server.append(raw_mail(body="正常的一封", message_id="<ok@customer.example>"))
    client = connect(settings)
    try:
        report = poll_once(rt, client)
    finally:
        client.logout()
    assert (report.taken, report.refused) == (1, 2)
    assert sorted(report.refusals) == ["invalid_email", "payload_too_large"]
    assert len(imap_server.uids(settings.mail_imap_refused_folder)) == 2
    assert len(imap_server.uids(settings.mail_imap_done_folder)) == 1
    assert _messages(rt) == 1


def test_the_idle_watcher_takes_in_mail_as_it_arrives(mail_runtime: Runtime, imap_server: ImapServer) -> None:
    rt = mail_runtime
    rt.settings.mail_imap_idle_seconds = 600  # only the server's EXISTS can wake it in time
    stop = threading.Event()
    passes: list[PassReport] = []
    worker = threading.Thread(target=watch, args=(rt, stop), kwargs={"on_pass": passes.append}, daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while not passes and time.monotonic() < deadline:  # the first pass found the inbox empty
            time.sleep(0.05)
        assert passes and passes[0].handled == 0
        started = time.monotonic()
        imap_server.append(raw_mail(body=COMPLAINT, message_id="<idle@customer.example>"))
        while _messages(rt) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        waited = time.monotonic() - started
        assert _messages(rt) == 1, "the IDLE watcher did not take the mail in"
        assert waited < 15
    finally:
        stop.set()
        worker.join(timeout=10)
    assert not worker.is_alive()
    assert imap_server.uids("INBOX") == []


def test_cli_mail_poll_takes_in_the_mailbox_and_refuses_bad_settings_with_exit_2(
        imap_server: ImapServer, tmp_path: Path, triage_model: TriageModel) -> None:
    """`caredesk mail poll` as an operator runs it: a real subprocess on a real SQLite file."""
    activate(triage_model, tmp_path / "models")  # spares the subprocess the first-run training
    env = cli_env(database_url=f"sqlite:///{tmp_path / 'cli.db'}", var_dir=str(tmp_path / "var"),
                  model_dir=str(tmp_path / "models"), environment="test", secret_key="cli-test-secret-" + "y" * 32)
    assert caredesk(env, "db", "upgrade", timeout=300).returncode == 0
    unset = caredesk(env, "mail", "poll", timeout=300)
    assert unset.returncode == 2 and "CAREDESK_MAIL_IMAP_HOST is not set" in unset.stderr
    nobody = caredesk(env | {"CAREDESK_MAIL_IMAP_HOST": "127.0.0.1", "CAREDESK_MAIL_IMAP_PORT": str(free_port()),
                             "CAREDESK_MAIL_IMAP_SSL": "false"}, "mail", "poll", timeout=300)
    assert nobody.returncode == 2 and "cannot open the mailbox" in nobody.stderr
    imap = {"CAREDESK_MAIL_IMAP_HOST": imap_server.host, "CAREDESK_MAIL_IMAP_PORT": str(imap_server.port),
            "CAREDESK_MAIL_IMAP_SSL": "false", "CAREDESK_MAIL_IMAP_USER": imap_server.user,
            "CAREDESK_MAIL_IMAP_PASSWORD": imap_server.password}
    wrong = caredesk(env | imap | {"CAREDESK_MAIL_IMAP_PASSWORD": "wrong"}, "mail", "poll", timeout=300)
    assert wrong.returncode == 2 and "cannot open the mailbox" in wrong.stderr
    imap_server.append(raw_mail(body=COMPLAINT, message_id="<cli@customer.example>"))
    done = caredesk(env | imap, "mail", "poll", timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "taken in 1, seen before 0, ignored 0, refused 0"
    assert imap_server.uids("INBOX") == []
    engine = create_engine(env["CAREDESK_DATABASE_URL"])
    with engine.connect() as conn:  # the bot's reply waits for a worker to send it
        assert conn.execute(text("SELECT channel, status FROM message_delivery")).all() == [("email", "pending")]
    engine.dispose()
