"""The demo's mail catcher: with CAREDESK_MAIL_DIR set, every e-mail (here an emergency's invitations) is a
complete .eml file in that folder and is recorded as sent, where before a site without an SMTP server saw
every invitation as failed."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes
from email.utils import getaddresses
from pathlib import Path

import pytest
from sqlalchemy import select

from caredesk.bootstrap import build_runtime
from caredesk.bootstrap.runtime import Runtime
from caredesk.demo.loader import do_load_demo
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.notify.email import FolderSender
from caredesk.storage.orm import MeetingParticipant, Staff
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox, _clean, make_settings

FRAUD = "我的银行卡刚刚被盗刷了两万元，不是我本人操作，请立即冻结！"


@pytest.fixture
def folder_runtime(db_url: str, tmp_path: Path, mailbox: Mailbox, pipeline: TriagePipeline) -> Iterator[Runtime]:
    rt = build_runtime(make_settings(db_url, tmp_path / "var", mailbox, mail_dir=tmp_path / "mail"))
    rt.set_pipeline(pipeline)
    do_load_demo(rt.uow(), rt.clock)
    yield rt
    _clean(rt)
    rt.engine.dispose()


def test_mail_folder_keeps_every_invitation_as_an_eml_file(folder_runtime: Runtime, mailbox: Mailbox,
                                                           tmp_path: Path) -> None:
    rt = folder_runtime
    assert isinstance(rt.mailer, FolderSender)
    outcome = do_receive_message(rt, IncomingMessage(text=FRAUD, channel="web", customer_ref="cust-folder"))
    assert outcome.meeting_id is not None
    with rt.session_factory() as s:
        invited = s.execute(select(Staff.email, MeetingParticipant.email_status).join(
            Staff, Staff.id == MeetingParticipant.staff_id).where(
            MeetingParticipant.meeting_id == outcome.meeting_id)).all()
    files = sorted((tmp_path / "mail").glob("*.eml"))
    received = {addr for f in files for _, addr in getaddresses(message_from_bytes(f.read_bytes()).get_all("To", []))}
    assert invited and {email for email, _ in invited} <= received
    assert {status for _, status in invited} == {"sent"}
    assert not list((tmp_path / "mail").glob(".*.tmp"))  # nothing half-written left behind
    assert mailbox.messages == []  # and nothing went to the SMTP server
