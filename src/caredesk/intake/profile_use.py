"""What the bot does with what it knows of the customer: it greets by the business in progress and does not ask
again what the customer has already told it.

Only where the customer is identified (`IncomingMessage.identified`: the message came through the
authenticated API, whose client vouches for `customer_ref`; the public web chat's reference is a random one per
browser session and identifies nobody) does the bot use anything beyond the conversation itself:
- the greeting: the first message of a new conversation is answered with the customer's most recent work order
  still open or paused (its case number, product and topic), e.g. "您好，关于您的「信用卡 · 费用与收费」工单
  （编号 ...），目前正在处理中。";
- no question asked twice: when the bot would ask which of several knowledge entries is meant and exactly one of
  them is about a product the customer has already given (in this message, earlier in this conversation, or as
  the product of their business in progress), it answers that one instead of asking.
On an unidentified channel the bot behaves as it always has: nothing of the customer is read or said."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from caredesk.intake.decision import Decision, DecisionKind, Reason
from caredesk.storage.orm import Message, TriageResult, WorkOrder
from caredesk.triage.components.topics import load_topic_matcher
from caredesk.triage.doc import TriageDoc

__all__ = ["InProgress", "business_in_progress", "greeting", "known_products", "skip_answered_question",
           "with_greeting", "without_answered_question"]

_ACTIVE = ("open", "paused")


@dataclass(frozen=True)
class InProgress:
    """The customer's most recent business still being handled: an open or paused work order."""

    case_number: str
    topic: str | None
    product: str | None


def business_in_progress(session: Session, customer_id: str, *, other_than: str | None = None
                         ) -> InProgress | None:
    """The most recently changed open or paused order of the customer, outside conversation `other_than`,
    with the topic and product of the message that opened it."""
    stmt = (select(WorkOrder.case_number, WorkOrder.id, TriageResult.topic, TriageResult.product)
            .outerjoin(TriageResult, TriageResult.message_id == WorkOrder.message_id)
            .where(WorkOrder.customer_id == customer_id, WorkOrder.status_category.in_(_ACTIVE),
                   WorkOrder.merged_into_id.is_(None)))
    if other_than is not None:
        stmt = stmt.where(WorkOrder.conversation_id != other_than)
    row = session.execute(stmt.order_by(WorkOrder.updated_at.desc(), WorkOrder.id.desc()).limit(1)).first()
    if row is None:
        return None
    number, order_id, topic, product = row
    return InProgress(number or order_id, topic, product)


def greeting(business: InProgress, language: str, titles: Mapping[str, str]) -> str:
    """The first line of the reply (pure): the business in progress, by its product and topic titles."""
    about = [titles.get(name, name) for name in (business.product, business.topic) if name]
    if language == "en":
        what = f" about {' - '.join(about)}" if about else ""
        return f"Hello, your ticket {business.case_number}{what} is in progress."
    what = f"关于您的「{' · '.join(about)}」工单" if about else "您的工单"
    return f"您好，{what}（编号 {business.case_number}），目前正在处理中。"


def with_greeting(session: Session, reply: str, *, identified: bool, new_conversation: bool, customer_id: str,
                  conversation_id: str, decision: Decision, language: str) -> str:
    """The reply, greeted by the business in progress on the first message of an identified customer's new
    conversation (not in an emergency: that reply goes straight to what to do)."""
    if not (identified and new_conversation) or decision.kind == DecisionKind.EMERGENCY:
        return reply
    business = business_in_progress(session, customer_id, other_than=conversation_id)
    if business is None:
        return reply
    lang = "en" if language == "en" else "zh"
    return greeting(business, lang, load_topic_matcher().titles(lang)) + "\n" + reply


def known_products(session: Session, conversation_id: str, doc: TriageDoc, *, customer_id: str | None = None
                   ) -> set[str]:
    """The products the customer has named: in this message, earlier in this conversation, and (`customer_id`
    given) the product of their business in progress."""
    known = {doc.product} if doc.product else set()
    known.update(p for p in session.scalars(
        select(TriageResult.product).join(Message, Message.id == TriageResult.message_id)
        .where(Message.conversation_id == conversation_id, Message.direction == "in",
               TriageResult.product.is_not(None))) if p)
    if customer_id is not None:
        business = business_in_progress(session, customer_id, other_than=conversation_id)
        if business is not None and business.product:
            known.add(business.product)
    return known


def skip_answered_question(decision: Decision, known: Collection[str], product_of: Callable[[str], str | None]
                           ) -> Decision:
    """A clarifying question whose options differ by product, when exactly one option is about a product the
    customer has already given, becomes the answer of that option (pure); any other decision is kept."""
    if not decision.clarify or not known:
        return decision
    fitting = [m for m in decision.clarify if product_of(m.question) in known]
    if len(fitting) != 1:
        return decision
    chosen = fitting[0]
    product = product_of(chosen.question) or ""
    index = decision.clarify.index(chosen) + 1
    return Decision(DecisionKind.ANSWER, f"clarification skipped: the customer already named {product}, "
                                         f"which only option {index} ({chosen.entry_id}) is about", chosen,
                    because=(Reason("known_product", {"option": str(index), "product": product}),))


def without_answered_question(session: Session, decision: Decision, doc: TriageDoc, *, conversation_id: str,
                              customer_id: str, identified: bool) -> Decision:
    """`skip_answered_question` with what an identified customer has given (read only when there is a
    question); on an unidentified channel the question is asked as always."""
    if not decision.clarify or not identified:
        return decision
    known = known_products(session, conversation_id, doc, customer_id=customer_id)
    matcher = load_topic_matcher()
    return skip_answered_question(decision, known, lambda question: matcher.match(question).product)
