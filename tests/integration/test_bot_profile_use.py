"""The bot and what it knows of the customer, through `do_receive_message` on SQLite and PostgreSQL: an identified
customer (the authenticated API) is greeted by the business in progress and not asked again for a product already
given; on an unidentified channel (the public web chat) the bot reveals nothing of their business."""

from __future__ import annotations

from sqlalchemy import select

from caredesk.bootstrap.runtime import Runtime
from caredesk.intake.actions import IncomingMessage, IntakeOutcome, do_receive_message
from caredesk.intake.decision import DecisionKind
from caredesk.storage.orm import TriageResult, WorkOrder
from tests.integration.test_clarification import AMBIGUOUS, CREDIT, DEBIT, _seed

REF = "cust-known-1"
DEBIT_FEE = "My debit card was charged a fee twice this month, please refund it"


def say(rt: Runtime, text: str, *, identified: bool, conversation_id: str | None = None, ref: str = REF
        ) -> IntakeOutcome:
    channel = "app" if identified else "chat"
    return do_receive_message(rt, IncomingMessage(text, channel, ref, conversation_id, identified=identified))


def open_business(rt: Runtime) -> str:
    """The customer's order in progress (about their debit card): its case number."""
    first = say(rt, DEBIT_FEE, identified=True)
    assert first.work_order_id and first.case_number, first.decision
    with rt.session_factory() as s:
        triage = s.scalar(select(TriageResult).where(TriageResult.message_id == first.message_id))
        assert triage is not None and triage.product == "debit_card"
        assert s.get(WorkOrder, first.work_order_id).status_category == "open"  # type: ignore[union-attr]
    return first.case_number


def test_identified_customer_is_greeted_by_the_business_in_progress_unidentified_learns_nothing(
        runtime: Runtime) -> None:
    number = open_business(runtime)
    greeted = say(runtime, "Hello, I have another question about my account", identified=True)
    assert greeted.reply_text is not None
    first_line = greeted.reply_text.splitlines()[0]
    assert first_line.startswith(f"Hello, your ticket {number} about Debit card")
    assert first_line.endswith("is in progress.")
    with runtime.session_factory() as s:  # what the customer saw is what the conversation keeps
        assert greeted.reply_message_id
        from caredesk.storage.orm import Message
        assert s.get(Message, greeted.reply_message_id).text == greeted.reply_text  # type: ignore[union-attr]

    # the next message of that conversation is not greeted again
    follow = say(runtime, "Thanks, and what are your opening hours?", identified=True,
                 conversation_id=greeted.conversation_id)
    assert follow.reply_text is not None and number not in follow.reply_text

    # the same reference on the public web chat (not identified): nothing of the business is said
    anonymous = say(runtime, "Hello, I have another question about my account", identified=False)
    assert anonymous.reply_text is not None
    for secret in (number, "in progress", "Debit card", "处理中", "借记卡"):
        assert secret not in anonymous.reply_text


def test_a_product_already_given_is_not_asked_for_again(runtime: Runtime) -> None:
    debit_id, credit_id = _seed(runtime, AMBIGUOUS, DEBIT, CREDIT)
    # in this conversation: the customer named their debit card earlier, so "which card?" is not asked
    first = say(runtime, "I have a question about my debit card", identified=True)
    assert first.work_order_id is None or first.case_number  # whatever the bot made of it
    again = say(runtime, AMBIGUOUS, identified=True, conversation_id=first.conversation_id)
    assert again.clarification == () and again.decision.kind == DecisionKind.ANSWER
    assert again.decision.match is not None and again.decision.match.entry_id == debit_id
    assert [r.code for r in again.decision.because] == ["known_product"]
    assert again.reply_text == DEBIT[2]

    # the same two messages on the web chat (not identified): asked which card, as always
    chat = say(runtime, "I have a question about my debit card", identified=False)
    asked = say(runtime, AMBIGUOUS, identified=False, conversation_id=chat.conversation_id)
    assert {o.entry_id for o in asked.clarification} == {debit_id, credit_id}
    # and a customer who has given no product is asked too
    fresh = say(runtime, AMBIGUOUS, identified=True, ref="cust-new-2")
    assert {o.entry_id for o in fresh.clarification} == {debit_id, credit_id}


def test_an_identified_customers_business_in_progress_answers_the_question_anonymous_is_asked(
        runtime: Runtime) -> None:
    debit_id, credit_id = _seed(runtime, AMBIGUOUS, DEBIT, CREDIT)
    number = open_business(runtime)
    known = say(runtime, AMBIGUOUS, identified=True)
    assert known.clarification == () and known.decision.match is not None
    assert known.decision.match.entry_id == debit_id
    assert known.reply_text is not None and known.reply_text.endswith(DEBIT[2]) and number in known.reply_text

    anonymous = say(runtime, AMBIGUOUS, identified=False)
    assert {o.entry_id for o in anonymous.clarification} == {debit_id, credit_id}
    assert anonymous.reply_text is not None and number not in anonymous.reply_text
