"""Intake: one customer message in, triaged, decided and stored in one transaction; notices and live
events leave only after the commit."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caredesk.alarms.actions import do_watch_conversation
from caredesk.analytics.sources import record_message
from caredesk.channels.delivery import queue_delivery
from caredesk.compliance.outgoing import OutgoingCheck
from caredesk.customers.profile import branch_id_of
from caredesk.emergency.actions import do_start_emergency_response, prepare_emergency
from caredesk.emergency.events import InvitationDue
from caredesk.errors import InvalidInput, NotFound
from caredesk.ids import new_id
from caredesk.intake.clarify import (
    ClarifyOption,
    clarifying_question,
    options_from,
    options_of,
    pending_state,
    resolve_choice,
)
from caredesk.intake.decision import Decision, DecisionKind, Reason, decide, needs_emergency
from caredesk.intake.deps import IntakeDeps
from caredesk.intake.events import MessageReceived
from caredesk.intake.profile_use import with_greeting, without_answered_question
from caredesk.intake.replies import acknowledgement, emergency_reply, work_order_reply
from caredesk.integrations.connectors.answers import live_lookup
from caredesk.knowledge.match import KbMatch
from caredesk.observability.metrics import metrics
from caredesk.sla.tracking import minutes_to_first_response
from caredesk.storage.orm import Conversation, Customer, EmergencyMeeting, Message, TriageResult, WorkOrder
from caredesk.triage.context import PriorTurn, in_context
from caredesk.triage.doc import TriageDoc
from caredesk.workorders.events import WorkOrderChanged
from caredesk.workorders.lead_handoff import hand_over_conversation

if TYPE_CHECKING:
    from caredesk.knowledge.retrieval import KnowledgeIndex
    from caredesk.settings import Settings

__all__ = ["CHANNELS", "CUSTOMER_REF_PATTERN", "IncomingMessage", "IntakeOutcome", "MessageClaim", "check_incoming",
           "do_receive_message", "knowledge_matches", "triage_row"]

CHANNELS = frozenset({"web", "chat", "api", "email", "wechat", "wecom", "phone", "sms", "app"})
CUSTOMER_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"
_REF = re.compile(CUSTOMER_REF_PATTERN)


@dataclass(frozen=True)
class IncomingMessage:
    text: str
    channel: str
    customer_ref: str
    conversation_id: str | None = None
    customer_branch: str | None = None  # the customer's home branch code, when the channel or CRM knows it
    identified: bool = False  # the authenticated API vouches for customer_ref (intake/profile_use.py)
    contact_id: str | None = None  # the customer's address on an outside channel (channels/contacts.py)
    deliver_reply: bool = False  # the reply goes back by the channel's sender (not in the HTTP answer)


@dataclass(frozen=True)
class IntakeOutcome:
    message_id: str
    conversation_id: str
    doc: TriageDoc
    decision: Decision
    work_order_id: str | None = None
    meeting_id: str | None = None
    reply_message_id: str | None = None
    alarm_id: str | None = None
    reply_text: str | None = None  # what the customer was told: an answer, a question or an acknowledgement
    clarification: tuple[ClarifyOption, ...] = ()  # the options of a clarifying question
    outgoing: OutgoingCheck | None = None  # the compliance check of the reply (None: no reply was drafted)
    case_number: str | None = None  # the work order's number as the customer sees it (None: no order)


class MessageClaim(Protocol):
    """A hold taken first thing in the message's transaction and completed just before its commit: an
    Idempotency-Key (intake/idempotency_store.KeyClaim), a provider's message id (channels' inbound keys)."""

    def take(self, session: Session, *, now: datetime) -> None: ...
    def keep(self, result: IntakeOutcome) -> object: ...


def check_incoming(cmd: IncomingMessage, max_chars: int) -> None:
    if not cmd.text.strip():
        raise InvalidInput("text is empty", field="text")
    if len(cmd.text) > max_chars:
        raise InvalidInput(f"text is longer than {max_chars} characters", field="text", problem="too_long",
                           limit=max_chars)
    if cmd.channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {sorted(CHANNELS)}", field="channel")
    if not _REF.match(cmd.customer_ref):
        raise InvalidInput("customer_ref must be 1-128 letters, digits or ._:@-", field="customer_ref")


def _customer(session: Session, cmd: IncomingMessage, language: str, now: datetime) -> Customer:
    """The customer by reference, created on first contact; a given home branch is kept up to date (it
    decides which branch's staff may see the customer, and whose on-call staff answer emergencies)."""
    branch_id = branch_id_of(session, cmd.customer_branch, field="customer_branch")
    customer = session.scalar(select(Customer).where(Customer.ref == cmd.customer_ref))
    if customer is None:
        try:
            with session.begin_nested():
                customer = Customer(ref=cmd.customer_ref, language=language if language in {"zh", "en"} else None,
                                    branch_id=branch_id, created_at=now)
                session.add(customer)
        except IntegrityError:  # created by a concurrent first message of the same customer
            customer = session.scalar(select(Customer).where(Customer.ref == cmd.customer_ref))
            assert customer is not None
    if branch_id is not None and customer.branch_id != branch_id:
        customer.branch_id = branch_id
    return customer


def _conversation(session: Session, cmd: IncomingMessage, customer: Customer, now: datetime) -> Conversation:
    if cmd.conversation_id is None:
        # ids given here (not at the insert): the rows of a message go in at one flush, not one flush each
        new = Conversation(id=new_id(), customer_id=customer.id, channel=cmd.channel, created_at=now,
                           last_message_at=now, contact_id=cmd.contact_id)
        session.add(new)
        return new
    conversation = session.scalar(select(Conversation).where(Conversation.id == cmd.conversation_id)
                                  .with_for_update())
    if conversation is None or conversation.customer_id != customer.id:
        raise NotFound("conversation not found", id=cmd.conversation_id)  # another customer's is not revealed
    conversation.last_message_at = now
    if cmd.contact_id is not None:
        conversation.contact_id = cmd.contact_id
    return conversation


def _blocking_rules(check: OutgoingCheck) -> dict[str, str | dict[str, str]]:
    """The decision reason's parameters: the rule ids, and their names in each language for the pages."""
    rules = {h.rule_id: h.names for h in check.hits}
    return {"rules": ", ".join(sorted(rules)),
            "names": {"zh": "、".join(n.get("zh", r) for r, n in rules.items()),
                      "en": ", ".join(n.get("en", r) for r, n in rules.items())}}


def triage_row(message: Message, doc: TriageDoc, decision: Decision) -> TriageResult:
    """The stored triage of a message and its decision: live intake and the history import store the same."""
    ct, pt, ur = doc.label("content_type"), doc.label("problem_type"), doc.label("urgency")
    answered = decision.match if decision.match and decision.kind == DecisionKind.ANSWER else None
    best = decision.match or (decision.clarify[0] if decision.clarify else None)
    return TriageResult(
        message_id=message.id, model_version=doc.model_version, language=doc.language,
        content_type=ct.label, content_type_confidence=ct.confidence, problem_type=pt.label,
        problem_type_confidence=pt.confidence, urgency=ur.label, urgency_confidence=ur.confidence,
        emotion=doc.emotion.label, complaint_level=doc.complaint_level, complaint_types=doc.complaint_types,
        topic=doc.topic, product=doc.product,
        entities=[{"kind": e.kind, "text": e.text, "start": e.start, "end": e.end} for e in doc.entities],
        explanation=doc.explanation() | {"decision_reasons": [r.to_json() for r in decision.because]},
        decision_kind=decision.kind.value, decision_reason=decision.reason[:500],
        answer_entry_id=answered.entry_id if answered else None,
        answer_version=answered.version if answered else None,
        answer_score=best.score if best else None, created_at=message.created_at)


def knowledge_matches(index: KnowledgeIndex, doc: TriageDoc, settings: Settings) -> list[KbMatch]:
    """The best matches among the entries of the message's likely content types and its problem type (any
    content type when the triage is unsure of it): what live intake and the history import decide on."""
    content = doc.label("content_type")
    likely = None if content.confidence < settings.kb_widen_below_confidence else {
        content.label, *(label for label, p in content.ranking if p >= settings.kb_runner_up_min_probability)}
    return index.search(doc.masked, content_type=likely,
                        problem_type=doc.label("problem_type").label,
                        limit=max(settings.kb_clarify_max_options, 2), language=doc.language, vector=doc.embedding)


def _knowledge(rt: IntakeDeps, doc: TriageDoc) -> tuple[KnowledgeIndex, list[KbMatch]]:
    """The current index (outside the message's transaction: a rebuild may store embeddings) and its matches."""
    index = rt.knowledge_index()
    return index, knowledge_matches(index, doc, rt.settings)


def _resolve_pending(index: KnowledgeIndex, conversation: Conversation, doc: TriageDoc) -> Decision | None:
    """When the conversation waits for the answer to a clarifying question: the answer to the option the
    customer picked, or None (a new question: the pending state is dropped either way)."""
    options = options_of(conversation.pending_clarification)
    conversation.pending_clarification = None
    if not options:
        return None
    # a reply such as "the second one" or "交易密码" says nothing reliable about content type: search everything
    chosen = resolve_choice(doc.masked, options, index.search(doc.masked, limit=3, language=doc.language))
    entry = index.get(chosen.entry_id) if chosen else None
    if chosen is None or entry is None:  # nothing picked, or the entry stopped answering since it was offered
        return None
    match = KbMatch(entry.entry_id, entry.version, chosen.score, entry.question, entry.answer)
    return Decision(DecisionKind.ANSWER, f"clarification: the customer chose option {chosen.index} "
                                         f"({entry.entry_id})", match,
                    because=(Reason("clarified", {"option": str(chosen.index)}),))


def _work_order_for(rt: IntakeDeps, s: Session, conversation: Conversation, customer: Customer, message: Message,
                    doc: TriageDoc, decision: Decision, now: datetime, *, new: bool = False) -> WorkOrder:
    """A follow-up in a conversation joins its latest work order instead of opening another one, reopening it
    when the rule says so (workorders/follow_up.py); otherwise, or when `new` (an emergency response that has
    just started tracks the case in an order of its own: urgent SLA, first in the queue), a new order."""
    from caredesk.workorders.actions import append_event, do_open_work_order, transition
    from caredesk.workorders.follow_up import FollowUp, follow_up_of
    from caredesk.workorders.lead_notice import raise_on_strong_emotion
    from caredesk.workorders.model import Status

    current = None if new else s.scalar(select(WorkOrder).where(WorkOrder.conversation_id == conversation.id)
                                        .order_by(WorkOrder.id.desc()).limit(1))
    follow_up = FollowUp.NEW if current is None else follow_up_of(
        current.status_category, merged=current.merged_into_id is not None, text=doc.masked)
    reopen = follow_up == FollowUp.REOPEN
    if current is not None and follow_up != FollowUp.NEW:
        append_event(s, current, "customer_message", actor="customer", now=now,
                     data={"message_id": message.id}, note=doc.masked[:2000])
        if reopen:
            transition(s, current.id, Status.REOPENED.value, actor="customer", now=now,
                       note="the customer wrote again after the resolution",
                       data={"note_code": "reopened_by_customer"})
        current.updated_at = now
        raise_on_strong_emotion(s, current, tier=customer.tier, emotion=doc.emotion.label, now=now,
                                emotion_confidence=doc.emotion.confidence, complaint_level=doc.complaint_level)
        if current.first_response_at is not None and current.awaiting_reply_since is None:
            current.awaiting_reply_since = now  # the next-response clock starts
            current.sla_next_check_at = now if current.sla_policy else None
        return current
    return do_open_work_order(s, flows=rt.flows, conversation=conversation, customer=customer, message=message,
                              doc=doc, reason=decision.reason, now=now, case_zone=rt.case_zone,
                              sla=rt.sla, confirm_emergency=decision.confirm_emergency,
                              handoff=decision.kind == DecisionKind.HANDOFF,
                              emergency=decision.kind == DecisionKind.EMERGENCY,
                              reason_codes=[r.to_json() for r in decision.because])


def _advice(rt: IntakeDeps, doc: TriageDoc) -> KbMatch | None:
    """The knowledge entry whose steps the customer can take at once in an emergency (freeze the card, call
    the hotline), searched across every content and problem type: a fraud complaint's advice sits in a
    lost-card consultation. Its bar is lower than an answer's (kb_advice_threshold): the reply does not rest on
    it, it stands beside the emergency response; below it no advice is better than an unrelated entry."""
    index = rt.knowledge_index()
    best = index.search(doc.masked, limit=1, language=doc.language, vector=doc.embedding)
    return best[0] if best and best[0].score >= rt.settings.kb_advice_threshold else None


def _track_emergency(s: Session, meeting_id: str, order: WorkOrder, now: datetime) -> None:
    """The work order that follows the emergency to closure, linked both ways (the meeting names the order;
    the order's timeline names the meeting)."""
    from caredesk.workorders.actions import append_event

    meeting = s.get(EmergencyMeeting, meeting_id)
    if meeting is not None and meeting.work_order_id is None:
        meeting.work_order_id = order.id
        append_event(s, order, "emergency_started", actor="system", now=now,
                     data={"meeting_id": meeting_id, "note_code": "emergency_started"},
                     note="the emergency response started with this message; this order tracks it to closure")


HISTORY_TURNS = 10  # earlier customer messages of the conversation that triage weighs


def _conversation_state(rt: IntakeDeps, conversation_id: str | None, now: datetime
                        ) -> tuple[list[PriorTurn], str | None]:
    """The conversation's earlier customer messages as triage saw them, oldest first, and its emergency
    meeting that is still running, if any (a short read of its own, before the write transaction)."""
    if conversation_id is None:
        return [], None
    with rt.session_factory() as session:
        rows = session.execute(
            select(TriageResult.urgency, TriageResult.emotion, TriageResult.complaint_level,
                   TriageResult.complaint_types)
            .join(Message, Message.id == TriageResult.message_id)
            .where(Message.conversation_id == conversation_id, Message.direction == "in")
            .order_by(Message.created_at.desc()).limit(HISTORY_TURNS)).all()
        running = session.scalar(select(EmergencyMeeting.id).where(EmergencyMeeting.conversation_id == conversation_id,
                                                                   EmergencyMeeting.ends_at > now)
                                 .order_by(EmergencyMeeting.created_at.desc()).limit(1))
    return [PriorTurn(u, e, int(level or 0), tuple(types or ())) for u, e, level, types in reversed(rows)], running


def do_receive_message(rt: IntakeDeps, cmd: IncomingMessage, *, claim: MessageClaim | None = None
                       ) -> IntakeOutcome:
    """`claim` (a request with an Idempotency-Key: intake/idempotent.py; a channel's provider message id)
    takes the key first thing in the transaction and keeps the answer in it, so that a committed message
    always has its key."""
    check_incoming(cmd, rt.settings.max_message_chars)
    history, running = _conversation_state(rt, cmd.conversation_id, rt.clock.now())
    started = time.perf_counter()
    doc = in_context(rt.triage(cmd.text), history)  # CPU: outside the transaction
    metrics().triage_seconds.observe(time.perf_counter() - started)
    policy = rt.decision_policy
    emergency = needs_emergency(doc, policy)
    index, matches = (None, []) if emergency else _knowledge(rt, doc)
    advice = _advice(rt, doc) if emergency else None
    # the meeting room and the monitoring snapshot may come from other systems: asked before any lock is held;
    # a conversation whose emergency meeting is still running joins it instead of calling everyone again
    prepared = prepare_emergency(rt.emergency, doc) if emergency and running is None else None
    # an order's or a parcel's live status, when a connector can give it: also asked before any lock is held
    lookup = None if emergency else live_lookup(rt.connectors, cmd.text, now=rt.clock.now(),
                                                budget=rt.settings.connectors_bot_budget_seconds)
    with rt.uow() as uow:
        s = uow.session
        now = rt.clock.now()
        if claim is not None:
            claim.take(s, now=now)
        customer = _customer(s, cmd, doc.language, now)
        conversation = _conversation(s, cmd, customer, now)
        message = Message(id=new_id(), conversation_id=conversation.id, direction="in", author="customer",
                          text=cmd.text, text_masked=doc.display or doc.masked, language=doc.language, created_at=now)
        s.add(message)

        work_order_id = meeting_id = reply_id = reply_text = case_number = None
        options: tuple[ClarifyOption, ...] = ()
        outgoing: OutgoingCheck | None = None
        participant_ids: list[str] = []
        if emergency:
            conversation.pending_clarification = None
            decision = decide(doc, None, policy)
            if prepared is not None:
                meeting = do_start_emergency_response(s, plan=rt.emergency, prepared=prepared,
                                                      conversation=conversation, customer=customer,
                                                      message=message, doc=doc, now=now)
                meeting_id = meeting.id
                participant_ids = [p.id for p in meeting.participants]
            else:
                meeting_id = running
                decision = Decision(DecisionKind.EMERGENCY, f"{decision.reason}; the conversation's emergency "
                                                            f"meeting {running} is still running: joins it",
                                    because=(*decision.because, Reason("joins_meeting")))
            assert meeting_id is not None
            # a new response opens the order that tracks it; a message into a running one joins that order
            order = _work_order_for(rt, s, conversation, customer, message, doc, decision, now,
                                    new=prepared is not None)
            _track_emergency(s, meeting_id, order, now)
            work_order_id, case_number = order.id, order.number
            minutes = minutes_to_first_response(rt.sla, order, now)
            reply_text = emergency_reply(doc.language, advice=advice.answer if advice else None, number=case_number,
                                         minutes=minutes)
            outgoing = rt.outgoing.check(reply_text)
            if advice is not None and outgoing.blocked:  # the advice tripped a rule: the reply goes without it
                advice = None
                reply_text = emergency_reply(doc.language, advice=None, number=case_number, minutes=minutes)
                outgoing = rt.outgoing.check(reply_text)
            if advice is not None:
                decision = Decision(DecisionKind.EMERGENCY, f"{decision.reason}; self-help steps from knowledge "
                                                            f"entry {advice.entry_id} ({advice.score:.2f} >= "
                                                            f"{rt.settings.kb_advice_threshold:.2f})", advice,
                                    because=(*decision.because, Reason("emergency_advice",
                                                                       {"score": f"{advice.score:.2f}"})))
        else:
            assert index is not None
            resolved = _resolve_pending(index, conversation, doc) if conversation.pending_clarification else None
            decision = resolved or decide(doc, matches[0] if matches else None, policy, runners_up=matches[1:])
            decision = without_answered_question(s, decision, doc, conversation_id=conversation.id,
                                                 customer_id=customer.id, identified=cmd.identified)
            if decision.clarify:
                options = options_from(decision.clarify)
                reply_text = clarifying_question(options, doc.language)
            elif decision.out_of_scope:
                reply_text = acknowledgement("out_of_scope", doc.language)
            elif decision.kind == DecisionKind.ANSWER and decision.match:
                reply_text = decision.match.answer
            if lookup is not None and resolved is None and decision.kind != DecisionKind.HANDOFF:
                decision, reply_text, options = lookup.decision, lookup.reply(doc.language), ()
            else:
                lookup = None
            outgoing = rt.outgoing.check(reply_text) if reply_text is not None else None
            if outgoing is not None and outgoing.blocked:  # not sent: a person takes the message, with the reason
                decision = Decision(DecisionKind.WORK_ORDER, f"outgoing compliance blocked the reply: "
                                                             f"{outgoing.reason()}", decision.match,
                                    because=(Reason("compliance_blocked", _blocking_rules(outgoing)),))
                reply_text, options = None, ()
            if reply_text is None:
                order = _work_order_for(rt, s, conversation, customer, message, doc, decision, now)
                work_order_id, case_number = order.id, order.number
                reply_text = work_order_reply(decision, doc.language, case_number)
                if lookup is not None and lookup.failed:  # the failure on the order's timeline; "we'll follow up"
                    reply_text = lookup.follow_up(s, order, doc.language, now=now)
        if reply_text is not None:
            reply_text = with_greeting(s, reply_text, identified=cmd.identified, customer_id=customer.id,
                                       new_conversation=cmd.conversation_id is None, conversation_id=conversation.id,
                                       decision=decision, language=doc.language)
            reply = Message(id=new_id(), conversation_id=conversation.id, direction="out", author="bot",
                            text=reply_text, text_masked=reply_text, language=doc.language, created_at=now)
            s.add(reply)
            reply_id = reply.id
            if cmd.deliver_reply:
                queue_delivery(s, uow, reply, conversation, kind="reply", senders=rt.channels, now=now)
            if options:
                conversation.pending_clarification = pending_state(options, message_id=reply.id, asked_at=now)
        triage = triage_row(message, doc, decision)
        triage.work_order_id, triage.meeting_id = work_order_id, meeting_id
        if outgoing is not None and outgoing.hits:  # blocked or warned: recorded with the decision
            triage.explanation = {**triage.explanation, "outgoing_check": outgoing.to_json()}
        if emergency and decision.match is not None:  # the self-help steps the emergency reply gave
            triage.explanation = {**triage.explanation, "emergency_advice": {
                "entry_id": decision.match.entry_id, "version": decision.match.version,
                "score": round(decision.match.score, 4)}}
        s.add(triage)
        s.flush()  # the one deliberate flush: the watch below counts this message with the earlier ones
        record_message(s, triage, received_at=now, channel=conversation.channel, branch_id=customer.branch_id)
        alarm = do_watch_conversation(s, conversation, rt.alarm_policy, now=now, strategy=rt.alarm_strategy,
                                      events=uow)
        # A waiting order of a conversation that is high-risk now (this message at level 3+, the alarm it just
        # raised, an emergency) waits no longer: the lead on duty takes it.
        for order_id in hand_over_conversation(s, conversation.id, now=now):
            uow.record(WorkOrderChanged(order_id))
        for pid in participant_ids:
            uow.record(InvitationDue(pid))
        uow.record(MessageReceived(conversation.id, message.id, decision.kind.value, bool(options),
                                   doc.label("urgency").label, alarm.id if alarm else None))
        outcome = IntakeOutcome(message.id, conversation.id, doc, decision, work_order_id, meeting_id, reply_id,
                                alarm.id if alarm else None, reply_text, options, outgoing, case_number)
        if claim is not None:
            claim.keep(outcome)
        uow.commit()
    return outcome
