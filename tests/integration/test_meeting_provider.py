"""The webhook meeting provider and the HTTP JSON monitoring source against a real local HTTP server standing
in for the bank's systems: the room comes from its answer and the request is signed, the monitoring answer
joins the meeting's context; when the systems fail, the configured pattern still gives the meeting a room
and the context records the failure (an emergency never waits on either)."""

from __future__ import annotations

import hashlib
import hmac
import threading
from pathlib import Path

import pytest

from caredesk.compliance.audit import record_audit
from caredesk.emergency.meetings import PatternRoomProvider, WebhookRoomProvider, build_meeting_provider
from caredesk.errors import Unavailable
from caredesk.intake.actions import IncomingMessage, do_receive_message
from caredesk.settings import Settings
from caredesk.storage.orm import EmergencyMeeting
from caredesk.triage.pipeline import TriagePipeline
from tests.conftest import Mailbox
from tests.integration.alarm_helpers import demo_runtime_with, http_receiver

URGENT = "我的银行卡刚刚被盗刷了两万元，不是我本人操作，请立即冻结！"


def test_meeting_provider_webhook_room_from_the_bank_system(db_url: str, tmp_path: Path, mailbox: Mailbox,
                                                            pipeline: TriagePipeline) -> None:
    with http_receiver() as bank:
        bank.reply = {"url": "https://meet.demo-bank.example/rooms/777", "card_payments": "degraded"}
        settings = dict(meeting_provider="webhook", meeting_webhook_url=f"{bank.url}/rooms",
                        meeting_webhook_secret="bank-secret", monitoring_url=f"{bank.url}/status")
        with demo_runtime_with(db_url, tmp_path / "var", mailbox, pipeline, **settings) as rt:
            assert isinstance(rt.emergency.provider, WebhookRoomProvider)
            outcome = do_receive_message(rt, IncomingMessage(URGENT, "web", "cust-room"))
            with rt.session_factory() as s:
                meeting = s.get(EmergencyMeeting, outcome.meeting_id)
                assert meeting is not None
                assert (meeting.provider, meeting.room_url) == ("webhook", "https://meet.demo-bank.example/rooms/777")
                # The monitoring information came from the HTTP JSON source, beside CareDesk's own alarms.
                monitoring = meeting.context["monitoring"]
                assert monitoring["source"] == "http_json" and monitoring["system"]["card_payments"] == "degraded"
                assert "open_alarms" in monitoring
            request, status_request = bank.requests  # the room first, then the context
            assert status_request.path.startswith("/status?content_type=")
            assert request.path == "/rooms" and request.json()["meeting_id"] == meeting.id
            stamp = request.headers["x-caredesk-timestamp"]
            mac = hmac.new(b"bank-secret", stamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
            assert request.headers["x-caredesk-signature"] == f"v1={mac}"

            bank.statuses = [503, 503]  # monitoring and meeting systems down: recorded, and the pattern room stands in
            second = do_receive_message(rt, IncomingMessage(URGENT, "web", "cust-room-2"))
            with rt.session_factory() as s:
                meeting = s.get(EmergencyMeeting, second.meeting_id)
                assert meeting is not None and meeting.provider == "pattern:fallback"
                assert meeting.room_url == rt.settings.meeting_url_pattern.format(meeting_id=meeting.id)
                assert "not available" in meeting.context["monitoring"]["error"]


def test_meeting_provider_built_from_settings() -> None:
    base = dict(environment="test", secret_key="x" * 40)
    assert isinstance(build_meeting_provider(Settings(**base)), PatternRoomProvider)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="MEETING_WEBHOOK_URL"):
        build_meeting_provider(Settings(**base, meeting_provider="webhook"))  # type: ignore[arg-type]
    bad = WebhookRoomProvider("http://127.0.0.1:9/none", fallback=None, timeout=0.5)
    with pytest.raises(Unavailable):
        bad.create_room("m1", "title")


def test_meeting_provider_is_asked_before_the_intake_transaction_opens(db_url: str, tmp_path: Path,
                                                                       mailbox: Mailbox,
                                                                       pipeline: TriagePipeline) -> None:
    """While the bank's meeting system thinks, CareDesk can still write: no lock is held across the call."""
    with http_receiver() as bank:
        bank.reply = {"url": "https://meet.demo-bank.example/rooms/778"}
        settings = dict(meeting_provider="webhook", meeting_webhook_url=f"{bank.url}/rooms")
        with demo_runtime_with(db_url, tmp_path / "var", mailbox, pipeline, **settings) as rt:
            written: list[bool] = []

            def write_meanwhile(_: object) -> bool:
                def write() -> None:
                    with rt.uow() as uow:
                        record_audit(uow.session, actor="test", action="test.meanwhile", object_type="test",
                                     object_id="", now=rt.clock.now())
                        uow.commit()
                    written.append(True)

                worker = threading.Thread(target=write, daemon=True)
                worker.start()
                worker.join(timeout=3)
                return True

            bank.check = write_meanwhile
            outcome = do_receive_message(rt, IncomingMessage(URGENT, "web", "cust-room-3"))
            assert written == [True]  # done while the webhook call was in flight
            with rt.session_factory() as s:
                meeting = s.get(EmergencyMeeting, outcome.meeting_id)
                assert meeting is not None and meeting.room_url == "https://meet.demo-bank.example/rooms/778"
