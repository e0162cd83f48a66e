"""A call taken in as a conversation on channel "phone": the customer's side through intake (triage, then a
knowledge answer, a work order or the emergency response), the agent's turns stored beside it as agent
messages (not sent anywhere: they were spoken). Once per call id: a repeat gets the first result."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.channels.calls.speech import Segment, SpeechEngine, SpeechEngineUnavailable
from caredesk.channels.calls.transcript import CallTranscript, customer_side, ended_at
from caredesk.channels.contact_customer import phone_contact
from caredesk.channels.inbound_claim import AlreadyTaken, InboundClaim
from caredesk.compliance.masking import mask_text
from caredesk.errors import InvalidInput
from caredesk.ids import new_id
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.intake.deps import IntakeDeps
from caredesk.storage.orm import Message, PhoneCall, TriageResult, WorkOrder

__all__ = ["CHANNEL", "CallOutcome", "InvalidCall", "do_receive_call"]

CHANNEL = "phone"
log = logging.getLogger(__name__)


class InvalidCall(InvalidInput):
    code = "invalid_call"


@dataclass(frozen=True)
class CallOutcome:
    call_id: str
    conversation_id: str
    customer_message_id: str
    agent_message_ids: tuple[str, ...]
    reply_message_id: str | None
    decision: str
    work_order_id: str | None
    case_number: str | None
    meeting_id: str | None
    transcript_source: str
    truncated: bool
    replayed: bool = False

    @property
    def message_ids(self) -> tuple[str, ...]:
        return (self.customer_message_id, *self.agent_message_ids)


@dataclass
class _CallClaim:
    """Takes the call id first thing in intake's transaction; adds the call row and the agent's turns just
    before its commit, so that the call is stored whole or not at all."""

    call: CallTranscript
    source: str
    truncated: bool
    key: InboundClaim
    session: Session | None = None
    agent_ids: list[str] = field(default_factory=list)

    def take(self, session: Session, *, now: datetime) -> None:
        self.key.take(session, now=now)
        self.session = session

    def keep(self, result: IntakeOutcome) -> None:
        assert self.session is not None
        s, call = self.session, self.call
        self.key.keep(result)
        for seg in sorted(call.segments, key=lambda x: (x.start_ms, x.end_ms)):
            if seg.speaker != "agent" or not seg.text.strip():
                continue
            message = Message(id=new_id(), conversation_id=result.conversation_id, direction="out", author="agent",
                              text=seg.text.strip(), text_masked=mask_text(seg.text.strip())[0],
                              language=call.language or result.doc.language,
                              created_at=call.started_at + timedelta(milliseconds=seg.start_ms))
            s.add(message)
            self.agent_ids.append(message.id)
        s.add(PhoneCall(call_id=call.call_id, conversation_id=result.conversation_id, message_id=result.message_id,
                        recording_ref=call.recording_ref, started_at=call.started_at, ended_at=ended_at(call),
                        language=call.language, segments=len(call.segments), transcript_source=self.source,
                        truncated=self.truncated,
                        created_at=_result_time(s, result.message_id)))


def _result_time(s: Session, message_id: str) -> datetime:
    message = s.get(Message, message_id)
    assert message is not None
    return message.created_at


def _replay(s: Session, row: PhoneCall) -> CallOutcome:
    triage = s.scalar(select(TriageResult).where(TriageResult.message_id == row.message_id))
    cutoff = max(row.created_at, row.ended_at or row.started_at)
    rows = s.execute(select(Message.id, Message.author).where(
        Message.conversation_id == row.conversation_id, Message.created_at <= cutoff, Message.id != row.message_id)
        .order_by(Message.created_at, Message.id)).all()
    agents = tuple(mid for mid, author in rows if author == "agent")
    reply = next((mid for mid, author in rows if author == "bot"), None)
    order_id = triage.work_order_id if triage else None
    order = s.get(WorkOrder, order_id) if order_id else None
    return CallOutcome(row.call_id, row.conversation_id, row.message_id, agents, reply,
                       triage.decision_kind if triage else "unknown", order_id, order.number if order else None,
                       triage.meeting_id if triage else None, row.transcript_source, row.truncated,
                       replayed=True)


def _found(rt: IntakeDeps, call_id: str) -> CallOutcome | None:
    with rt.session_factory() as s:
        row = s.scalar(select(PhoneCall).where(PhoneCall.call_id == call_id))
        return _replay(s, row) if row is not None else None


def do_receive_call(rt: IntakeDeps, call: CallTranscript, engine: SpeechEngine | None = None) -> CallOutcome:
    """The call's outcome; the first one's again (replayed) for a call id already taken. `engine` transcribes
    a call that comes without segments (speech.speech_engine gives it or says none is configured)."""
    done = _found(rt, call.call_id)
    if done is not None:
        return done
    source = "request"
    if not call.segments:
        if engine is None or not call.recording_ref:
            raise InvalidCall("a call needs `segments`, or `recording_ref` and a speech engine", field="segments")
        try:
            segments = tuple(engine.transcribe(call.recording_ref, language=call.language))
        except OSError as exc:
            raise SpeechEngineUnavailable(f"the speech engine failed on this recording: {type(exc).__name__}; "
                                          "post the call again later") from exc
        if not all(isinstance(s, Segment) for s in segments):
            raise InvalidCall("the speech engine returned something other than segments", field="segments")
        call, source = replace(call, segments=segments), "engine"
    side = customer_side(call.segments, rt.settings.max_message_chars)
    if side is None:
        raise InvalidCall("the transcript has no customer turn to triage", field="segments",
                          problem="no_customer_turns")
    contact_id, ref = None, call.customer_ref
    if call.caller is not None:
        with rt.uow() as uow:
            found = phone_contact(uow.session, channel=CHANNEL, phone=call.caller, now=rt.clock.now(),
                                  continues=False)
            uow.commit()
        if ref is None or ref == found.customer_ref:
            contact_id, ref = found.contact_id, found.customer_ref
    assert ref is not None
    claim = _CallClaim(call, source, side.truncated, InboundClaim(CHANNEL, f"call:{call.call_id}"))
    try:
        outcome = do_receive_message(rt, IncomingMessage(side.text, CHANNEL, ref, None, contact_id=contact_id,
                                                         identified=call.customer_ref is not None), claim=claim)
    except AlreadyTaken:  # the same call posted concurrently: the first one's result
        again = _found(rt, call.call_id)
        if again is None:
            raise
        return again
    log.info("call %s: conversation %s, %d turns (%d customer), decision %s", call.call_id,
             outcome.conversation_id, len(call.segments), side.turns, outcome.decision.kind.value)
    return CallOutcome(call.call_id, outcome.conversation_id, outcome.message_id, tuple(claim.agent_ids),
                       outcome.reply_message_id, outcome.decision.kind.value, outcome.work_order_id,
                       outcome.case_number, outcome.meeting_id, source, side.truncated)
