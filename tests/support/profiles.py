"""A small factory for customers with a profile: the rows that profcore's background task writes
(`customer_profile`), inserted directly so that priority and bot tests do not depend on the profile models."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from caredesk.runtime import Runtime
from caredesk.storage.orm import Customer, CustomerProfile

__all__ = ["customer_with_profile"]


def customer_with_profile(rt: Runtime, ref: str, *, tier: str = "standard", value: float | None = None,
                          loyalty: float | None = None, emotion: str | None = None, tags: tuple[str, ...] = (),
                          now: datetime | None = None, profile: bool = True) -> str:
    """The customer's id: created with `tier` (or updated to it) and, unless `profile` is False, given a profile
    with these scores."""
    at = now or rt.clock.now()
    with rt.uow() as uow:
        s = uow.session
        customer = s.scalar(select(Customer).where(Customer.ref == ref))
        if customer is None:
            customer = Customer(ref=ref, tier=tier, created_at=at)
            s.add(customer)
        customer.tier = tier
        s.flush()
        if profile:
            s.merge(CustomerProfile(customer_id=customer.id, features={}, value_score=value, loyalty_score=loyalty,
                                    escalation_risk=None, segment=None, tags=list(tags), drivers={},
                                    emotion_current=emotion, emotion_trend=None, updated_at=at))
        customer_id = customer.id
        uow.commit()
    return customer_id
