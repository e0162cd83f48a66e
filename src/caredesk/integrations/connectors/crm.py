"""The CRM connector in the background, never on a customer's request: on a customer's first message their tier
and name are looked up and kept; a complaint is pushed to the CRM (a flag, its level, the case number). Both run
as queued tasks after intake's commit; a CRM that is down fails the task, which the queue retries later."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caredesk.clock import Clock
from caredesk.customers.tiers import CUSTOMER_TIERS
from caredesk.integrations.connectors.client import Connectors, Failed, Found, Missing
from caredesk.integrations.http_json import parse_path
from caredesk.storage.orm import Conversation, Customer, Message, TriageResult, WorkOrder
from caredesk.storage.unit_of_work import UnitOfWork
from caredesk.tasks.context import task_context

__all__ = ["CrmTaskDeps", "CrmUnavailable", "do_enrich_customer", "do_push_complaint", "enrich_customer",
           "first_contact", "push_complaint", "update_body"]

log = logging.getLogger(__name__)


class CrmUnavailable(OSError):
    """The CRM did not answer: an OSError, so the task queue tries again later."""


class CrmTaskDeps(Protocol):
    clock: Clock

    @property
    def connectors(self) -> Connectors: ...

    @property
    def session_factory(self) -> Callable[[], Session]: ...

    def uow(self) -> UnitOfWork: ...


def first_contact(s: Session, conversation_id: str) -> str | None:
    """The conversation's customer when this is their first message ever (else None): one small read."""
    customer_id = s.scalar(select(Conversation.customer_id).where(Conversation.id == conversation_id))
    if customer_id is None:
        return None
    count = s.scalar(select(func.count()).select_from(
        select(Message.id).join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.customer_id == customer_id, Message.direction == "in").limit(2).subquery()))
    return customer_id if count == 1 else None


def do_enrich_customer(deps: CrmTaskDeps, customer_id: str) -> str:
    """Look the customer up (by reference, else by phone) and keep their tier and, when none is known, name.
    Returns what happened: updated / not_found / no_lookup (nothing to look up with)."""
    spec = deps.connectors.enabled("crm")
    if spec is None:
        return "no_lookup"
    with deps.session_factory() as s:
        customer = s.get(Customer, customer_id)
        ref, phone = (customer.ref, customer.phone) if customer is not None else (None, None)
    if spec.operation("lookup_by_ref") is not None and ref is not None:
        operation, value = "lookup_by_ref", ref
    elif spec.operation("lookup_by_phone") is not None and phone:
        operation, value = "lookup_by_phone", phone
    else:
        return "no_lookup"
    result = deps.connectors.call(spec, operation, value, now=deps.clock.now().timestamp())
    if isinstance(result, Failed):
        raise CrmUnavailable(f"CRM {spec.name} {operation}: {result.reason}")
    if isinstance(result, Missing):
        return "not_found"
    assert isinstance(result, Found)
    tier, name = result.fields.get("tier"), result.fields.get("name")
    tier = spec.tiers.get(tier, tier) if isinstance(tier, str) else tier
    if tier is not None and tier not in CUSTOMER_TIERS:
        log.warning("CRM %s: tier %r is not one of %s; kept the customer's own", spec.name, tier, CUSTOMER_TIERS)
        tier = None
    with deps.uow() as uow:
        customer = uow.session.get(Customer, customer_id, with_for_update=True)
        if customer is None:
            return "not_found"
        if tier is not None:
            customer.tier = tier
        if name and not customer.name:  # what an agent or the customer gave stays
            customer.name = name
        uow.commit()
    return "updated"


def update_body(paths: dict[str, str], values: dict[str, Any]) -> dict[str, Any]:
    """The update's JSON body: each value at its configured path (`flags.complaint` -> {"flags": {...}})."""
    body: dict[str, Any] = {}
    for value_name, path in paths.items():
        steps = [str(step) for step in parse_path(path)]
        node = body
        for step in steps[:-1]:
            node = node.setdefault(step, {})
        node[steps[-1]] = values.get(value_name)
    return body


def do_push_complaint(deps: CrmTaskDeps, message_id: str) -> str:
    """Push a complaint message to the CRM (same values again on a retry: idempotent). Returns pushed / skipped."""
    spec = deps.connectors.enabled("crm")
    update = spec.operations.update if spec is not None else None
    if spec is None or update is None:
        return "skipped"
    with deps.session_factory() as s:
        row = s.execute(select(Customer.ref, TriageResult.problem_type, TriageResult.complaint_level,
                               WorkOrder.case_number, WorkOrder.id)
                        .select_from(TriageResult).join(Message, Message.id == TriageResult.message_id)
                        .join(Conversation, Conversation.id == Message.conversation_id)
                        .join(Customer, Customer.id == Conversation.customer_id)
                        .outerjoin(WorkOrder, WorkOrder.id == TriageResult.work_order_id)
                        .where(TriageResult.message_id == message_id)).first()
    if row is None or row.problem_type != "complaint":
        return "skipped"
    body = update_body(update.body, {"complaint": True, "complaint_level": int(row.complaint_level or 0),
                                     "case_number": row.case_number or row.id})
    result = deps.connectors.call(spec, "update", row.ref, now=deps.clock.now().timestamp(), body=body)
    if isinstance(result, Failed):
        raise CrmUnavailable(f"CRM {spec.name} update: {result.reason}")
    return "pushed" if isinstance(result, Found) else "not_found"


def enrich_customer(customer_id: str) -> str:
    rt: CrmTaskDeps = task_context()
    return do_enrich_customer(rt, customer_id)


def push_complaint(message_id: str) -> str:
    rt: CrmTaskDeps = task_context()
    return do_push_complaint(rt, message_id)
