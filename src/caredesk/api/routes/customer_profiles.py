"""A customer's profile as agents see it: scoped like the customer (out of scope is 404), masked text only
(a reveal stays POST /customers/{id}/reveal), every read audited (`customer_profile.read`) and counted
towards the bulk-read freeze like a customer record. A customer not yet scored by the profile model gets the
cold-start profile computed from their history (profiles/queries.py), never an error."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from caredesk.accounts.access import customer_for
from caredesk.http.deps import Caller, RuntimeDep, SessionDep, audit_read, note_record_read, require
from caredesk.profiles.queries import ProfileView, profile_view
from caredesk.profiles.source_status import request_refresh

__all__ = ["profile_out", "router"]

router = APIRouter(tags=["customers"])


def profile_out(view: ProfileView) -> dict[str, Any]:
    return {
        "customer_id": view.customer_id, "tier": view.tier, "value_score": view.value_score,
        "loyalty_score": view.loyalty_score, "escalation_risk": view.escalation_risk, "segment": view.segment,
        "tags": list(view.tags), "drivers": view.drivers,
        "emotion": {"current": view.emotion_current, "trend": view.emotion_trend},
        "topics": [{"topic": t.topic, "count": t.count, "last_at": t.last_at} for t in view.topics],
        "recent_business": [{"topic": b.topic, "summary": b.summary, "at": b.at} for b in view.recent_business],
        "past_issues": [{"summary": p.summary, "resolution": p.resolution, "closed_at": p.closed_at,
                         "work_order_id": p.order_id, "case_number": p.number, "similar": p.similar,
                         "similarity": p.similarity} for p in view.past_issues],
        "recommendations": [{"kind": r.kind, "id": r.id, "title": r.title, "reason": r.reason}
                            for r in view.recommendations],
        "sources": [{"name": s.name, "status": s.status, "fetched_at": s.fetched_at, "error": s.error}
                    for s in view.sources],
        "open_orders": view.open_orders, "cold_start": view.cold_start, "model_version": view.model_version,
        "updated_at": view.updated_at,
    }


@router.get("/customers/{customer_id}/profile")
def get_customer_profile(customer_id: str, session: SessionDep, rt: RuntimeDep,
                         caller: Annotated[Caller, Depends(require("conversation.read"))],
                         lang: Annotated[Literal["zh", "en"], Query(
                             description="language of the recommendations' titles and reasons")] = "zh",
                         ) -> dict[str, Any]:
    note_record_read(rt, caller)
    customer = customer_for(session, caller, customer_id)
    now = rt.clock.now()
    request_refresh(session, rt.queue, customer.id, now=now)
    view = profile_view(session, customer, knowledge=rt.knowledge_index(), language=lang, now=now)
    audit_read(rt, caller, "customer_profile", customer.id)
    return profile_out(view)
